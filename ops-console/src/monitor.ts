// Samples what the operations page shows: slot lag and event age (the relay's /lag), publish
// rate (the relay's /metrics), consumer-group lag (Kafka admin), component health (each
// process' /readyz), and keeps the last 15 minutes as a time series. Everything it knows of the
// relay comes over HTTP, so the relay stays a component that knows no service.
import type { Admin } from 'kafkajs';
import { SERVICES } from '@shop/lib/manifest';
import { TOPICS } from '@shop/lib/events/catalog';
import { repeatEvery } from '@shop/lib/repeat';
import { withTimeout } from '@shop/lib/timeout';

/** One replication slot as the relay's GET /lag reports it. */
export interface SlotReport {
  database: string;
  slot: string;
  state: string;
  lagBytes: number | null;
  oldestUnpublishedAgeMs: number;
  pendingMessages: number;
  lastError?: string;
}

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

// Each service's consumer group (its name) and what it reads, from the manifest.
const GROUPS: Record<string, string[]> = Object.fromEntries(SERVICES.map((s) => [s.name, s.consumes.map((c) => TOPICS[c])]));
const RELAY_TIMEOUT_MS = 1_500;
const WINDOW_MS = 15 * 60_000;
/** events/s is averaged over this long. */
const RATE_WINDOW_MS = 5_000;

export class DashboardMonitor {
  readonly samples: Sample[] = [];
  consumerLag: ConsumerLag[] = [];
  health: Health[] = [];
  kafkaUp = false;
  relayUp = false;
  private latestSlots: SlotReport[] = [];
  /** Readings of the relay's published counter over the last RATE_WINDOW_MS. */
  private published: { t: number; total: number }[] = [];

  private readonly relayUrl: string;
  private readonly admin: Admin;
  private readonly serviceUrls: Record<string, string>;

  constructor(relayUrl: string, admin: Admin, serviceUrls: Record<string, string>) {
    this.relayUrl = relayUrl;
    this.admin = admin;
    this.serviceUrls = serviceUrls;
  }

  start(intervalMs: number): void {
    this.stop = repeatEvery(intervalMs, () => this.sample());
  }

  stop: () => void = () => undefined;

  slots(): SlotReport[] {
    return this.latestSlots;
  }

  /** The relay's slots and its count of published events; undefined while it does not answer. */
  private async readRelay(): Promise<{ slots: SlotReport[]; published: number } | undefined> {
    try {
      const signal = AbortSignal.timeout(RELAY_TIMEOUT_MS);
      const [lag, metrics] = await Promise.all([
        fetch(`${this.relayUrl}/lag`, { signal }).then(async (r) => (await r.json()) as { slots: SlotReport[] }),
        fetch(`${this.relayUrl}/metrics`, { signal }).then((r) => r.text()),
      ]);
      const published = [...metrics.matchAll(/^relay_events_published_total\{[^}]*\} (\d+(?:\.\d+)?)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
      return { slots: lag.slots, published };
    } catch {
      return undefined;
    }
  }

  private async sample(): Promise<void> {
    const now = Date.now();
    const relay = await this.readRelay();
    this.relayUp = relay !== undefined;
    const slots = relay?.slots ?? [];
    this.latestSlots = slots;
    // The rate over the last few seconds, so a burst shorter than one poll still shows. A relay
    // restart sets its counter back to 0: no negative rate, start over from there.
    const published = relay?.published ?? this.published.at(-1)?.total ?? 0;
    if (published < (this.published.at(-1)?.total ?? 0)) this.published = [];
    this.published.push({ t: now, total: published });
    while (this.published.length > 1 && this.published[0].t < now - RATE_WINDOW_MS) this.published.shift();
    const first = this.published[0];
    const rate = this.published.length > 1 ? ((published - first.total) * 1000) / Math.max(1, now - first.t) : 0;
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
      ...(this.relayUp ? [] : [{ name: 'outbox-relay', ok: false, detail: 'unreachable' }]),
      ...slots.map((s) => ({
        name: `relay ${s.slot}`,
        ok: s.state === 'active' || s.state === 'standby',
        detail: s.state + (s.lastError ? `: ${s.lastError}` : ''),
      })),
      ...services,
    ];
  }
}
