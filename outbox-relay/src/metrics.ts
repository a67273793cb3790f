import type { Registry } from 'prom-client';
import { prom } from '@shop/lib/http/metrics';

export function createRelayMetrics(registry: Registry) {
  const labelNames = ['slot', 'database'] as const;
  return {
    lagBytes: new prom.Gauge({
      name: 'relay_slot_lag_bytes',
      help: 'pg_current_wal_lsn() - confirmed_flush_lsn of the slot',
      labelNames,
      registers: [registry],
    }),
    oldestUnpublishedAgeMs: new prom.Gauge({
      name: 'relay_oldest_unpublished_event_age_ms',
      help: 'Age of the oldest committed outbox event not yet acknowledged by Kafka (0 when none)',
      labelNames,
      registers: [registry],
    }),
    pending: new prom.Gauge({
      name: 'relay_pending_messages',
      help: 'Messages received from the WAL and not yet acknowledged by Kafka',
      labelNames,
      registers: [registry],
    }),
    published: new prom.Counter({ name: 'relay_events_published_total', help: 'Outbox events acknowledged by Kafka', labelNames, registers: [registry] }),
    publishLatency: new prom.Histogram({
      name: 'relay_publish_latency_seconds',
      help: 'Time from the transaction commit to the Kafka acknowledgement',
      labelNames,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    publishFailures: new prom.Counter({
      name: 'relay_publish_failures_total',
      help: 'Kafka batches that failed and were retried',
      labelNames,
      registers: [registry],
    }),
    reconnects: new prom.Counter({ name: 'relay_reconnects_total', help: 'Replication connections rebuilt after an error', labelNames, registers: [registry] }),
    active: new prom.Gauge({
      name: 'relay_slot_active',
      help: '1 when this process streams the slot, 0 when it waits as standby',
      labelNames,
      registers: [registry],
    }),
    confirmedLsn: new prom.Gauge({
      name: 'relay_confirmed_lsn',
      help: 'Last WAL position confirmed to the slot (as a number)',
      labelNames,
      registers: [registry],
    }),
    pruned: new prom.Counter({
      name: 'relay_outbox_rows_pruned_total',
      help: 'Published outbox rows deleted by the retention policy',
      labelNames,
      registers: [registry],
    }),
  };
}

export type RelayMetrics = ReturnType<typeof createRelayMetrics>;
