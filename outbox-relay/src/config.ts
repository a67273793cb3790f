// Every relay option, read from the environment and validated at start (defaults documented in docs/architecture.md, "outbox-relay").
import { readTracingOptions, type TracingOptions } from '@shop/lib/tracing/options';
import { EnvReader, readCommonConfig } from '@shop/lib/config';
import { SERVICE_DATABASES, serviceDatabaseUrl, type ServiceDatabase } from '@shop/lib/db/databases';

export interface DatabaseSource {
  /** Label used in metrics, logs and the `source` header. */
  name: string;
  connectionString: string;
  slotName: string;
  publicationName: string;
}

export interface RelayConfig {
  port: number;
  host: string;
  logLevel: string;
  shutdownGraceMs: number;
  http: { headersTimeoutMs: number; requestTimeoutMs: number };
  kafkaBrokers: string[];
  topicPartitions: number;
  sources: DatabaseSource[];
  /** aggregate_type → topic overrides; otherwise `<aggregate_type>.events`. */
  topicMap: Record<string, string>;
  batchMaxMessages: number;
  /**
   * Bytes of keys and values per batch: Kafka refuses a record batch over the broker's
   * message.max.bytes (1 MiB by default), and with one partition a whole batch is one record batch.
   */
  batchMaxBytes: number;
  batchLingerMs: number;
  /** Above this many received-but-unpublished messages the WAL stream is paused (backpressure). */
  maxPendingMessages: number;
  statusIntervalMs: number;
  /** No message (data or keepalive) for this long ⇒ the connection is presumed hung and rebuilt. */
  silenceTimeoutMs: number;
  standbyRetryMs: number;
  reconnectBaseMs: number;
  reconnectMaxMs: number;
  lagPollMs: number;
  retentionMs: number;
  retentionIntervalMs: number;
  /** Escape hatch: recreate a slot that vanished (events committed meanwhile are skipped!). */
  recreateMissingSlot: boolean;
  /** Worker threads that encode and send to Kafka (0: in the main thread, beside WAL decoding). */
  publishThreads: number;
  /** Batches of at least this many messages go through the publisher threads, smaller ones not. */
  threadedBatchMin: number;
  /** OpenTelemetry: a span per sampled event's publish (off unless OTEL_EXPORTER_OTLP_ENDPOINT is set). */
  tracing: TracingOptions;
}

export function readRelayConfig(env = new EnvReader()): RelayConfig {
  const common = readCommonConfig(env);
  const relayUser = env.str('RELAY_DB_USER', 'outbox_relay');
  const prefix = env.str('RELAY_SLOT_PREFIX', 'outbox_relay', { pattern: /^[a-z0-9_]{1,40}$/ });
  const publicationName = env.str('RELAY_PUBLICATION', 'outbox_relay_pub', { pattern: /^[a-z0-9_]{1,60}$/ });
  const databases = env.list('RELAY_DATABASES', [...SERVICE_DATABASES]);
  const sources = databases.map((name): DatabaseSource => {
    const url = new URL(serviceDatabaseUrl(name as ServiceDatabase, env));
    // Replication needs a REPLICATION login; the services' own URL is the default host/db.
    if (!env.optional(`RELAY_${name.toUpperCase()}_DATABASE_URL`)) url.username = relayUser;
    return {
      name,
      connectionString: env.str(`RELAY_${name.toUpperCase()}_DATABASE_URL`, url.toString()),
      slotName: `${prefix}_${name}`,
      publicationName,
    };
  });
  const topicMap = Object.fromEntries(
    env.list('RELAY_TOPIC_MAP', []).map((pair) => {
      const [from, to] = pair.split('=');
      return [from.trim(), (to ?? '').trim()];
    }),
  );
  const config: RelayConfig = {
    port: env.int('PORT', 3005, { min: 0, max: 65535 }),
    host: common.host,
    logLevel: common.logLevel,
    kafkaBrokers: common.kafkaBrokers,
    topicPartitions: common.topicPartitions,
    shutdownGraceMs: common.shutdownGraceMs,
    http: common.http,
    sources,
    topicMap,
    batchMaxMessages: env.int('RELAY_BATCH_MAX_MESSAGES', 5000, { min: 1, max: 100_000 }),
    batchMaxBytes: env.int('RELAY_BATCH_MAX_BYTES', 900_000, { min: 1_000, max: 100_000_000 }),
    batchLingerMs: env.int('RELAY_BATCH_LINGER_MS', 2, { min: 0, max: 10_000 }),
    maxPendingMessages: env.int('RELAY_MAX_PENDING_MESSAGES', 50_000, { min: 100, max: 10_000_000 }),
    statusIntervalMs: env.int('RELAY_STATUS_INTERVAL_MS', 2_000, { min: 100, max: 60_000 }),
    silenceTimeoutMs: env.int('RELAY_SILENCE_TIMEOUT_MS', 15_000, { min: 1_000, max: 600_000 }),
    standbyRetryMs: env.int('RELAY_STANDBY_RETRY_MS', 1_000, { min: 100, max: 60_000 }),
    reconnectBaseMs: env.int('RELAY_RECONNECT_BASE_MS', 200, { min: 10, max: 60_000 }),
    reconnectMaxMs: env.int('RELAY_RECONNECT_MAX_MS', 5_000, { min: 10, max: 600_000 }),
    lagPollMs: env.int('RELAY_LAG_POLL_MS', 1_000, { min: 100, max: 600_000 }),
    retentionMs: env.int('OUTBOX_RETENTION_MS', 3_600_000, { min: 0 }),
    retentionIntervalMs: env.int('OUTBOX_RETENTION_INTERVAL_MS', 60_000, { min: 100 }),
    recreateMissingSlot: env.bool('RELAY_RECREATE_MISSING_SLOT', false),
    publishThreads: env.int('RELAY_PUBLISH_THREADS', 2, { min: 0, max: 16 }),
    threadedBatchMin: env.int('RELAY_THREADED_BATCH_MIN', 250, { min: 1, max: 100_000 }),
    tracing: readTracingOptions(env, 'outbox-relay'),
  };
  for (const [from, to] of Object.entries(topicMap)) if (!from || !to) env.str('RELAY_TOPIC_MAP', '', { pattern: /^$/ });
  env.done();
  return config;
}
