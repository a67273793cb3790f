// Debezium side by side: Kafka Connect standalone with Debezium's Postgres connector (pgoutput)
// and its Outbox Event Router, on the same outbox table, the same Postgres and the same Kafka as
// our relay, driven by the same load and measured the same way (bench/cdc.ts). Jars come from
// Maven Central into .state/debezium/libs (infra/debezium/pom.xml); nothing is committed.
//   npm run bench -- debezium          (BENCH_RUNS, BENCH_EVENTS, BENCH_RATE, BENCH_SECONDS)
import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '@shop/lib/db/databases';
import { assertAlone, BENCH_DATABASE_URL, type Cdc, db, dropSlot, EVENTS, killChild, lagRun, ourRelay, RATE, RUNS, slotActive, throughputRun } from './cdc.ts';
import { waitFor } from '@shop/testkit/wait';
import { median, summarize, table } from './stats.ts';

const STATE = join(REPO_ROOT, '.state', 'debezium');
const LIBS = join(STATE, 'libs');

function fetchJars(): void {
  if (existsSync(LIBS) && readdirSync(LIBS).some((f) => f.startsWith('debezium-connector-postgres'))) return;
  console.error('fetching Kafka Connect and Debezium jars with Maven (once)…');
  execFileSync('mvn', ['-q', '-B', '-f', join(REPO_ROOT, 'infra/debezium/pom.xml'), 'dependency:copy-dependencies', `-DoutputDirectory=${LIBS}`], {
    stdio: 'inherit',
  });
}

const properties = (entries: Record<string, string | number>) =>
  Object.entries(entries)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n') + '\n';

/**
 * Debezium with its defaults, except what the comparison needs (pgoutput, the outbox table only,
 * no snapshot) and `overrides` (e.g. a shorter poll.interval.ms).
 */
export function debezium(overrides: Record<string, string | number> = {}, port = 8093): Cdc {
  const id = `dbz${randomUUID().slice(0, 6)}`;
  const dir = join(STATE, id);
  const slot = `${id}_orders`;
  const publication = `${id}_pub`;
  const url = new URL(BENCH_DATABASE_URL);
  let child: ChildProcess | undefined;
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'worker.properties'),
    properties({
      'bootstrap.servers': process.env.KAFKA_BROKERS ?? '127.0.0.1:9092',
      'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
      'value.converter': 'org.apache.kafka.connect.storage.StringConverter',
      'offset.storage.file.filename': join(dir, 'offsets.dat'),
      'offset.flush.interval.ms': 1000,
      listeners: `http://127.0.0.1:${port}`,
      // Lets the tuned contender set its own producer options (producer.override.*).
      'connector.client.config.override.policy': 'All',
    }),
  );
  writeFileSync(
    join(dir, 'connector.properties'),
    properties({
      name: id,
      'connector.class': 'io.debezium.connector.postgresql.PostgresConnector',
      'tasks.max': 1,
      'database.hostname': url.hostname,
      'database.port': url.port || 5432,
      'database.user': decodeURIComponent(url.username) || 'postgres',
      'database.password': decodeURIComponent(url.password) || 'unused',
      'database.dbname': url.pathname.slice(1),
      'topic.prefix': id,
      'plugin.name': 'pgoutput',
      'slot.name': slot,
      'publication.name': publication,
      'publication.autocreate.mode': 'filtered',
      'table.include.list': 'public.outbox',
      'snapshot.mode': 'no_data',
      'tombstones.on.delete': 'false',
      transforms: 'outbox',
      'transforms.outbox.type': 'io.debezium.transforms.outbox.EventRouter',
      'transforms.outbox.table.field.event.id': 'id',
      'transforms.outbox.table.field.event.key': 'aggregate_id',
      'transforms.outbox.table.field.event.payload': 'payload',
      'transforms.outbox.route.by.field': 'aggregate_type',
      'transforms.outbox.route.topic.replacement': 'dbz.${routedByValue}.events',
      ...overrides,
    }),
  );
  return {
    name: `debezium ${JSON.stringify(overrides)}`,
    topicFor: (type) => `dbz.${type}.events`,
    async start() {
      const log = createWriteStream(join(dir, 'connect.log'), { flags: 'a' });
      child = spawn(
        'java',
        [
          '-Xms128m',
          '-Xmx512m',
          '-XX:+UseG1GC',
          `-Dlog4j2.configurationFile=${join(REPO_ROOT, 'infra/kafka/log4j2.properties')}`,
          '-cp',
          `${LIBS}/*`,
          'org.apache.kafka.connect.cli.ConnectStandalone',
          join(dir, 'worker.properties'),
          join(dir, 'connector.properties'),
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child.stdout!.pipe(log);
      child.stderr!.pipe(log);
      const running = child;
      await waitFor(() => slotActive(slot), {
        what: `Debezium to stream from its slot (log: ${join(dir, 'connect.log')})`,
        timeoutMs: 120_000,
        intervalMs: 100,
        abortIf: () => running.exitCode !== null,
      });
    },
    stop: () => killChild(child),
    async dispose() {
      await dropSlot(slot, publication);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function debeziumBench(): Promise<void> {
  fetchJars();
  await assertAlone();
  const TUNED = {
    'poll.interval.ms': 10,
    'max.batch.size': 8192,
    'max.queue.size': 32768,
    'producer.override.linger.ms': 5,
    'producer.override.batch.size': 262144,
  };
  const contenders: { label: string; make: () => Cdc }[] = [
    { label: 'outbox-relay (defaults)', make: () => ourRelay() },
    { label: 'Debezium 3.6.1 (defaults)', make: () => debezium() },
    // Debezium waits poll.interval.ms (500) whenever its queue runs empty, and its batches are
    // small by default: this row shows it tuned, so the comparison is not against a strawman.
    {
      label: `Debezium 3.6.1 (tuned: ${Object.entries(TUNED)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')})`,
      make: () => debezium(TUNED),
    },
  ];
  const results = contenders.map(() => ({ throughput: [] as number[], p50: [] as number[], p99: [] as number[] }));
  for (let run = 0; run < RUNS; run++) {
    for (const [i, c] of contenders.entries()) {
      const cdc = c.make();
      const r = results[i];
      try {
        r.throughput.push(await throughputRun(cdc));
        const lag = await lagRun(cdc);
        r.p50.push(lag.p50);
        r.p99.push(lag.p99);
        console.error(`run ${run + 1}/${RUNS} ${c.label}: ${Math.round(r.throughput.at(-1)!)} events/s; lag p50 ${lag.p50} ms, p99 ${lag.p99} ms`);
      } finally {
        await cdc.stop();
        await cdc.dispose();
      }
    }
  }
  const [ours, dbz, tuned] = results as [(typeof results)[0], (typeof results)[0], (typeof results)[0]];
  console.log(
    table(
      ['contender', 'throughput ev/s (med)', 'min', 'max', `lag p50 ms at ${RATE} ev/s (med)`, `lag p99 ms (med)`, 'min', 'max'],
      contenders.map((c, i) => {
        const r = results[i];
        return [c.label, ...summarize(r.throughput, 0), summarize(r.p50, 0)[0], ...summarize(r.p99, 0)];
      }),
    ),
  );
  console.log(`\nbacklog ${EVENTS} events; ${RUNS} runs; each contender alone on the machine while measured.`);
  const ratio = (a: number[], b: number[]) => (median(a) / median(b)).toFixed(2);
  console.log(
    `throughput ours / Debezium: ${ratio(ours.throughput, dbz.throughput)}× (defaults), ${ratio(ours.throughput, tuned.throughput)}× (tuned); target ≥ 1.0×`,
  );
  console.log(`p99 lag ours / Debezium: ${ratio(ours.p99, dbz.p99)}× (defaults), ${ratio(ours.p99, tuned.p99)}× (tuned); target ≤ 1.0×`);
  await db.end();
}
