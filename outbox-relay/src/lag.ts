import pg from 'pg';
import { repeatEvery } from '@shop/lib/repeat';
import type { RelayMetrics } from './metrics.ts';
import type { OutboxStream } from './replication/stream.ts';
import { readLag } from './replication/slot.ts';

export interface SlotReport {
  database: string;
  slot: string;
  state: string;
  lagBytes: number | null;
  oldestUnpublishedAgeMs: number;
  pendingMessages: number;
  confirmedFlushLsn: string | null;
  restartLsn: string | null;
  lastError?: string;
}

/** Polls each slot's lag from Postgres and keeps the latest figures for /lag and /metrics. */
export class LagMonitor {
  private latest = new Map<string, SlotReport>();

  private readonly streams: OutboxStream[];
  private readonly pools: Map<string, pg.Pool>;
  private readonly metrics: RelayMetrics;

  constructor(streams: OutboxStream[], pools: Map<string, pg.Pool>, metrics: RelayMetrics) {
    this.streams = streams;
    this.pools = pools;
    this.metrics = metrics;
  }

  start(intervalMs: number): void {
    this.stop = repeatEvery(intervalMs, () => this.poll());
  }

  stop: () => void = () => undefined;

  async poll(): Promise<SlotReport[]> {
    const now = Date.now();
    await Promise.all(
      this.streams.map(async (stream) => {
        const labels = { slot: stream.source.slotName, database: stream.source.name };
        const oldest = stream.oldestPendingCommitTimeMs;
        const age = oldest === undefined ? 0 : Math.max(0, now - oldest);
        let lag: Awaited<ReturnType<typeof readLag>>;
        try {
          lag = await readLag(this.pools.get(stream.source.name)!, stream.source.slotName);
        } catch {
          lag = undefined;
        }
        if (lag) this.metrics.lagBytes.set(labels, lag.lagBytes);
        this.metrics.oldestUnpublishedAgeMs.set(labels, age);
        this.metrics.pending.set(labels, stream.pendingMessages);
        this.latest.set(stream.source.name, {
          database: stream.source.name,
          slot: stream.source.slotName,
          state: stream.state,
          lagBytes: lag?.lagBytes ?? null,
          oldestUnpublishedAgeMs: age,
          pendingMessages: stream.pendingMessages,
          confirmedFlushLsn: lag?.confirmedFlushLsn ?? null,
          restartLsn: lag?.restartLsn ?? null,
          lastError: stream.lastError,
        });
      }),
    );
    return this.report();
  }

  report(): SlotReport[] {
    return this.streams.map((s) => this.latest.get(s.source.name)).filter((r): r is SlotReport => r !== undefined);
  }
}
