// Wiring only: one OutboxStream per database, one Kafka producer, HTTP for /lag and /metrics. The operations page is ops-console's.
import pg from 'pg';
import { createApp } from '@shop/lib/http/app';
import { createRegistry } from '@shop/lib/http/metrics';
import { onShutdown } from '@shop/lib/lifecycle';
import { createLogger } from '@shop/lib/logger';
import { createKafka } from '@shop/lib/messaging/kafka';
import { startTracing } from '@shop/lib/tracing/tracing';
import { readRelayConfig } from './config.ts';
import { LagMonitor } from './lag.ts';
import { createRelayMetrics } from './metrics.ts';
import { KafkaPublisher, type Publisher } from './publish/kafka-publisher.ts';
import { PublisherThreads, sizeRouted } from './publish/threaded-publisher.ts';
import { createRouter } from './publish/routing.ts';
import { OutboxStream } from './replication/stream.ts';
import { startRetention } from './retention.ts';

const config = readRelayConfig();
const logger = createLogger('outbox-relay', config.logLevel);
const stopTracing = startTracing(config.tracing);
const registry = createRegistry('outbox-relay');
const metrics = createRelayMetrics(registry);
const kafka = createKafka({ clientId: 'outbox-relay', brokers: config.kafkaBrokers, logger });
const route = createRouter(config.topicMap);
// One producer per database: a stream's failed batch and producer reset never touch the others.
// Big batches (a backlog) go through worker threads (RELAY_PUBLISH_THREADS), so Kafka encoding
// and WAL decoding run in parallel; small ones (steady traffic) are sent from the main thread.
const thread =
  config.publishThreads > 0
    ? new PublisherThreads(
        { brokers: config.kafkaBrokers, partitions: config.topicPartitions, sources: config.sources.map((s) => s.name), logLevel: config.logLevel },
        config.publishThreads,
        logger,
      )
    : undefined;
const publishers: Publisher[] = config.sources.map((source, i) => {
  const inline = new KafkaPublisher(kafka, config.topicPartitions, source.name);
  return thread ? sizeRouted(inline, thread.publisher(i), config.threadedBatchMin) : inline;
});
const streams = config.sources.map((source, i) => new OutboxStream(source, config, publishers[i], route, metrics, logger.child({ database: source.name })));
const pools = new Map(config.sources.map((s) => [s.name, new pg.Pool({ connectionString: s.connectionString, max: 2 })]));
for (const pool of pools.values()) pool.on('error', () => undefined);
const lag = new LagMonitor(streams, pools, metrics);

const app = createApp({
  service: 'outbox-relay',
  logger,
  registry,
  timeouts: config.http,
  readiness: {
    kafka: () => publishers[0].isReachable(),
    // Ready when every slot is either streamed by us or by a healthy peer (we are its standby).
    replication: async () => {
      const bad = streams.filter((s) => s.state !== 'active' && s.state !== 'standby');
      if (bad.length > 0) throw new Error(bad.map((s) => `${s.source.name}: ${s.state}${s.lastError ? ` (${s.lastError})` : ''}`).join('; '));
    },
  },
});
// Read by the console and dashboards, like /metrics: no credentials (keep it off the public network).
app.get('/lag', { config: { auth: 'public' } }, async () => ({ at: new Date().toISOString(), slots: await lag.poll() }));

const stopRetention = startRetention(config, streams, pools, metrics, logger);
onShutdown(
  logger,
  [
    { name: 'tracing', close: () => stopTracing() }, // last: closers run in reverse
    // A threaded publisher's close() closes the shared threads (once).
    { name: 'kafka publishers', close: () => Promise.all(publishers.map((p) => p.close())) },
    { name: 'database pools', close: () => Promise.all([...pools.values()].map((p) => p.end())) },
    { name: 'replication streams', close: () => Promise.all(streams.map((s) => s.stop())) },
    { name: 'retention', close: () => stopRetention() },
    { name: 'lag monitor', close: () => lag.stop() },
    { name: 'http server', close: () => app.close() },
  ],
  { name: 'outbox-relay', port: config.port, graceMs: config.shutdownGraceMs },
);

await app.listen({ host: config.host, port: config.port });
lag.start(config.lagPollMs);
logger.info({ port: config.port, slots: config.sources.map((s) => s.slotName) }, 'outbox-relay listening');

// A slot that is gone or lost its WAL must stop the process loudly, never be skipped.
await Promise.all(streams.map((s) => s.run())).catch((error: Error) => {
  logger.fatal({ err: error.message }, 'relay cannot continue');
  process.stderr.write(`outbox-relay: ${error.message}\n`);
  process.exit(2);
});
