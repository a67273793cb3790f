// A rolling deploy under load: one steady open-loop load while every process of the stack is
// restarted in turn (SIGTERM, then started again), each followed by a settle period. For each
// phase: placement → terminal p50/p99 of the orders placed in it, and answers that were not 201.
// The stack has one instance of each process, so while order-service itself restarts there is
// nobody to take POST /orders: those refusals are counted, not hidden.
import pg from 'pg';
import { serviceDatabaseUrl } from '@shop/lib/db/databases';
import { STACK_PROCESSES, stackDown, stackUp } from '@shop/testkit/processes';
import { waitTerminalTimes, warmUp } from './e2e.ts';
import { pgbenchCeiling } from './ceiling.ts';
import { assertNoReplicationReaders, drained, place, stock } from './stack.ts';
import { median, percentile, table } from './stats.ts';

const SKUS = 200;

interface Placed {
  orderId?: string;
  status: number;
  /** The phase the request was sent in, and when in that phase (ms after it began). */
  phase: number;
  inPhaseMs: number;
}

/** Requests sent this long after their phase began count as "after the restart". */
const RECOVERED_AFTER_MS = 10_000;

export async function rollingBench(
  rate = Number(process.env.BENCH_RATE ?? 150),
  settleSeconds = Number(process.env.BENCH_SETTLE_SECONDS ?? 15),
): Promise<void> {
  // The calibration of this invocation, with the stack stopped.
  await stackDown();
  await assertNoReplicationReaders();
  const ceiling = median(await pgbenchCeiling(10, 3));
  await stackUp();
  const db = new pg.Pool({ connectionString: serviceDatabaseUrl('orders'), max: 2 });
  await warmUp(db);
  const run = Date.now().toString(36).toUpperCase();
  const skus = Array.from({ length: SKUS }, (_, i) => `ROLL-${run}-${i}`);
  const phases = ['before any restart', ...STACK_PROCESSES.map((p) => `restart of ${p}`), 'after the last restart'];
  for (const sku of skus) await stock(sku, Math.ceil((rate * settleSeconds * phases.length) / SKUS) * 3 + 10);

  // The load: one request every 1/rate s until the restarts are done, each stamped with its phase.
  let phase = 0;
  let phaseStart = performance.now();
  let loading = true;
  const requests: Promise<Placed>[] = [];
  const start = performance.now();
  const load = (async () => {
    for (let i = 0; loading; i++) {
      const wait = start + (i * 1000) / rate - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const p = phase;
      const inPhaseMs = performance.now() - phaseStart;
      requests.push(place(skus[i % SKUS]).then((r) => ({ ...r, phase: p, inPhaseMs })));
    }
  })();
  const settle = () => new Promise((r) => setTimeout(r, settleSeconds * 1000));
  await settle();
  for (const name of STACK_PROCESSES) {
    phase++;
    phaseStart = performance.now();
    console.error(`restarting ${name}`);
    await stackDown(name);
    await stackUp();
    await settle();
  }
  phase++;
  phaseStart = performance.now();
  await settle();
  loading = false;
  await load;
  const placed = await Promise.all(requests);

  const ids = placed.map((p) => p.orderId).filter((x): x is string => Boolean(x));
  const done = await waitTerminalTimes(db, ids);
  await drained();
  await db.end();
  const p99Of = (mine: Placed[]) =>
    percentile(
      mine
        .map((p) => (p.orderId ? done.get(p.orderId) : undefined))
        .filter((x): x is number => x !== undefined)
        .sort((a, b) => a - b),
      99,
    ).toFixed(0);
  const rows = phases.map((name, n) => {
    const mine = placed.filter((p) => p.phase === n);
    const open = mine.filter((p) => p.orderId && !done.has(p.orderId)).length;
    return [
      name,
      String(mine.length),
      p99Of(mine),
      p99Of(mine.filter((p) => p.inPhaseMs < RECOVERED_AFTER_MS)),
      p99Of(mine.filter((p) => p.inPhaseMs >= RECOVERED_AFTER_MS)),
      String(mine.filter((p) => p.status !== 201).length),
      String(open),
    ];
  });
  console.log(
    table(
      [
        `phase (restart, then ${settleSeconds} s)`,
        'orders offered',
        'terminal p99 ms',
        `p99, sent in its first ${RECOVERED_AFTER_MS / 1000} s`,
        `p99, sent after ${RECOVERED_AFTER_MS / 1000} s`,
        'answers not 201',
        'open at the end',
      ],
      rows,
    ),
  );
  console.log(`\nload: ${rate} orders/s, open loop; each process restarted with SIGTERM and started again (stackDown + stackUp)`);
  console.log(`pgbench ceiling of this machine (order + outbox insert, 8 clients, median of 3 × 10 s): ${ceiling.toFixed(0)} tx/s`);
}
