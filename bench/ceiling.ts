// Ceiling: pgbench doing what order creation does (an order row and an outbox row in one
// transaction) on the same Postgres, into scratch tables so nothing real is touched; then our
// own order creation through POST /orders, as a fraction of it.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { stackUp } from '@shop/testkit/processes';
import { BENCH_DATABASE_URL, prepareBenchDatabase } from './cdc.ts';
import { assertNoReplicationReaders, closedLoop, drained, place, stock, withRelayPaused } from './stack.ts';
import { median, summarize, table } from './stats.ts';

const exec = promisify(execFile);

const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 32);

/**
 * Orders created per second through POST /orders, closed loop (IN_FLIGHT requests at a time),
 * with the relay paused as in the placement-only HTTP bench: the API, its validation, Redis and
 * the order + outbox transaction, without the workflow of the orders competing for the cores.
 */
async function placementRate(seconds: number): Promise<number> {
  await stackUp();
  await drained();
  const sku = `CEIL-${Date.now().toString(36)}`.toUpperCase();
  await stock(sku, 1_000_000_000);
  const r = await withRelayPaused(() => closedLoop(IN_FLIGHT, seconds, () => place(sku)));
  const created = r.filter((x) => x.status === 201).length;
  if (created < r.length) console.error(`placement: ${r.length - created} of ${r.length} answers were not 201`);
  return created / seconds;
}

/**
 * pgbench doing what order creation does, `runs` times for `seconds`: the machine's ceiling in
 * tx/s, the calibration every other figure is stated against. Runs in the scratch database of
 * the CDC benches (WAL written in a service database stays in that service's slot); the caller
 * makes sure no replication reader decodes it.
 */
export async function pgbenchCeiling(seconds: number, runs: number): Promise<number[]> {
  await prepareBenchDatabase();
  const url = BENCH_DATABASE_URL;
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  await db.query('create table if not exists bench_orders (id uuid primary key, customer_id text, total_cents bigint, created_at timestamptz default now())');
  await db.query('create table if not exists bench_outbox (like outbox including all)');
  const dir = mkdtempSync(join(tmpdir(), 'pgbench-'));
  const script = join(dir, 'order.sql');
  writeFileSync(
    script,
    `BEGIN;
INSERT INTO bench_orders (id, customer_id, total_cents) VALUES (gen_random_uuid(), 'c' || (random() * 1000)::int, 1000);
INSERT INTO bench_outbox (id, aggregate_type, aggregate_id, type, payload) VALUES (gen_random_uuid(), 'bench', 'x', 'OrderCreated', '{"total": 1000}');
COMMIT;
`,
  );
  const tps: number[] = [];
  for (let i = 0; i < runs; i++) {
    const u = new URL(url);
    const { stdout } = await exec('pgbench', [
      '-n',
      '-h',
      u.hostname,
      '-p',
      u.port || '5432',
      '-U',
      u.username || 'postgres',
      '-c',
      '8',
      '-j',
      '2',
      '-T',
      String(seconds),
      '-f',
      script,
      u.pathname.slice(1),
    ]);
    const m = /tps = ([\d.]+)/.exec(stdout);
    tps.push(Number(m?.[1] ?? 0));
    console.error(`pgbench run ${i + 1}: ${m?.[1]} tx/s`);
  }
  await db.query('drop table bench_orders; drop table bench_outbox');
  await db.end();
  return tps;
}

export async function ceilingBench(
  seconds = Number(process.env.BENCH_SECONDS ?? 10),
  runs = Number(process.env.BENCH_RUNS ?? 3),
  /** The smoke pass runs beside the stack: its figures mean nothing, so it need not refuse. */
  requireIdle = true,
): Promise<number> {
  if (requireIdle) await assertNoReplicationReaders();
  const tps = await pgbenchCeiling(seconds, runs);
  const ours: number[] = [];
  for (let i = 0; i < runs; i++) {
    ours.push(await placementRate(seconds));
    console.error(`POST /orders run ${i + 1}: ${ours[i].toFixed(0)} orders/s`);
  }
  await drained();
  console.log(
    table(
      ['ceiling and our order creation', 'median', 'min', 'max'],
      [
        ['pgbench: order + outbox insert per transaction, 8 clients, tx/s', ...summarize(tps, 0)],
        [`POST /orders, ${IN_FLIGHT} in flight, relay paused, orders/s`, ...summarize(ours, 0)],
        ['our order creation / ceiling', `${((median(ours) / median(tps)) * 100).toFixed(0)} %`, '', ''],
      ],
    ),
  );
  return median(tps);
}
