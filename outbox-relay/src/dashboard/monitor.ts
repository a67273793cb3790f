// Samples what the operations page shows: slot lag and event age (from the relay's own
// streams), publish rate, consumer-group lag (Kafka admin), component health, and keeps the
// last 15 minutes as a time series.
import type { Admin } from 'kafkajs';
import { withTimeout } from '@shop/lib/timeout';
import type { LagMonitor, SlotReport } from '../lag.ts';
import type { RelayMetrics } from '../metrics.ts';

export interface Sample {
  t: number;
  lagBytes: Record<string, number>;
  oldestAgeMs: Record<string, number>;
  eventsPerSecond: number;
}

export interface ConsumerLag {
  group: string;
  topic: string;
  lag: number;
}

export interface Health {
  name: string;
  ok: boolean;
  detail: string;
}

const GROUPS: Record<string, string[]> = {
  'order-service': ['inventory.events', 'payment.events'],
  'inventory-service': ['order.events'],
  'payment-service': ['order.events'],
  'notification-service': ['order.events'],
};
const WINDOW_MS = 15 * 60_000;

export class DashboardMonitor {
  readonly samples: Sample[] = [];
  consumerLag: ConsumerLag[] = [];
  health: Health[] = [];
  kafkaUp = false;
  private lastPublished?: { t: number; total: number };
  private timer?: NodeJS.Timeout;

  private readonly lag: LagMonitor;
  private readonly metrics: RelayMetrics;
  private readonly admin: Admin;
  private readonly serviceUrls: Record<string, string>;

  constructor(lag: LagMonitor, metrics: RelayMetrics, admin: Admin, serviceUrls: Record<string, string>) {
    this.lag = lag;
    this.metrics = metrics;
    this.admin = admin;
    this.serviceUrls = serviceUrls;
  }

  start(intervalMs: number): void {
    const tick = () => void this.sample().finally(() => (this.timer = setTimeout(tick, intervalMs)));
    tick();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  slots(): SlotReport[] {
    return this.lag.report();
  }

  private async sample(): Promise<void> {
    const now = Date.now();
    const slots = this.lag.report();
    const published = (await this.metrics.published.get()).values.reduce((s, v) => s + v.value, 0);
    const rate = this.lastPublished ? ((published - this.lastPublished.total) * 1000) / Math.max(1, now - this.lastPublished.t) : 0;
    this.lastPublished = { t: now, total: published };
    this.samples.push({
      t: now,
      lagBytes: Object.fromEntries(slots.map((s) => [s.database, s.lagBytes ?? 0])),
      oldestAgeMs: Object.fromEntries(slots.map((s) => [s.database, s.oldestUnpublishedAgeMs])),
      eventsPerSecond: Math.round(rate * 10) / 10,
    });
    while (this.samples.length > 0 && this.samples[0].t < now - WINDOW_MS) this.samples.shift();
    await Promise.all([this.sampleKafka(), this.sampleHealth(slots)]);
  }

  private async sampleKafka(): Promise<void> {
    try {
      const rows: ConsumerLag[] = [];
      for (const [group, topics] of Object.entries(GROUPS)) {
        for (const topic of topics) {
          const ends = await withTimeout(this.admin.fetchTopicOffsets(topic), 2_000);
          const [committed] = await withTimeout(this.admin.fetchOffsets({ groupId: group, topics: [topic] }), 2_000);
          const lag = ends.reduce((sum, end) => {
            const c = Number(committed.partitions.find((p) => p.partition === end.partition)?.offset ?? '-1');
            return sum + Math.max(0, Number(end.offset) - Math.max(c, Number(end.low)));
          }, 0);
          rows.push({ group, topic, lag });
        }
      }
      this.consumerLag = rows;
      this.kafkaUp = true;
    } catch {
      this.kafkaUp = false;
    }
  }

  private async sampleHealth(slots: SlotReport[]): Promise<void> {
    const services = await Promise.all(
      Object.entries(this.serviceUrls).map(async ([name, url]): Promise<Health> => {
        try {
          const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1_500) });
          const body = (await res.json()) as { checks?: Record<string, { ok: boolean }> };
          const failing = Object.entries(body.checks ?? {})
            .filter(([, c]) => !c.ok)
            .map(([n]) => n);
          return { name, ok: res.status === 200, detail: res.status === 200 ? 'ready' : `not ready: ${failing.join(', ')}` };
        } catch (error) {
          return { name, ok: false, detail: `unreachable (${(error as Error).message})` };
        }
      }),
    );
    this.health = [
      { name: 'kafka', ok: this.kafkaUp, detail: this.kafkaUp ? 'reachable' : 'unreachable' },
      ...slots.map((s) => ({
        name: `relay ${s.slot}`,
        ok: s.state === 'active' || s.state === 'standby',
        detail: s.state + (s.lastError ? `: ${s.lastError}` : ''),
      })),
      ...services,
    ];
  }
}
