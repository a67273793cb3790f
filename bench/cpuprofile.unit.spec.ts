import { describe, expect, it } from 'vitest';
import { foldedText, largestShares, mergeSummaries, ownerOfUrl, summarizeProfile, type CpuProfile } from './cpuprofile.ts';
import { flameGraphSvg } from './flamegraph.ts';

const frame = (id: number, functionName: string, url = '', children?: number[]) => ({
  id,
  callFrame: { functionName, url, lineNumber: 9, columnNumber: 2 },
  children,
});

// (root) → idle | GC | tick → pg query → node:net write → native writev | our handler → JSON.parse
const profile: CpuProfile = {
  nodes: [
    frame(1, '(root)', '', [2, 3, 4, 8]),
    frame(2, '(idle)'),
    frame(3, '(garbage collector)'),
    frame(4, 'processTicksAndRejections', 'node:internal/process/task_queues', [5]),
    frame(5, 'query', 'file:///repo/node_modules/pg/lib/client.js', [6]),
    frame(6, 'writeGeneric', 'node:internal/stream_base_commons', [7]),
    frame(7, 'writev'),
    frame(8, 'handle', 'file:///repo/lib/src/messaging/consumer.ts', [9]),
    frame(9, 'parse'),
  ],
  startTime: 1_000,
  // samples at 1000 (before the window), 2000, 3000, 4000, 5000 and, after a 9 ms wait for a
  // core, 14000: each counts once, however long the gap before or after it
  samples: [9, 7, 2, 3, 9, 5],
  timeDeltas: [0, 1_000, 1_000, 1_000, 1_000, 9_000],
  endTime: 15_000,
};

describe('cpu profile summary', () => {
  const summary = summarizeProfile(profile, 1_500, 20_000, '/repo/');

  it('charges runtime and native frames to the nearest caller with a package, and leaves idle out', () => {
    expect(summary.busySamples).toBe(4); // 2000 pg, 4000 GC, 5000 our code, 14000 pg; 3000 idle
    expect(Object.fromEntries(summary.owners)).toEqual({ 'Postgres client (pg)': 2, GC: 1, 'our code': 1 });
    expect(largestShares(summary, 2)).toBe('Postgres client (pg) 50 %, GC 25 %');
  });

  it('counts only the samples inside the window', () => {
    const early = summarizeProfile(profile, 0, 2_500);
    expect(Object.fromEntries(early.owners)).toEqual({ 'our code': 1, 'Postgres client (pg)': 1 });
  });

  it('merges the threads of one process, worker stacks under their thread', () => {
    const worker = summarizeProfile(profile, 1_500, 4_500, '/repo/', '(worker thread 2)');
    const merged = mergeSummaries([summary, worker]);
    expect(merged.busySamples).toBe(6);
    expect(merged.owners.get('Postgres client (pg)')).toBe(3);
    expect([...merged.folded.keys()].filter((k) => k.startsWith('(worker thread 2);processTicksAndRejections'))).toHaveLength(1);
  });

  it('folds stacks root first, with package-relative and repo-relative file names', () => {
    expect(
      summary.folded.get(
        'processTicksAndRejections node:internal/process/task_queues:10:3;query pg/lib/client.js:10:3;writeGeneric node:internal/stream_base_commons:10:3;writev',
      ),
    ).toBe(1);
    expect(summary.folded.get('handle lib/src/messaging/consumer.ts:10:3;parse')).toBe(1);
    expect(foldedText(summary.folded).trim().split('\n')).toHaveLength(4);
  });

  it('names owners by package, grouping the packages that belong together', () => {
    expect(ownerOfUrl('file:///x/node_modules/pg-protocol/dist/parser.js')).toBe('Postgres client (pg)');
    expect(ownerOfUrl('file:///x/node_modules/@prisma/adapter-pg/dist/index.mjs')).toBe('Postgres client (pg)');
    expect(ownerOfUrl('file:///x/node_modules/sonic-boom/index.js')).toBe('pino');
    expect(ownerOfUrl('file:///x/node_modules/@scope/thing/index.js')).toBe('@scope/thing');
    expect(ownerOfUrl('file:///x/order-service/src/main.ts')).toBe('our code');
    expect(ownerOfUrl('node:net')).toBeUndefined();
    expect(ownerOfUrl('')).toBeUndefined();
  });
});

describe('flame graph', () => {
  it('draws one titled frame per distinct stack prefix, widths by samples, names escaped', () => {
    const svg = flameGraphSvg(
      new Map([
        ['main;a<b>', 3],
        ['main;c', 1],
      ]),
      'test & title',
    );
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('<title>a&lt;b&gt; (3 samples, 75.00 %)</title>');
    expect(svg).toContain('<title>main (4 samples, 100.00 %)</title>');
    expect(svg).toContain('test &amp; title');
    expect(svg.match(/<rect x=/g)).toHaveLength(4); // all, main, a<b>, c
    expect(svg).toMatch(/<title>c \(1 samples[^]*?width="300.00"/);
  });
});
