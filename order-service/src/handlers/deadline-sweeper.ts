// Cancels orders that are not terminal by their deadline (TIMEOUT) and asks for compensation.
// Safe with several instances: each batch is claimed with FOR UPDATE SKIP LOCKED.
import type { Logger } from '@shop/lib/logger';
import type { SqlDatabase } from '@shop/lib/db/sql';
import { appendOrderEvents, lockOverdue, type StoredStatus } from '../db/orders.ts';
import type { StatusFeed } from './status-feed.ts';
import { changeOrder } from './change-order.ts';
import type { Deadlines } from '../domain/order.ts';

const BATCH = 100;
const MAX_BATCHES_PER_SWEEP = 50;

export function startDeadlineSweeper(db: SqlDatabase, logger: Logger, intervalMs: number, deadlines: Deadlines, feed: StatusFeed): () => Promise<void> {
  let running: Promise<void> | undefined;
  let stopped = false;
  const sweepBatch = async (): Promise<number> => {
    const stored: StoredStatus[] = [];
    const cancelled = await db.transaction(async (tx) => {
      stored.length = 0;
      const ids = await lockOverdue(tx, BATCH);
      for (const id of ids) {
        const { change, stored: one } = await changeOrder(tx, id, { type: 'DeadlinePassed' }, { eventId: null, type: 'DeadlinePassed' }, deadlines);
        stored.push(...one);
        if (change.outcome === 'changed' || change.outcome === 'compensate') await appendOrderEvents(tx, id, change.events, null);
      }
      return ids;
    });
    await feed.committed(stored);
    for (const id of cancelled) logger.info({ correlationId: id }, 'order cancelled: deadline passed');
    return cancelled.length;
  };
  // After an outage thousands of orders can be overdue at once: keep taking full batches (short
  // transactions) until the backlog is gone, instead of one batch per interval.
  const sweep = async () => {
    for (let batches = 0; batches < MAX_BATCHES_PER_SWEEP && !stopped; batches++) {
      if ((await sweepBatch()) < BATCH) return;
    }
  };
  const timer = setInterval(() => {
    if (running || stopped) return;
    running = sweep()
      .catch((error) => logger.warn({ err: (error as Error).message }, 'deadline sweep failed'))
      .finally(() => (running = undefined));
  }, intervalMs);
  return async () => {
    stopped = true;
    clearInterval(timer);
    await running;
  };
}
