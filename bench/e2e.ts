// End to end: open-loop order placement at increasing rates; for each, placement → terminal
// latency (from the order's own history timestamps) p50/p99, and HTTP placement latency.
// Also: what an order costs in CPU, process by process, and peak RSS of every process.
import pg from 'pg';
import { serviceDatabaseUrl } from '@shop/lib/db/databases';
import { stackUp } from '@shop/testkit/processes';
import { monotonicMicros } from './cpuprofile.ts';
import { CPU_GROUPS, cpuSince, cpuSnapshot, type CpuGroup } from './process-cpu.ts';
import { openLoop, peakRss, place, stock } from './stack.ts';
import { median, percentile, summarize, table } from './stats.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SKUS = Number(process.env.BENCH_SKUS ?? 200);

async function terminalLatencies(db: pg.Pool, ids: string[]): Promise<{ sorted: number[]; open: number }> {
  const r = await db.query<{ ms: number | null }>(
    `select extract(epoch from (max(h.at) filter (where h.status in ('COMPLETED', 'CANCELLED')) - o.created_at)) * 1000 as ms
       from orders o join order_history h on h.order_id = o.id where o.id = any($1::uuid[]) group by o.id, o.created_at`,
    [ids],
  );
  const done = r.rows.filter((x) => x.ms !== null).map((x) => Number(x.ms));
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

export async function e2eBench(opts: { rates: number[]; seconds: number } = { rates: [50, 100, 200, 300, 500], seconds: 60 }): Promise<void> {
  await stackUp();
  const db = new pg.Pool({ connectionString: serviceDatabaseUrl('orders'), max: 2 });
  await warmUp(db);
  const rows: string[][] = [];
  const cpuRows: string[][] = [];
  let best = 0;
  for (const rate of opts.rates) {
    const p50: number[] = [];
    const p99: number[] = [];
    const http: number[] = [];
    const cpu: Record<CpuGroup, number>[] = [];
    let failed = false;
    for (let i = 0; i < RUNS; i++) {
      const r = await e2eRun(rate, opts.seconds, db);
      console.error(
        `rate ${rate}/s run ${i + 1}: terminal p50 ${r.p50.toFixed(0)} ms p99 ${r.p99.toFixed(0)} ms, open ${r.open}, HTTP p99 ${r.httpP99.toFixed(1)} ms, errors ${r.errors}`,
      );
      p50.push(r.p50);
      p99.push(r.p99);
      http.push(r.httpP99);
      cpu.push(r.cpuMsPerOrder);
      failed ||= r.open > 0 || r.errors > 0;
    }
    const medianP99 = median(p99);
    if (!failed && medianP99 <= 1_000) best = rate;
    const cpuTotal = cpu.map((c) => CPU_GROUPS.reduce((sum, g) => sum + c[g], 0));
    rows.push([
      `${rate}/s for ${opts.seconds} s`,
      ...summarize(p50, 0),
      ...summarize(p99, 0),
      summarize(http, 1)[0],
      summarize(cpuTotal, 1)[0],
      failed ? 'no' : medianP99 <= 1_000 ? 'yes' : 'no',
    ]);
    cpuRows.push([`${rate}/s`, ...CPU_GROUPS.map((g) => median(cpu.map((c) => c[g])).toFixed(2)), median(cpuTotal).toFixed(2)]);
  }
  await db.end();
  console.log(
    table(
      ['offered rate', 'terminal p50 ms (med)', 'min', 'max', 'terminal p99 ms (med)', 'min', 'max', 'HTTP p99 ms', 'CPU ms per order', 'sustained, p99 ≤ 1 s'],
      rows,
    ),
  );
  console.log(`\nCPU ms per order by process (median of runs; from /proc over each placement window):\n`);
  console.log(table(['offered rate', ...CPU_GROUPS, 'all'], cpuRows));
  console.log(`\nhighest rate sustained with p99 ≤ 1 s: ${best}/s (target ≥ 500/s)`);
  console.log(`\npeak RSS (MiB): ${JSON.stringify(peakRss())}`);
}
