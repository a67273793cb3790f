// Relay benchmark: (1) throughput — events/s through one relay, from a backlog of committed
// outbox rows to Kafka acknowledgements; (2) lag — commit → consumer receive, p50/p99, at a
// fixed 5,000 events/s. Each figure is the median of RUNS runs, with min and max.
//   npm run bench -- relay            (BENCH_RUNS, BENCH_EVENTS, BENCH_RATE, BENCH_SECONDS to change)
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { REPO_ROOT, serviceDatabaseUrl } from '@shop/lib/db/databases';
import { percentile, summarize, table } from './stats.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 100_000);
const RATE = Number(process.env.BENCH_RATE ?? 5_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const PORT = 3955;
const db = new pg.Pool({ connectionString: serviceDatabaseUrl('orders'), max: 4 });
const kafka = new Kafka({ brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), logLevel: logLevel.NOTHING });

async function withRelay<T>(fn: () => Promise<T>): Promise<T> {
  const prefix = `bench${randomUUID().slice(0, 6)}`;
  const child = spawn(process.execPath, ['--import', join(REPO_ROOT, 'node_modules/tsx/dist/loader.mjs'), join(REPO_ROOT, 'outbox-relay/src/main.ts')], {
    env: { ...process.env, PORT: String(PORT), RELAY_DATABASES: 'orders', RELAY_SLOT_PREFIX: prefix, RELAY_PUBLICATION: `${prefix}_pub`, LOG_LEVEL: 'warn', EXIT_WITH_PARENT: '1' },
    stdio: 'inherit',
  });
  try {
    for (let i = 0; ; i++) {
      const lag = await fetch(`http://127.0.0.1:${PORT}/lag`).then((r) => r.json() as Promise<{ slots: { state: string }[] }>).catch(() => undefined);
      if (lag?.slots[0]?.state === 'active') break;
      if (i > 300) throw new Error('relay did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    return await fn();
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    await new Promise((r) => setTimeout(r, 500));
    await db.query('select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = $1', [`${prefix}_orders`]).catch(() => undefined);
    await db.query(`drop publication if exists "${prefix}_pub"`);
  }
}

async function published(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${PORT}/metrics`)).text();
  return Number(/relay_events_published_total\{[^}]*\} (\d+)/.exec(text)?.[1] ?? 0);
}

const insert = (type: string, n: number, offset = 0) =>
  db.query(
    `INSERT INTO outbox (id, aggregate_type, aggregate_id, type, payload)
     SELECT gen_random_uuid(), $1, 'order-' || (i % 1000), 'BenchEvent', jsonb_build_object('i', i, 'sku', 'SKU-1', 'qty', 1)
       FROM generate_series($2::int, $3::int) i`,
    [type, offset, offset + n - 1],
  );

async function throughputRun(): Promise<number> {
  const type = `bt${randomUUID().slice(0, 6)}`;
  return withRelay(async () => {
    const base = await published();
    // Commit the backlog in transactions of 100 rows, then time the drain.
    for (let i = 0; i < EVENTS; i += 5_000) await Promise.all(Array.from({ length: 50 }, (_, j) => insert(type, 100, i + j * 100)));
    const start = Date.now();
    while ((await published()) - base < EVENTS) await new Promise((r) => setTimeout(r, 20));
    return (EVENTS / (Date.now() - start)) * 1000;
  });
}

async function lagRun(): Promise<{ p50: number; p99: number; count: number }> {
  const type = `bl${randomUUID().slice(0, 6)}`;
  const topic = `${type}.events`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 6 }], waitForLeaders: true });
  const latencies: number[] = [];
  const consumer = kafka.consumer({ groupId: `bench-${type}`, maxWaitTimeInMs: 5 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const now = Date.now();
      for (const m of batch.messages) latencies.push(now - Date.parse(JSON.parse(m.value!.toString()).payload.sentAt));
    },
  });
  try {
    return await withRelay(async () => {
      const perTick = Math.max(1, Math.round(RATE / 100)); // one transaction every 10 ms
      const deadline = Date.now() + SECONDS * 1000;
      let next = Date.now();
      while (Date.now() < deadline) {
        await db.query(
          `INSERT INTO outbox (id, aggregate_type, aggregate_id, type, payload)
           SELECT gen_random_uuid(), $1, 'order-' || (i % 1000), 'BenchEvent', jsonb_build_object('i', i, 'sentAt', clock_timestamp())
             FROM generate_series(1, $2::int) i`,
          [type, perTick],
        );
        next += 10;
        const wait = next - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      const expected = Math.round((SECONDS * 1000) / 10) * perTick;
      const until = Date.now() + 10_000;
      while (latencies.length < expected * 0.99 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      const sorted = [...latencies].sort((a, b) => a - b);
      const text = await (await fetch(`http://127.0.0.1:${PORT}/metrics`)).text();
      const buckets = [...text.matchAll(/relay_publish_latency_seconds_bucket\{le="([^"]+)"[^}]*\} (\d+)/g)].map((m) => `${m[1]}:${m[2]}`);
      console.error(`relay commit→ack histogram (le:count): ${buckets.join(' ')}`);
      return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), count: sorted.length };
    });
  } finally {
    await consumer.disconnect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}

export async function relayBench(): Promise<void> {
  const throughput: number[] = [];
  const p50: number[] = [];
  const p99: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    throughput.push(await throughputRun());
    const lag = await lagRun();
    p50.push(lag.p50);
    p99.push(lag.p99);
    console.error(`run ${i + 1}/${RUNS}: ${Math.round(throughput[i]!)} events/s; at ${RATE} ev/s lag p50 ${lag.p50} ms, p99 ${lag.p99} ms (${lag.count} events)`);
  }
  console.log(
    table(['relay figure', 'median', 'min', 'max', 'target'], [
      [`throughput, events/s (${EVENTS} backlog)`, ...summarize(throughput, 0), '≥ 20,000'],
      [`lag p50 ms at ${RATE} ev/s`, ...summarize(p50, 0), ''],
      [`lag p99 ms at ${RATE} ev/s`, ...summarize(p99, 0), '≤ 50'],
    ]),
  );
  await db.end();
}
