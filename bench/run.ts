// npm run bench -- <name>
import { RELAY, SERVICES } from '@shop/lib/manifest';
import { stackUp } from '@shop/testkit/processes';
import { authBench } from './auth.ts';
import { ceilingBench } from './ceiling.ts';
import { shareDuringStalls, startCommitProbe } from './commit-probe.ts';
import { debeziumBench } from './debezium.ts';
import { e2eBench, e2eRun } from './e2e.ts';
import { rollingBench } from './rolling.ts';
import { warmupBench } from './warmup.ts';
import { tracingBench, tracingComparison } from './tracing.ts';
import { waitersBench } from './waiters.ts';
import { profileBench } from './profile.ts';
import { relayBench } from './relay.ts';
import { runtimesBench } from './runtimes.ts';
import { workflowSqlBench } from './workflow-sql.ts';
import { strictJsonBench } from './strict-json.ts';
import { drained, openLoop, peakRss, place, stock, withRelayPaused } from './stack.ts';
import { percentile, summarize, table } from './stats.ts';

/**
 * POST /orders latency at a fixed open-loop rate, RUNS times. BENCH_HTTP_MODE=placement stops the
 * relay for the measured window (started again after it, so the workflow drains): it measures
 * the placement path alone — HTTP, validation, the order transaction with its outbox row, Redis
 * — without the rest of the workflow competing for the two cores.
 */
async function httpBench(rate = Number(process.env.BENCH_RATE ?? 500), seconds = Number(process.env.BENCH_SECONDS ?? 20)): Promise<void> {
  const mode = process.env.BENCH_HTTP_MODE === 'placement' ? 'placement' : 'full';
  const runs = Number(process.env.BENCH_RUNS ?? 3);
  const p50: number[] = [];
  const p99: number[] = [];
  const refused: number[] = [];
  const commitP99: number[] = [];
  const commitMax: number[] = [];
  const explained: number[] = [];
  /** One window at `rate` for `secs`, begun on a drained workflow: a backlog would compete with it. */
  const window = async (secs: number) => {
    await stackUp(); // also restarts whatever an earlier window brought down
    await drained();
    const sku = `HTTP-${Date.now().toString(36)}`.toUpperCase();
    await stock(sku, rate * secs + 10);
    // place() never rejects (a failed request is a status), so the probe always gets stopped.
    const measure = async () => {
      const probe = await startCommitProbe();
      const requests = await openLoop(rate, secs, async () => {
        const at = performance.now();
        return { ...(await place(sku)), at };
      });
      return { requests, commits: await probe.stop() };
    };
    return mode === 'placement' ? withRelayPaused(measure) : measure();
  };
  // Not measured, like the relay bench's first seconds: JIT, pools and sockets warm up here.
  const warmup = Number(process.env.BENCH_WARMUP_SECONDS ?? 5);
  if (warmup > 0) await window(warmup);
  for (let i = 0; i < runs; i++) {
    const { requests: r, commits } = await window(seconds);
    const ms = r
      .map((x) => x.ms)
      .filter((x) => !Number.isNaN(x))
      .sort((a, b) => a - b);
    const probe = commits.map((c) => c.ms).sort((a, b) => a - b);
    p50.push(percentile(ms, 50));
    p99.push(percentile(ms, 99));
    refused.push(r.filter((x) => x.status !== 201).length);
    commitP99.push(percentile(probe, 99));
    commitMax.push(probe[probe.length - 1] ?? NaN);
    explained.push(100 * shareDuringStalls(r, commits, 25));
    console.error(
      `run ${i + 1}/${runs} (${mode}): p50 ${p50[i].toFixed(1)} ms, p99 ${p99[i].toFixed(1)} ms, non-201 ${refused[i]} (connection errors ${r.filter((x) => x.status === 0).length}); ` +
        `commit probe p99 ${commitP99[i].toFixed(1)} ms, max ${commitMax[i].toFixed(1)} ms; requests > 25 ms during a commit stall: ${Number.isNaN(explained[i]) ? 'none > 25 ms' : `${explained[i].toFixed(0)} %`}`,
    );
  }
  await drained();
  const shares = explained.filter((x) => !Number.isNaN(x)); // NaN: no request over 25 ms in that run
  console.log(
    table(
      [`POST /orders at ${rate}/s for ${seconds} s (${mode})`, 'median', 'min', 'max', 'target'],
      [
        ['p50 ms', ...summarize(p50, 1), ''],
        ['p99 ms', ...summarize(p99, 1), '≤ 25'],
        ['non-201 answers', ...summarize(refused, 0), '0'],
        ['commit probe p99 ms (the disk under Postgres)', ...summarize(commitP99, 1), ''],
        ['commit probe max ms', ...summarize(commitMax, 1), ''],
        ['% of requests > 25 ms during a commit stall', ...(shares.length ? summarize(shares, 0) : ['none > 25 ms', '', '']), ''],
      ],
    ),
  );
}

/** A 30-second pass over every script, so CI notices when one breaks; its figures mean nothing. */
async function smoke(): Promise<void> {
  process.env.BENCH_RUNS = '1';
  await ceilingBench(1, 1, false);
  await workflowSqlBench([20], 2, 1, false);
  await strictJsonBench(1_000, 1, 1);
  await stackUp();
  const pg = await import('pg');
  const { serviceDatabaseUrl } = await import('@shop/lib/db/databases');
  const db = new pg.default.Pool({ connectionString: serviceDatabaseUrl('orders'), max: 1 });
  const run = await e2eRun(20, 3, db);
  await db.end();
  const cpu = Object.entries(run.cpuMsPerOrder)
    .map(([g, ms]) => `${g} ${ms.toFixed(2)}`)
    .join(', ');
  console.log(
    `smoke e2e at 20/s: terminal p50 ${run.p50.toFixed(0)} ms, p99 ${run.p99.toFixed(0)} ms, open ${run.open}, errors ${run.errors}; CPU ms per order: ${cpu}`,
  );
  if (run.errors > 0 || run.open > 0) throw new Error('smoke: orders failed or did not finish');
  console.log(`peak RSS (MiB): ${JSON.stringify(peakRss())}`);
  const profiled = await profileBench(20, 3);
  // Every process an order passes through (the console only watches) must show up in its profile.
  const unprofiled = [...SERVICES.map((s) => s.name), RELAY.name].filter((name) => !((profiled.summaries[name]?.busySamples ?? 0) > 0));
  if (unprofiled.length) throw new Error(`smoke: no CPU profile with samples in the window for ${unprofiled.join(', ')}`);
  process.env.BENCH_WARMUP_SECONDS = '0';
  await httpBench(50, 2);
  await authBench(200, 1, 1);
}

const benches: Record<string, () => Promise<void>> = {
  relay: relayBench,
  debezium: debeziumBench,
  e2e: async () => {
    const sustained = await e2eBench({
      rates: (process.env.BENCH_RATES ?? '50,100,200,300,500').split(',').map(Number),
      seconds: Number(process.env.BENCH_SECONDS ?? 60),
    });
    // What tracing costs at the rate just sustained (BENCH_TRACING=0 skips it).
    if (process.env.BENCH_TRACING !== '0') await tracingComparison(sustained ?? 100, 30);
  },
  // The HTTP bench ends with what verifying a customer's token costs per request.
  http: async () => {
    await httpBench();
    await authBench();
  },
  auth: () => authBench(),
  ceiling: async () => void (await ceilingBench()),
  'workflow-sql': () => workflowSqlBench(),
  'strict-json': () => strictJsonBench(),
  profile: async () => void (await profileBench()),
  runtimes: runtimesBench,
  rolling: () => rollingBench(),
  warmup: () => warmupBench(),
  tracing: () => tracingBench(),
  waiters: () => waitersBench(),
  smoke,
};
const name = process.argv[2] ?? '';
if (!benches[name]) {
  console.error(`usage: npm run bench -- <${Object.keys(benches).join('|')}>`);
  process.exit(2);
}
await benches[name]();
process.exit(0);
