// The workflow's own SQL, alone: what Postgres can do of the end-to-end target before any Node
// process, Kafka or logical decoding takes its share of the two cores.
//
// bench/workflow-sql/<database>.sql hold one order's statements in each service database,
// copied from a log_statement=all capture of one order through the stack (same statements, same
// transactions, same outbox rows); four pgbench processes replay them at the same open-loop rate
// of orders/s, prepared statements like the services use, into scratch databases with the
// services' migrations. For each rate: whether all four kept up, and how much of the machine it
// took (whole machine from /proc/stat, pgbench's own share from /usr/bin/time).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { migrationsDir, REPO_ROOT, SERVICE_DATABASES, serviceDatabaseUrl } from '@shop/lib/db/databases';
import { migrate } from '@shop/lib/db/migrate';
import { assertNoReplicationReaders } from './stack.ts';
import { median, summarize, table } from './stats.ts';

const exec = promisify(execFile);
const CLIENTS = Number(process.env.BENCH_SQL_CLIENTS ?? 4);
const SKUS = 200;

type Database = (typeof SERVICE_DATABASES)[number];
const scratchUrl = (name: Database) => {
  const url = new URL(serviceDatabaseUrl(name));
  url.pathname = `/${url.pathname.slice(1)}_sqlbench`;
  return url;
};

async function prepare(requireIdle: boolean): Promise<void> {
  if (requireIdle) await assertNoReplicationReaders();
  const admin = new pg.Client({ connectionString: serviceDatabaseUrl('orders') });
  await admin.connect();
  try {
    for (const name of SERVICE_DATABASES) {
      const db = scratchUrl(name).pathname.slice(1);
      // Dropped and made again: every run starts from the same empty tables.
      await admin.query(`drop database if exists "${db}"`);
      await admin.query(`create database "${db}"`);
    }
  } finally {
    await admin.end();
  }
  for (const name of SERVICE_DATABASES) {
    await migrate(scratchUrl(name).toString(), migrationsDir(name));
    const db = new pg.Client({ connectionString: scratchUrl(name).toString() });
    await db.connect();
    if (name === 'inventory') {
      await db.query(`insert into products (sku, name, on_hand) select 'BENCH-' || i, 'bench', 1000000000 from generate_series(0, ${SKUS - 1}) i`);
    }
    await db.query('vacuum analyze');
    await db.end();
  }
}

/** Busy and total jiffies of the whole machine. */
function machineTicks(): { busy: number; total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = cpu[3] + cpu[4];
  const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

interface Replay {
  database: Database;
  ordersPerSecond: number;
  lagMs: number;
  cpuSeconds: number;
}

/**
 * 'as-built': the transactions as the services run them (10 commits per order). 'one-per-db':
 * each database's statements of an order in a single transaction (4 commits per order) — about
 * the most any batching of consumer transactions could save, short of batching across orders.
 */
type Shape = 'as-built' | 'one-per-db';
const SHAPES: Shape[] = ['as-built', 'one-per-db'];

function scriptFor(name: Database, shape: Shape, dir: string): string {
  const source = join(REPO_ROOT, 'bench', 'workflow-sql', `${name}.sql`);
  if (shape === 'as-built') return source;
  const lines = readFileSync(source, 'utf8')
    .split('\n')
    .filter((l) => l !== 'BEGIN;' && l !== 'COMMIT;');
  const first = lines.findIndex((l) => l.endsWith('\\gset'));
  lines.splice(first + 1, 0, 'BEGIN;');
  const merged = join(dir, `${name}.sql`);
  writeFileSync(merged, `${lines.join('\n')}\nCOMMIT;\n`);
  return merged;
}

async function replay(name: Database, script: string, rate: number, seconds: number): Promise<Replay> {
  const url = scratchUrl(name);
  const { stdout, stderr } = await exec(
    '/usr/bin/time',
    [
      '-f',
      'cpu %U %S',
      'pgbench',
      '-n',
      '-M',
      'prepared',
      '-h',
      url.hostname,
      '-p',
      url.port || '5432',
      '-U',
      url.username || 'postgres',
      '-c',
      String(CLIENTS),
      '-j',
      '1',
      '-R',
      String(rate),
      '-T',
      String(seconds),
      '-f',
      script,
      url.pathname.slice(1),
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  const tps = /tps = ([\d.]+)/.exec(stdout)?.[1];
  const lag = /schedule lag: avg ([\d.]+)/.exec(stdout)?.[1];
  const cpu = /cpu ([\d.]+) ([\d.]+)/.exec(stderr);
  if (!tps || !lag || !cpu) throw new Error(`pgbench ${name}: unexpected output\n${stdout}\n${stderr}`);
  return { database: name, ordersPerSecond: Number(tps), lagMs: Number(lag), cpuSeconds: Number(cpu[1]) + Number(cpu[2]) };
}

export async function workflowSqlBench(
  rates = (process.env.BENCH_RATES ?? '250,350,500').split(',').map(Number),
  seconds = Number(process.env.BENCH_SECONDS ?? 20),
  runs = Number(process.env.BENCH_RUNS ?? 3),
  /** The smoke pass runs beside the stack: its figures mean nothing, so it need not refuse. */
  requireIdle = true,
): Promise<void> {
  await prepare(requireIdle);
  const cores = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .filter((l) => /^cpu\d/.test(l)).length;
  const dir = mkdtempSync(join(tmpdir(), 'workflow-sql-'));
  const rows: string[][] = [];
  for (const shape of SHAPES)
    for (const rate of rates) {
      const scripts = SERVICE_DATABASES.map((name) => [name, scriptFor(name, shape, dir)] as const);
      const achieved: number[] = [];
      const lag: number[] = [];
      const machine: number[] = [];
      const postgres: number[] = [];
      for (let i = 0; i < runs; i++) {
        const before = machineTicks();
        const results = await Promise.all(scripts.map(([name, script]) => replay(name, script, rate, seconds)));
        const after = machineTicks();
        const busyCores = ((after.busy - before.busy) / (after.total - before.total)) * cores;
        const clientCores = results.reduce((n, r) => n + r.cpuSeconds, 0) / seconds;
        const slowest = Math.min(...results.map((r) => r.ordersPerSecond));
        const worstLag = Math.max(...results.map((r) => r.lagMs));
        achieved.push(slowest);
        lag.push(worstLag);
        machine.push(busyCores);
        postgres.push(busyCores - clientCores);
        console.error(
          `${shape}, ${rate} orders/s run ${i + 1}: ${results.map((r) => `${r.database} ${r.ordersPerSecond.toFixed(0)}/s lag ${r.lagMs.toFixed(1)} ms`).join(', ')}; machine ${busyCores.toFixed(2)} cores, pgbench ${clientCores.toFixed(2)}`,
        );
      }
      const kept = median(lag) < 100 && median(achieved) >= rate * 0.97;
      rows.push([
        shape,
        `${rate} orders/s`,
        ...summarize(achieved, 0),
        summarize(lag, 1)[0],
        summarize(machine, 2)[0],
        summarize(postgres, 2)[0],
        kept ? 'yes' : 'no',
      ]);
    }
  console.log(
    table(
      [
        'transactions',
        'workflow SQL alone, offered',
        'orders/s (slowest db, med)',
        'min',
        'max',
        'worst schedule lag ms (med)',
        `machine busy, cores of ${cores} (med)`,
        'without pgbench (med)',
        'kept up',
      ],
      rows,
    ),
  );
}
