// A flame graph as one standalone SVG (hover a frame for its name and share), drawn from folded
// stacks, so a profile can be read in any browser without installing flamegraph.pl or a viewer.

interface Frame {
  name: string;
  samples: number;
  children: Map<string, Frame>;
}

const WIDTH = 1200;
const ROW = 16;
const MIN_WIDTH = 0.5; // narrower frames are not drawn (they would be invisible anyway)

const escape = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

// Classic flame graph palette: warm colours, stable per name so two graphs compare by eye.
function colour(name: string): string {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return `rgb(${205 + (h % 50)},${80 + ((h >> 8) % 130)},${(h >> 16) % 55})`;
}

export function flameGraphSvg(folded: Map<string, number>, title: string): string {
  const root: Frame = { name: 'all', samples: 0, children: new Map() };
  let depth = 0;
  for (const [path, n] of folded) {
    root.samples += n;
    let frame = root;
    const names = path.split(';');
    depth = Math.max(depth, names.length);
    for (const name of names) {
      let child = frame.children.get(name);
      if (!child) frame.children.set(name, (child = { name, samples: 0, children: new Map() }));
      child.samples += n;
      frame = child;
    }
  }
  const height = (depth + 1) * ROW + 40;
  const rects: string[] = [];
  const draw = (frame: Frame, x: number, level: number) => {
    const width = (frame.samples / Math.max(1, root.samples)) * WIDTH;
    if (width < MIN_WIDTH) return;
    const y = height - (level + 1) * ROW - 10;
    const share = ((100 * frame.samples) / Math.max(1, root.samples)).toFixed(2);
    const chars = Math.floor((width - 6) / 7);
    const label = chars < 3 ? '' : frame.name.length <= chars ? frame.name : `${frame.name.slice(0, chars - 2)}..`;
    rects.push(
      `<g><title>${escape(frame.name)} (${frame.samples} samples, ${share} %)</title>` +
        `<rect x="${x.toFixed(2)}" y="${y}" width="${width.toFixed(2)}" height="${ROW - 1}" fill="${colour(frame.name)}" rx="2"/>` +
        (label ? `<text x="${(x + 3).toFixed(2)}" y="${y + ROW - 4}">${escape(label)}</text>` : '') +
        '</g>',
    );
    let childX = x;
    for (const child of [...frame.children.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      draw(child, childX, level + 1);
      childX += (child.samples / Math.max(1, root.samples)) * WIDTH;
    }
  };
  draw(root, 0, 0);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="monospace" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fafafa"/>`,
    `<text x="${WIDTH / 2}" y="18" text-anchor="middle" font-size="14">${escape(title)}</text>`,
    ...rects,
    '</svg>',
  ].join('\n');
}
