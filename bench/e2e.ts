// End to end: open-loop order placement at increasing rates; for each, placement → terminal
// latency (from the order's own history timestamps) p50/p99, and HTTP placement latency.
// Also: what an order costs in CPU, process by process, and peak RSS of every process.
import pg from 'pg';
import { serviceDatabaseUrl } from '@shop/lib/db/databases';
import { stackDown, stackUp } from '@shop/testkit/processes';
import { pgbenchCeiling } from './ceiling.ts';
import { monotonicMicros } from './cpuprofile.ts';
import { CPU_GROUPS, cpuSince, cpuSnapshot, type CpuGroup } from './process-cpu.ts';
import { assertNoReplicationReaders, drained, openLoop, peakRss, place, stackCounters, stock } from './stack.ts';
import { median, percentile, summarize, table } from './stats.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SKUS = Number(process.env.BENCH_SKUS ?? 200);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 60);
const COUNTERS = ['db_queries_total', 'relay_events_published_total', 'consumer_messages_total'] as const;

/** Placement → terminal status in ms of each order of `ids` that has ended (from its own history). */
export async function terminalTimes(db: pg.Pool, ids: string[]): Promise<Map<string, number>> {
  const r = await db.query<{ id: string; ms: number | null }>(
    `select o.id::text, extract(epoch from (max(h.at) filter (where h.status in ('COMPLETED', 'CANCELLED')) - o.created_at)) * 1000 as ms
       from orders o join order_history h on h.order_id = o.id where o.id = any($1::uuid[]) group by o.id, o.created_at`,
    [ids],
  );
  return new Map(r.rows.filter((x) => x.ms !== null).map((x) => [x.id, Number(x.ms)]));
}

/** terminalTimes once every order of `ids` has ended, or as they are after `timeoutMs`. */
export async function waitTerminalTimes(db: pg.Pool, ids: string[], timeoutMs = 120_000): Promise<Map<string, number>> {
  let done = await terminalTimes(db, ids);
  for (let waited = 0; done.size < ids.length && waited < timeoutMs; waited += 1_000) {
    await new Promise((r) => setTimeout(r, 1_000));
    done = await terminalTimes(db, ids);
  }
  return done;
}

async function terminalLatencies(db: pg.Pool, ids: string[]): Promise<{ sorted: number[]; open: number }> {
  const done = [...(await terminalTimes(db, ids)).values()];
  return { sorted: done.sort((a, b) => a - b), open: ids.length - done.length };
}

export interface E2eRun {
  p50: number;
  p99: number;
  open: number;
  httpP99: number;
  errors: number;
  /**
   * CPU ms per placed order by process, over the placement window. Past saturation the work
   * falls behind the window, so there it reads low.
   */
  cpuMsPerOrder: Record<CpuGroup, number>;
  /** Per placed order, from the processes' counters over the run and its tail: statements sent to Postgres, events published to Kafka, messages consumed. */
  roundTrips: number;
  kafkaMessages: number;
  deliveries: number;
  /** The placement window on the clock of CPU profiles (µs), to cut profiles to it. */
  window: { fromMicros: number; toMicros: number };
  placed: number;
}

export async function e2eRun(rate: number, seconds: number, db: pg.Pool): Promise<E2eRun> {
  // A catalogue of SKUS products, each order for a random one: a single SKU would measure the
  // contention on one product row (a flash sale), not the workflow.
  const run = Date.now().toString(36).toUpperCase();
  const skus = Array.from({ length: SKUS }, (_, i) => `BENCH-${run}-${i}`);
  for (const sku of skus) await stock(sku, Math.ceil((rate * seconds) / SKUS) * 3 + 10);
  const countersBefore = await stackCounters(COUNTERS);
  const cpuBefore = cpuSnapshot();
  const fromMicros = monotonicMicros();
  const results = await openLoop(rate, seconds, () => place(skus[Math.floor(Math.random() * SKUS)]));
  const window = { fromMicros, toMicros: monotonicMicros() };
  const cpu = cpuSince(cpuBefore);
  const cpuMsPerOrder = Object.fromEntries(CPU_GROUPS.map((g) => [g, (cpu[g] * 1000) / results.length])) as Record<CpuGroup, number>;
  const ids = results.map((r) => r.orderId).filter((x): x is string => Boolean(x));
  // Let the tail finish (every order ends, by completion, cancellation or its deadline).
  let { sorted, open } = await terminalLatencies(db, ids);
  for (let waited = 0; open > 0 && waited < 60_000; waited += 500) {
    await new Promise((r) => setTimeout(r, 500));
    ({ sorted, open } = await terminalLatencies(db, ids));
  }
  await drained();
  const counted = await stackCounters(COUNTERS);
  const perOrder = (name: (typeof COUNTERS)[number]) => (counted[name] - countersBefore[name]) / Math.max(1, ids.length);
  const http = results
    .map((r) => r.ms)
    .filter((x) => !Number.isNaN(x))
    .sort((a, b) => a - b);
  const errors = results.filter((r) => r.status !== 201).length;
  return {
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    open,
    httpP99: percentile(http, 99),
    errors,
    cpuMsPerOrder,
    roundTrips: perOrder('db_queries_total'),
    kafkaMessages: perOrder('relay_events_published_total'),
    deliveries: perOrder('consumer_messages_total'),
    window,
    placed: results.length,
  };
}

/**
 * Freshly started consumers may wait for their group to settle (tens of seconds after a broker
 * restart): a short load that must finish before anything is measured.
 */
export async function warmUp(db: pg.Pool): Promise<void> {
  for (let attempt = 1; attempt <= 5; attempt++) {
    const warm = await e2eRun(10, 2, db);
    console.error(`warm-up ${attempt} at 10/s: terminal p99 ${warm.p99.toFixed(0)} ms, open ${warm.open}`);
    if (warm.open === 0 && warm.p99 < 5_000) return;
  }
}

/** Runs the rates; answers the highest one sustained (undefined: none). */
export async function e2eBench(opts: { rates: number[]; seconds: number } = { rates: [50, 100, 200, 300, 500], seconds: 60 }): Promise<number | undefined> {
  // The calibration of this invocation: pgbench on the same Postgres with nothing else running.
  await stackDown();
  await assertNoReplicationReaders();
  const ceiling = median(await pgbenchCeiling(10, 3));
  await stackUp();
  const db = new pg.Pool({ connectionString: serviceDatabaseUrl('orders'), max: 2 });
  await warmUp(db);
  // A stack just started is slower for its first minutes (BENCHMARKS.md; `bench -- rolling`
  // measures restarts): the sustained rate is that of a warm stack, after a window at the first
  // rate that is not counted.
  if (WARMUP_SECONDS > 0) {
    const w = await e2eRun(opts.rates[0], WARMUP_SECONDS, db);
    console.error(`warm-up window at ${opts.rates[0]}/s for ${WARMUP_SECONDS} s (not counted): terminal p99 ${w.p99.toFixed(0)} ms, open ${w.open}`);
  }
  const rows: string[][] = [];
  const cpuRows: string[][] = [];
  let best: { rate: number; p50: number; p99: number; cpu: number; roundTrips: number; kafka: number; deliveries: number } | undefined;
  for (const rate of opts.rates) {
    const runs: E2eRun[] = [];
    let failed = false;
    for (let i = 0; i < RUNS; i++) {
      const r = await e2eRun(rate, opts.seconds, db);
      console.error(
        `rate ${rate}/s run ${i + 1}: terminal p50 ${r.p50.toFixed(0)} ms p99 ${r.p99.toFixed(0)} ms, open ${r.open}, HTTP p99 ${r.httpP99.toFixed(1)} ms, errors ${r.errors}, ` +
          `${r.roundTrips.toFixed(1)} statements, ${r.kafkaMessages.toFixed(1)} Kafka messages, ${r.deliveries.toFixed(1)} deliveries per order`,
      );
      runs.push(r);
      failed ||= r.open > 0 || r.errors > 0;
    }
    const med = (f: (r: E2eRun) => number) => median(runs.map(f));
    const cpuTotal = runs.map((r) => CPU_GROUPS.reduce((sum, g) => sum + r.cpuMsPerOrder[g], 0));
    const sustained = !failed && med((r) => r.p99) <= 1_000;
    if (sustained)
      best = {
        rate,
        p50: med((r) => r.p50),
        p99: med((r) => r.p99),
        cpu: median(cpuTotal),
        roundTrips: med((r) => r.roundTrips),
        kafka: med((r) => r.kafkaMessages),
        deliveries: med((r) => r.deliveries),
      };
    rows.push([
      `${rate}/s for ${opts.seconds} s`,
      ...summarize(
        runs.map((r) => r.p50),
        0,
      ),
      ...summarize(
        runs.map((r) => r.p99),
        0,
      ),
      summarize(
        runs.map((r) => r.httpP99),
        1,
      )[0],
      summarize(cpuTotal, 1)[0],
      med((r) => r.roundTrips).toFixed(1),
      med((r) => r.kafkaMessages).toFixed(1),
      med((r) => r.deliveries).toFixed(1),
      sustained ? 'yes' : 'no',
    ]);
    cpuRows.push([`${rate}/s`, ...CPU_GROUPS.map((g) => median(runs.map((r) => r.cpuMsPerOrder[g])).toFixed(2)), median(cpuTotal).toFixed(2)]);
  }
  await db.end();
  console.log(
    table(
      [
        'offered rate',
        'terminal p50 ms (med)',
        'min',
        'max',
        'terminal p99 ms (med)',
        'min',
        'max',
        'HTTP p99 ms',
        'CPU ms per order',
        'Postgres statements per order',
        'Kafka messages per order',
        'consumer deliveries per order',
        'sustained, p99 ≤ 1 s',
      ],
      rows,
    ),
  );
  console.log(`\nCPU ms per order by process (median of runs; from /proc over each placement window):\n`);
  console.log(table(['offered rate', ...CPU_GROUPS, 'all'], cpuRows));
  console.log(`\npgbench ceiling of this machine (order + outbox insert, 8 clients, median of 3 × 10 s): ${ceiling.toFixed(0)} tx/s`);
  if (best) {
    console.log(
      `highest rate sustained (p99 ≤ 1 s, 0 errors, 0 open): ${best.rate}/s = ${((best.rate / ceiling) * 100).toFixed(2)} % of the ceiling (target ≥ 6 %); ` +
        `p50 ${best.p50.toFixed(0)} ms, p99 ${best.p99.toFixed(0)} ms, ${best.cpu.toFixed(1)} CPU ms, ${best.roundTrips.toFixed(1)} Postgres statements, ` +
        `${best.kafka.toFixed(1)} Kafka messages and ${best.deliveries.toFixed(1)} consumer deliveries per order`,
    );
  } else console.log('no offered rate was sustained (p99 ≤ 1 s, 0 errors, 0 open): 0 % of the ceiling');
  console.log(`\npeak RSS (MiB): ${JSON.stringify(peakRss())}`);
  return best?.rate;
}
