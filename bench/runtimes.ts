// Node 26 (what the project runs on) beside an older Node (the machine's own, e.g. 20) in one
// invocation: the pgbench ceiling as the machine's calibration, then the relay bench and an
// end-to-end window on each runtime, interleaved, and their ratios. Both runtimes run the relay
// without publisher threads (RELAY_PUBLISH_THREADS=0): an older Node's worker threads cannot
// load our TypeScript, and the comparison must run the same code path on both.
//   npm run bench -- runtimes   (BENCH_RUNS 2, BENCH_E2E_RATE 100, BENCH_E2E_SECONDS 60, BENCH_BASELINE_NODE)
import pg from 'pg';
import { serviceDatabaseUrl } from '@shop/lib/db/databases';
import { stackDown, stackUp } from '@shop/testkit/processes';
import { assertAlone, EVENTS, lagRun, ourRelay, RATE as LAG_RATE, throughputRun, db as benchDb } from './cdc.ts';
import { pgbenchCeiling } from './ceiling.ts';
import { e2eRun, warmUp } from './e2e.ts';
import { baselineRuntime, nodeRuntime, type NodeRuntime } from '@shop/testkit/node-runtime';
import { CPU_GROUPS } from './process-cpu.ts';
import { median, table } from './stats.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 2);
const RATE = Number(process.env.BENCH_E2E_RATE ?? 100);
const SECONDS = Number(process.env.BENCH_E2E_SECONDS ?? 60);
const SAME_CODE_PATH = { RELAY_PUBLISH_THREADS: '0' };
const NODE_GROUPS = ['order-service', 'inventory-service', 'payment-service', 'notification-service', 'outbox-relay'] as const;

interface Figures {
  throughput: number[];
  lagP99: number[];
  e2eP99: number[];
  e2eOpen: number[];
  cpuAll: number[];
  cpuNode: number[];
}

const empty = (): Figures => ({ throughput: [], lagP99: [], e2eP99: [], e2eOpen: [], cpuAll: [], cpuNode: [] });

async function relayRound(runtime: NodeRuntime, into: Figures): Promise<void> {
  const relay = ourRelay(3956, runtime, SAME_CODE_PATH);
  try {
    into.throughput.push(await throughputRun(relay));
    into.lagP99.push((await lagRun(relay)).p99);
  } finally {
    await relay.dispose();
  }
  console.error(`relay on ${runtime.version}: ${Math.round(into.throughput.at(-1)!)} ev/s, lag p99 ${into.lagP99.at(-1)} ms`);
}

async function e2eRound(runtime: NodeRuntime, into: Figures, db: pg.Pool): Promise<void> {
  await stackDown();
  await stackUp({ ...process.env, STACK_NODE: runtime.binary, ...SAME_CODE_PATH });
  await warmUp(db);
  const r = await e2eRun(RATE, SECONDS, db);
  into.e2eP99.push(r.p99);
  into.e2eOpen.push(r.open + r.errors);
  into.cpuAll.push(CPU_GROUPS.reduce((s, g) => s + r.cpuMsPerOrder[g], 0));
  into.cpuNode.push(NODE_GROUPS.reduce((s, g) => s + r.cpuMsPerOrder[g], 0));
  console.error(
    `e2e on ${runtime.version} at ${RATE}/s: terminal p99 ${r.p99.toFixed(0)} ms, open+errors ${r.open + r.errors}, CPU ${into.cpuAll.at(-1)!.toFixed(1)} ms/order (Node processes ${into.cpuNode.at(-1)!.toFixed(1)})`,
  );
}

export async function runtimesBench(): Promise<void> {
  const current = nodeRuntime();
  const baseline = baselineRuntime();
  const figures = new Map([
    [current, empty()],
    [baseline, empty()],
  ]);
  await stackDown();
  await assertAlone();
  const ceiling = median(await pgbenchCeiling(10, 3));
  console.error(`calibration: pgbench ${ceiling.toFixed(0)} tx/s`);
  // Interleaved (A B A B …) so a VM that speeds up or slows down during the run hits both.
  for (let i = 0; i < RUNS; i++) for (const [runtime, into] of figures) await relayRound(runtime, into);
  await benchDb.end();
  const db = new pg.Pool({ connectionString: serviceDatabaseUrl('orders'), max: 2 });
  for (let i = 0; i < RUNS; i++) for (const [runtime, into] of figures) await e2eRound(runtime, into, db);
  await db.end();
  await stackDown();
  await stackUp();

  const a = figures.get(current)!;
  const b = figures.get(baseline)!;
  const row = (name: string, pick: (f: Figures) => number[], digits: number) => {
    const x = median(pick(a));
    const y = median(pick(b));
    return [name, x.toFixed(digits), y.toFixed(digits), y === 0 ? '–' : (x / y).toFixed(2)];
  };
  console.log(`\nmachine calibration: pgbench ceiling ${ceiling.toFixed(0)} tx/s (order + outbox insert, 8 clients; median of 3 × 10 s)\n`);
  console.log(
    table(
      [`median of ${RUNS} runs each, interleaved`, `Node ${current.version}`, `Node ${baseline.version}`, 'ratio'],
      [
        row(`relay throughput, events/s (${EVENTS} backlog, no publisher threads)`, (f) => f.throughput, 0),
        row(`relay lag p99 ms at ${LAG_RATE} ev/s`, (f) => f.lagP99, 0),
        row(`e2e at ${RATE} orders/s for ${SECONDS} s: placement → terminal p99 ms`, (f) => f.e2eP99, 0),
        row('e2e: orders open or refused at the end', (f) => f.e2eOpen, 0),
        row('e2e: CPU ms per order, all processes', (f) => f.cpuAll, 1),
        row('e2e: CPU ms per order, the five Node processes', (f) => f.cpuNode, 1),
      ],
    ),
  );
}
