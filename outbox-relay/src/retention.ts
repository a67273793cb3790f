import pg from 'pg';
import { repeatEvery } from '@shop/lib/repeat';
import type { Logger } from '@shop/lib/logger';
import type { RelayConfig } from './config.ts';
import type { RelayMetrics } from './metrics.ts';
import type { OutboxStream } from './replication/stream.ts';

/**
 * Outbox retention: the WAL carries every insert, so the rows themselves are only needed for
 * audits and replays. Default policy: delete rows older than OUTBOX_RETENTION_MS, and only while
 * this process is the active streamer of that database (a standby leaves the table alone).
 * The other policy (delete in the same transaction as the insert) lives in lib/outbox.
 */
export function startRetention(config: RelayConfig, streams: OutboxStream[], pools: Map<string, pg.Pool>, metrics: RelayMetrics, logger: Logger): () => void {
  if (config.retentionMs <= 0) return () => undefined;
  // repeatEvery, not setInterval: a pass slower than the interval delays the next one instead of
  // stacking another DELETE of the same rows on it.
  return repeatEvery(config.retentionIntervalMs, async () => {
    for (const stream of streams) {
      if (stream.state !== 'active') continue;
      const pool = pools.get(stream.source.name)!;
      try {
        const res = await pool.query('DELETE FROM outbox WHERE created_at < now() - make_interval(secs => $1)', [config.retentionMs / 1000]);
        if (res.rowCount) {
          metrics.pruned.inc({ slot: stream.source.slotName, database: stream.source.name }, res.rowCount);
          logger.info({ database: stream.source.name, deleted: res.rowCount }, 'outbox rows pruned');
        }
      } catch (error) {
        logger.warn({ database: stream.source.name, err: (error as Error).message }, 'outbox pruning failed');
      }
    }
  });
}
