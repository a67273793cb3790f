// Ceiling: pgbench doing what order creation does (an order row and an outbox row in one
// transaction) on the same Postgres, into scratch tables so nothing real is touched.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { serviceDatabaseUrl } from '@shop/lib/db/databases';
import { summarize, table } from './stats.ts';

const exec = promisify(execFile);

export async function ceilingBench(seconds = Number(process.env.BENCH_SECONDS ?? 10), runs = Number(process.env.BENCH_RUNS ?? 3)): Promise<number> {
  const url = serviceDatabaseUrl('orders');
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
    const { stdout } = await exec('pgbench', ['-n', '-h', u.hostname, '-p', u.port || '5432', '-U', u.username || 'postgres', '-c', '8', '-j', '2', '-T', String(seconds), '-f', script, u.pathname.slice(1)]);
    const m = /tps = ([\d.]+)/.exec(stdout);
    tps.push(Number(m?.[1] ?? 0));
    console.error(`pgbench run ${i + 1}: ${m?.[1]} tx/s`);
  }
  await db.query('drop table bench_orders; drop table bench_outbox');
  await db.end();
  console.log(table(['ceiling: order + outbox insert per transaction (pgbench, 8 clients)', 'median', 'min', 'max'], [['tx/s', ...summarize(tps, 0)]]));
  return [...tps].sort((a, b) => a - b)[Math.floor(tps.length / 2)]!;
}
