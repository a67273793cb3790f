// Reads the .cpuprofile files `node --cpu-prof` writes: where a process' busy CPU went inside one
// time window (the bench's measured window, not start-up or warm-up), by owner — the package,
// our code, GC — and its stacks in folded form, the input of a flame graph.
//
// Shares are counted in samples, not in the wall-clock time between them: V8 samples a running
// thread about once per interval of the time it runs, but a thread waiting for a core (two cores,
// ten busy processes) is sampled once when it gets one back, after a long gap. Weighting by the
// gaps charged that waiting to whatever ran before it (order-service "busy" 23 s in a 30 s window
// at 40/s); counting samples does not. Absolute CPU comes from /proc, not from here.
//
// A frame with no package of its own (a builtin such as JSON.parse, a socket write inside
// node:net) is charged to the nearest caller that has one: "pg" then means pg's JS plus the
// kernel and runtime work its calls cause, which is what a round trip costs the process.

export interface CpuProfile {
  nodes: ProfileNode[];
  /** Microseconds on CLOCK_MONOTONIC, the clock of process.hrtime. */
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

export interface ProfileSummary {
  /** Samples taken while the thread was busy (not idle) inside the window. */
  busySamples: number;
  /** Busy samples by owner. */
  owners: Map<string, number>;
  /** Folded stacks ("root;…;leaf" → samples), what flame graph tools take. */
  folded: Map<string, number>;
}

/** Now, on the clock of the profiles' timestamps: windows are cut with it. */
export const monotonicMicros = (): number => Number(process.hrtime.bigint() / 1000n);

// Packages that belong together, under the name a reader looks for.
const OWNERS: [RegExp, string][] = [
  [/^(pg|pg-protocol|pg-pool|pg-types|pg-cloudflare|pg-connection-string|postgres-.+|@prisma\/adapter-pg)$/, 'Postgres client (pg)'],
  [/^pg-logical-replication$/, 'replication stream'],
  [/^kafkajs$/, 'kafkajs'],
  [/^(ioredis|redis-parser|redis-errors|@ioredis\/.+|cluster-key-slot|denque|standard-as-callback)$/, 'Redis client'],
  [/^(pino|pino-.+|sonic-boom|thread-stream|@pinojs\/.+|quick-format-unescaped|on-exit-leak-free|atomic-sleep|safe-stable-stringify)$/, 'pino'],
  [
    /^(fastify|@fastify\/.+|find-my-way|avvio|light-my-request|fast-json-stringify|fast-uri|ajv|ajv-.+|secure-json-parse|toad-cache|process-warning|rfdc|abstract-logging|json-schema-ref-resolver)$/,
    'fastify',
  ],
  [/^prom-client$/, 'prom-client'],
  [/^(@prisma\/.+|prisma)$/, 'Prisma'],
];

/** The package a script belongs to, "our code", or undefined for runtime and native frames. */
export function ownerOfUrl(url: string): string | undefined {
  const at = url.lastIndexOf('/node_modules/');
  if (at >= 0) {
    const [first, second] = url.slice(at + '/node_modules/'.length).split('/');
    const pkg = first?.startsWith('@') ? `${first}/${second}` : (first ?? '');
    return OWNERS.find(([pattern]) => pattern.test(pkg))?.[1] ?? pkg;
  }
  return url.startsWith('file://') || url.startsWith('/') ? 'our code' : undefined;
}

const SPECIAL: Record<string, string | null> = { '(idle)': null, '(garbage collector)': 'GC', '(program)': 'V8 (program)', '(root)': 'node internals' };

function frameName(node: ProfileNode, root: string): string {
  const { functionName, url, lineNumber, columnNumber } = node.callFrame;
  if (!url) return functionName || '(anonymous)';
  const at = url.lastIndexOf('/node_modules/');
  const file = at >= 0 ? url.slice(at + '/node_modules/'.length) : url.replace(/^file:\/\//, '').replace(root, '');
  // With the column: a line alone would merge the anonymous functions that share it (callbacks
  // written inline) into one frame. ';' separates frames in folded stacks.
  return `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}:${columnNumber + 1}`.replaceAll(';', ',');
}

/**
 * Counts the samples taken in [fromMicros, toMicros]. `repoRoot` is cut from our file names;
 * `thread` (a worker thread's name) becomes the root frame of its stacks.
 */
export function summarizeProfile(profile: CpuProfile, fromMicros: number, toMicros: number, repoRoot = '', thread?: string): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  // Owner and folded stack of each node, computed once from its parent's.
  const owner = new Map<number, string | null>();
  const stack = new Map<number, string>();
  const resolve = (id: number): void => {
    if (owner.has(id)) return;
    const node = byId.get(id)!;
    const up = parent.get(id);
    if (up !== undefined) resolve(up);
    const { functionName, url } = node.callFrame;
    const inherited = (up !== undefined ? owner.get(up) : undefined) ?? 'node internals';
    owner.set(id, !url && functionName in SPECIAL ? (SPECIAL[functionName] ?? null) : (ownerOfUrl(url) ?? inherited));
    const above = up !== undefined && byId.get(up)!.callFrame.functionName !== '(root)' ? stack.get(up) : undefined;
    stack.set(id, above ? `${above};${frameName(node, repoRoot)}` : frameName(node, repoRoot));
  };

  const summary: ProfileSummary = { busySamples: 0, owners: new Map(), folded: new Map() };
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    if (at < fromMicros || at > toMicros) continue;
    const id = profile.samples[i];
    resolve(id);
    const who = owner.get(id);
    if (who === null || who === undefined) continue; // idle
    summary.busySamples++;
    add(summary.owners, who, 1);
    add(summary.folded, thread ? `${thread};${stack.get(id)!}` : stack.get(id)!, 1);
  }
  return summary;
}

const add = (map: Map<string, number>, key: string, n: number) => map.set(key, (map.get(key) ?? 0) + n);

/** One summary for several threads of a process (the relay's publisher workers). */
export function mergeSummaries(parts: ProfileSummary[]): ProfileSummary {
  const merged: ProfileSummary = { busySamples: 0, owners: new Map(), folded: new Map() };
  for (const part of parts) {
    merged.busySamples += part.busySamples;
    for (const [k, n] of part.owners) add(merged.owners, k, n);
    for (const [k, n] of part.folded) add(merged.folded, k, n);
  }
  return merged;
}

/** Owners with their share of the busy samples, largest first, as "pg 48 %, …". */
export function largestShares(summary: ProfileSummary, count: number): string {
  return [...summary.owners]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([owner, n]) => `${owner} ${((100 * n) / summary.busySamples).toFixed(0)} %`)
    .join(', ');
}

/** Folded stacks as text, one "a;b;c count" line each (flamegraph.pl, speedscope, inferno). */
export function foldedText(folded: Map<string, number>): string {
  return [...folded].map(([path, n]) => `${path} ${n}`).join('\n') + '\n';
}
