// Cancels orders that are not terminal by their deadline (TIMEOUT) and asks for compensation.
// Safe with several instances: each batch is claimed with FOR UPDATE SKIP LOCKED.
import type { Logger } from '@shop/lib/logger';
import { decide } from '../domain/order.ts';
import type { Db } from '../db/client.ts';
import { applyDecision, lockOrder, lockOverdue } from '../db/orders.ts';

export function startDeadlineSweeper(prisma: Db, logger: Logger, intervalMs: number): () => Promise<void> {
  let running: Promise<void> | undefined;
  let stopped = false;
  const sweep = async () => {
    const cancelled = await prisma.$transaction(async (tx) => {
      const ids = await lockOverdue(tx, 100);
      for (const id of ids) {
        const state = (await lockOrder(tx, id))!;
        await applyDecision(tx, state, decide(state, { type: 'DeadlinePassed' }), { eventId: null, type: 'DeadlinePassed' });
      }
      return ids;
    });
    for (const id of cancelled) logger.info({ correlationId: id }, 'order cancelled: deadline passed');
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
