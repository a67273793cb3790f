// The first minute of a stack, slice by slice, in two scenarios of one invocation: the broker
// and every process of the stack just started, then only the stack's processes restarted on a
// broker that has been running. For each BENCH_SLICE_SECONDS slice of one open-loop load at
// BENCH_RATE for BENCH_SECONDS: placement → terminal p50/p99 of the orders placed in it, HTTP
// p99, and the CPU ms per order of each process. A process that warms up shows as its CPU per
// order falling from one slice to the next. The machine's pgbench ceiling is measured first.
import pg from 'pg';
import { serviceDatabaseUrl } from '@shop/lib/db/databases';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { REPO_ROOT } from '@shop/lib/db/databases';
import { stackDown, stackUp } from '@shop/testkit/processes';
import { pgbenchCeiling } from './ceiling.ts';
import { waitTerminalTimes } from './e2e.ts';
import { CPU_GROUPS, cpuSince, cpuSnapshot, type CpuGroup, type CpuSnapshot } from './process-cpu.ts';
import { assertNoReplicationReaders, drained, place, stock } from './stack.ts';
import { median, percentile, table } from './stats.ts';

const SKUS = 200;
// Every process of an order; the console and Redis do next to nothing per order.
const SHOWN = CPU_GROUPS.filter((g) => g !== 'ops-console' && g !== 'redis');

const exec = promisify(execFile);
const infra = (command: string) => exec('bash', [`${REPO_ROOT}scripts/infra.sh`, command], { cwd: REPO_ROOT, timeout: 300_000 });

export async function warmupBench(): Promise<void> {
  const rate = Number(process.env.BENCH_RATE ?? 350);
  const seconds = Number(process.env.BENCH_SECONDS ?? 60);
  const sliceSeconds = Number(process.env.BENCH_SLICE_SECONDS ?? 5);
  await stackDown();
  await assertNoReplicationReaders();
  const ceiling = median(await pgbenchCeiling(10, 3));
  await infra('kafka-stop');
  await infra('kafka-start');
  const cold = await firstMinute(rate, seconds, sliceSeconds);
  await stackDown();
  const warmBroker = await firstMinute(rate, seconds, sliceSeconds);
  console.log(`\nbroker and stack just started, ${rate}/s for ${seconds} s, by slice of ${sliceSeconds} s (CPU in ms per order placed in the slice):\n`);
  console.log(cold);
  console.log(`\nonly the stack's processes just started (the broker running since the first scenario):\n`);
  console.log(warmBroker);
  console.log(`\npgbench ceiling of this machine (order + outbox insert, 8 clients, median of 3 × 10 s): ${ceiling.toFixed(0)} tx/s`);
}

/** Starts the stack (what is not running), then one load; the table of its slices. */
async function firstMinute(rate: number, seconds: number, sliceSeconds: number): Promise<string> {
  const startedAt = performance.now();
  await stackUp();
  console.error(`stack started in ${((performance.now() - startedAt) / 1000).toFixed(1)} s`);
  const db = new pg.Pool({ connectionString: serviceDatabaseUrl('orders'), max: 2 });
  const run = Date.now().toString(36).toUpperCase();
  const skus = Array.from({ length: SKUS }, (_, i) => `WARM-${run}-${i}`);
  for (const sku of skus) await stock(sku, Math.ceil((rate * seconds) / SKUS) * 3 + 10);

  const slices = Math.ceil(seconds / sliceSeconds);
  const cpu: Record<CpuGroup, number>[] = [];
  const sent: { slice: number; result: Promise<{ orderId?: string; ms: number; status: number }> }[] = [];
  const start = performance.now();
  let mark: CpuSnapshot = cpuSnapshot();
  const total = Math.round(rate * seconds);
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const slice = Math.min(slices - 1, Math.floor((performance.now() - start) / (sliceSeconds * 1000)));
    while (cpu.length < slice) {
      cpu.push(cpuSince(mark));
      mark = cpuSnapshot();
    }
    sent.push({ slice, result: place(skus[i % SKUS]) });
  }
  cpu.push(cpuSince(mark));
  const placed = await Promise.all(sent.map(async (s) => ({ slice: s.slice, ...(await s.result) })));
  const ids = placed.map((p) => p.orderId).filter((x): x is string => Boolean(x));
  const done = await waitTerminalTimes(db, ids);
  await drained();
  await db.end();

  const rows = Array.from({ length: slices }, (_, s) => {
    const mine = placed.filter((p) => p.slice === s);
    const terminal = mine
      .map((p) => (p.orderId ? done.get(p.orderId) : undefined))
      .filter((x): x is number => x !== undefined)
      .sort((a, b) => a - b);
    const http = mine.map((p) => p.ms).sort((a, b) => a - b);
    const n = Math.max(1, mine.length);
    return [
      `${s * sliceSeconds}–${(s + 1) * sliceSeconds} s`,
      String(mine.length),
      percentile(terminal, 50).toFixed(0),
      percentile(terminal, 99).toFixed(0),
      percentile(http, 99).toFixed(1),
      String(mine.filter((p) => p.status !== 201).length),
      ...SHOWN.map((g) => ((cpu[s][g] * 1000) / n).toFixed(2)),
      ((CPU_GROUPS.reduce((sum, g) => sum + cpu[s][g], 0) * 1000) / n).toFixed(2),
    ];
  });
  return table(['sent at', 'orders', 'terminal p50 ms', 'p99 ms', 'HTTP p99 ms', 'not 201', ...SHOWN, 'all'], rows);
}
