// npm run bench -- <name>
import { ceilingBench } from './ceiling.ts';
import { debeziumBench } from './debezium.ts';
import { e2eBench, e2eRun } from './e2e.ts';
import { relayBench } from './relay.ts';
import { openLoop, peakRss, place, stackUp, stock } from './stack.ts';
import { percentile } from './stats.ts';

/** POST /orders latency at a fixed open-loop rate. */
async function httpBench(rate = Number(process.env.BENCH_RATE ?? 500), seconds = Number(process.env.BENCH_SECONDS ?? 20)): Promise<void> {
  await stackUp();
  const sku = `HTTP-${Date.now().toString(36)}`.toUpperCase();
  await stock(sku, rate * seconds + 10);
  const r = await openLoop(rate, seconds, () => place(sku).catch(() => ({ ms: NaN, status: 0, orderId: undefined })));
  const ms = r.map((x) => x.ms).filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  console.log(`POST /orders at ${rate}/s for ${seconds} s: p50 ${percentile(ms, 50).toFixed(1)} ms, p99 ${percentile(ms, 99).toFixed(1)} ms, non-201 ${r.filter((x) => x.status !== 201).length} (connection errors ${r.filter((x) => x.status === 0).length}) (target p99 ≤ 25 ms)`);
}

/** A 30-second pass over every script, so CI notices when one breaks; its figures mean nothing. */
async function smoke(): Promise<void> {
  process.env.BENCH_RUNS = '1';
  await ceilingBench(2, 1);
  await stackUp();
  const pg = await import('pg');
  const { serviceDatabaseUrl } = await import('@shop/lib/db/databases');
  const db = new pg.default.Pool({ connectionString: serviceDatabaseUrl('orders'), max: 1 });
  const run = await e2eRun(20, 3, db);
  await db.end();
  console.log(`smoke e2e at 20/s: terminal p50 ${run.p50.toFixed(0)} ms, p99 ${run.p99.toFixed(0)} ms, open ${run.open}, errors ${run.errors}`);
  if (run.errors > 0 || run.open > 0) throw new Error('smoke: orders failed or did not finish');
  console.log(`peak RSS (MiB): ${JSON.stringify(peakRss())}`);
}

const benches: Record<string, () => Promise<void>> = {
  relay: relayBench,
  debezium: debeziumBench,
  e2e: () =>
    e2eBench({
      rates: (process.env.BENCH_RATES ?? '50,100,200,300,500').split(',').map(Number),
      seconds: Number(process.env.BENCH_SECONDS ?? 60),
    }),
  http: () => httpBench(),
  ceiling: async () => void (await ceilingBench()),
  smoke,
};
const name = process.argv[2] ?? '';
if (!benches[name]) {
  console.error(`usage: npm run bench -- <${Object.keys(benches).join('|')}>`);
  process.exit(2);
}
await benches[name]!();
process.exit(0);
