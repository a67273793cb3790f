// What the relay and Debezium benchmarks share: a change-data-capture process that can be
// started and stopped on its own slot, and two measurements that treat every such process the
// same way — throughput from a committed backlog (read from the topic's end offsets, not from
// the process's own counters) and commit → consumer latency at a fixed rate.
import { nodeRuntime, type NodeRuntime } from '@shop/testkit/node-runtime';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { migrationsDir, REPO_ROOT, serviceDatabaseUrl } from '@shop/lib/db/databases';
import { migrate } from '@shop/lib/db/migrate';
import { ensureTopics } from '@shop/lib/messaging/kafka';
import { toolKafka } from '@shop/testkit/kafka';
import { waitFor } from '@shop/testkit/wait';
import { assertNoReplicationReaders } from './stack.ts';
import { percentile } from './stats.ts';

export const EVENTS = Number(process.env.BENCH_EVENTS ?? 200_000);
export const RATE = Number(process.env.BENCH_RATE ?? 5_000);
export const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
export const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/**
 * Load before the measured window, not counted: start-up, JIT (the JVM's C2 takes seconds) and
 * metadata fetches are not steady state.
 */
export const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 10);
const PARTITIONS = 6;

/**
 * A scratch database with the orders database's schema (same outbox table, same migrations):
 * a million bench rows in the real orders outbox would sit in the stack's own slot and be
 * published by `npm run up`'s relay later.
 */
export const BENCH_DATABASE_URL = (() => {
  const url = new URL(serviceDatabaseUrl('orders'));
  url.pathname = `/${url.pathname.slice(1)}_bench`;
  return url.toString();
})();
export const db = new pg.Pool({ connectionString: BENCH_DATABASE_URL, max: 4 });

export async function prepareBenchDatabase(): Promise<void> {
  const admin = new pg.Client({ connectionString: serviceDatabaseUrl('orders') });
  await admin.connect();
  const name = new URL(BENCH_DATABASE_URL).pathname.slice(1);
  const exists = (await admin.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1;
  if (!exists) await admin.query(`create database "${name}"`);
  await admin.end();
  await migrate(BENCH_DATABASE_URL, migrationsDir('orders'));
  // Nothing from an earlier, perhaps interrupted, run needs to stay: its slots would pin WAL for
  // the whole cluster, its rows would only make the table bigger.
  await db.query('select pg_drop_replication_slot(slot_name) from pg_replication_slots where database = current_database() and not active');
  await db.query('truncate outbox');
}
// without the idle-loop fix the bench's consumers would spin on the cores they measure
export const kafka = toolKafka('bench');

/** A CDC process reading the orders database's outbox through its own replication slot. */
export interface Cdc {
  name: string;
  /** The topic it publishes an aggregate type's events to. */
  topicFor(aggregateType: string): string;
  /** Starts the process; resolves once it streams from its slot (created on first start). */
  start(): Promise<void>;
  /** Stops the process; the slot stays, so a later start resumes where it confirmed. */
  stop(): Promise<void>;
  /** Drops the slot and anything else the process created. */
  dispose(): Promise<void>;
}

/**
 * Any other replication reader on the cluster refuses the run: one on the bench database would
 * publish the bench's events too, and one on another database (the running stack's relay) still
 * decodes every WAL record the bench writes — the WAL is shared — while the stack's services
 * take CPU. With the stack up, the same code measured 17k ev/s and p99 377 ms; with it stopped,
 * 29k ev/s and 40 ms, minutes apart: refuse rather than print such figures.
 */
export async function assertAlone(): Promise<void> {
  await prepareBenchDatabase();
  await assertNoReplicationReaders();
}

export const slotActive = async (slot: string) => (await db.query('select 1 from pg_replication_slots where slot_name = $1 and active', [slot])).rowCount === 1;

export async function dropSlot(slot: string, publication?: string): Promise<void> {
  await waitFor(async () => !(await slotActive(slot)), { what: `slot ${slot} to be released`, timeoutMs: 30_000, intervalMs: 100 });
  await db.query('select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = $1', [slot]);
  if (publication) await db.query(`drop publication if exists "${publication}"`);
}

export async function killChild(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/** Our outbox-relay, alone on the bench database, with its own slot and publication. */
export function ourRelay(port = 3955, runtime: NodeRuntime = nodeRuntime(), env: Record<string, string> = {}): Cdc {
  const prefix = `bench${randomUUID().slice(0, 6)}`;
  let child: ChildProcess | undefined;
  return {
    name: 'outbox-relay',
    topicFor: (type) => `${type}.events`,
    async start() {
      // e.g. BENCH_RELAY_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the relay.
      const nodeArgs = (process.env.BENCH_RELAY_NODE_ARGS ?? '').split(' ').filter(Boolean);
      child = spawn(runtime.binary, [...nodeArgs, ...runtime.args, join(REPO_ROOT, 'outbox-relay/src/main.ts')], {
        env: {
          ...process.env,
          PORT: String(port),
          RELAY_DATABASES: 'orders',
          RELAY_ORDERS_DATABASE_URL: BENCH_DATABASE_URL,
          RELAY_SLOT_PREFIX: prefix,
          RELAY_PUBLICATION: `${prefix}_pub`,
          LOG_LEVEL: 'warn',
          EXIT_WITH_PARENT: '1',
          ...env,
        },
        stdio: 'inherit',
      });
      const running = child;
      await waitFor(
        async () => {
          const lag = (await (await fetch(`http://127.0.0.1:${port}/lag`)).json()) as { slots: { state: string }[] };
          return lag.slots[0]?.state === 'active';
        },
        { what: 'the relay to stream', timeoutMs: 120_000, intervalMs: 100, abortIf: () => running.exitCode !== null },
      );
    },
    stop: () => killChild(child),
    dispose: () => dropSlot(`${prefix}_orders`, `${prefix}_pub`),
  };
}

/** Commits `n` outbox rows of one aggregate type, in transactions of 100, 4 at a time. */
export async function commitBacklog(type: string, n: number): Promise<void> {
  for (let i = 0; i < n; i += 400) {
    await Promise.all(
      [0, 100, 200, 300]
        .filter((j) => i + j < n)
        .map((j) =>
          db.query(
            `INSERT INTO outbox (id, aggregate_type, aggregate_id, type, payload)
           SELECT gen_random_uuid(), $1, 'order-' || (i % 1000), 'BenchEvent', jsonb_build_object('i', i, 'sku', 'SKU-1', 'qty', 1)
             FROM generate_series($2::int, $3::int) i`,
            [type, i + j, Math.min(n, i + j + 100) - 1],
          ),
        ),
    );
  }
}

async function createTopic(topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [topic], PARTITIONS);
  await admin.disconnect();
}

async function deleteTopic(topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
}

/**
 * Events/s from a committed backlog: the slot exists (first start), the process is stopped,
 * `EVENTS` rows are committed, the process is started again, and the topic's end offsets are
 * watched from the first published event to the last (so JVM or Node start-up is not counted).
 */
export async function throughputRun(cdc: Cdc): Promise<number> {
  const type = `bt${randomUUID().slice(0, 6)}`;
  const topic = cdc.topicFor(type);
  await createTopic(topic);
  const admin = kafka.admin();
  await admin.connect();
  const published = async () => (await admin.fetchTopicOffsets(topic)).reduce((s, p) => s + Number(p.high), 0);
  try {
    await cdc.start();
    await cdc.stop();
    await commitBacklog(type, EVENTS);
    void cdc.start();
    let first: { at: number; count: number } | undefined;
    await waitFor(
      async () => {
        const count = await published();
        if (!first && count > 0) first = { at: performance.now(), count };
        return count >= EVENTS;
      },
      { what: `${cdc.name} to publish ${EVENTS}`, timeoutMs: 300_000, intervalMs: 100 },
    );
    const seconds = (performance.now() - first!.at) / 1000;
    return (EVENTS - first!.count) / seconds;
  } finally {
    await cdc.stop();
    await admin.disconnect();
    await deleteTopic(topic);
  }
}

/**
 * Commit → consumer receive at a fixed rate: one transaction every 10 ms, WARMUP_SECONDS not
 * counted, then SECONDS measured.
 */
export async function lagRun(cdc: Cdc, onDone?: () => Promise<void>): Promise<{ p50: number; p99: number; count: number }> {
  const type = `bl${randomUUID().slice(0, 6)}`;
  const topic = cdc.topicFor(type);
  await createTopic(topic);
  const latencies: number[] = [];
  const consumer = kafka.consumer({ groupId: `bench-${type}`, maxWaitTimeInMs: 5 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    // kafkajs commits offsets after every non-empty partition batch, one awaited round trip each
    // (runner.js), whatever autoCommitInterval says: ~40 ms per fetch cycle at 6 partitions.
    // The bench measures delivery, not commits, so it commits nothing.
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      const now = Date.now();
      for (const m of batch.messages) {
        // Our relay sends the whole envelope; Debezium's Outbox Event Router sends the payload.
        const value = JSON.parse(m.value!.toString()) as { sentAt?: string; warm?: boolean; payload?: { sentAt: string; warm: boolean } };
        const event = value.payload ?? (value as { sentAt: string; warm: boolean });
        if (!event.warm) latencies.push(now - Date.parse(event.sentAt));
      }
    },
  });
  try {
    await cdc.start();
    const perTick = Math.max(1, Math.round(RATE / 100));
    const measuredFrom = Date.now() + WARMUP_SECONDS * 1000;
    const deadline = measuredFrom + SECONDS * 1000;
    let next = Date.now();
    let sent = 0;
    while (Date.now() < deadline) {
      const warm = Date.now() < measuredFrom;
      await db.query(
        `INSERT INTO outbox (id, aggregate_type, aggregate_id, type, payload)
         SELECT gen_random_uuid(), $1, 'order-' || (i % 1000), 'BenchEvent', jsonb_build_object('i', i, 'sentAt', clock_timestamp(), 'warm', $3::boolean)
           FROM generate_series(1, $2::int) i`,
        [type, perTick, warm],
      );
      if (!warm) sent += perTick;
      next += 10;
      const wait = next - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    await waitFor(() => latencies.length >= sent, { what: `${cdc.name}: all ${sent} events consumed`, timeoutMs: 60_000, intervalMs: 50 });
    await onDone?.();
    const sorted = [...latencies].sort((a, b) => a - b);
    return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), count: sorted.length };
  } finally {
    await cdc.stop();
    await consumer.disconnect();
    await deleteTopic(topic);
  }
}
