// order.events → reserve, release or commit stock, one transaction per message.
import { assertNever, type OrderEvent } from '@shop/lib/events/catalog';
import { markProcessed } from '@shop/lib/messaging/inbox';
import type { Envelope, MessageHandler } from '@shop/lib/messaging/consumer';
import type { SqlDatabase } from '@shop/lib/db/sql';
import type { Tx } from '../db/client.ts';
import { commit, LostRaceError, release, reserve } from '../db/stock.ts';

const MAX_LOST_RACES = 100;

type Effect = (tx: Tx) => Promise<unknown>;

function effectOf(event: Envelope<OrderEvent>, orderId: string): Effect | undefined {
  switch (event.type) {
    case 'StockReservationRequested': // the catalog's schema checked the items on arrival
      return (tx) => reserve(tx, orderId, event.payload.items, event.id);
    case 'StockReleaseRequested':
      return (tx) => release(tx, orderId, event.id);
    case 'OrderCompleted':
      return (tx) => commit(tx, orderId, event.id);
    case 'OrderCreated':
    case 'PaymentRequested':
    case 'OrderCancelled':
    case 'PaymentCancellationRequested':
      return undefined;
    default:
      return assertNever(event);
  }
}

export function orderEventsHandler(db: SqlDatabase): MessageHandler<OrderEvent> {
  return async (event, meta, log) => {
    const { orderId } = event.payload;
    const effect = effectOf(event, orderId);
    if (!effect) return;
    // Lost optimistic races mean someone else made progress: retry here, they are not failures.
    for (let race = 1; ; race++) {
      try {
        const outcome = await db.transaction(async (tx) => {
          if (!(await markProcessed(tx, event, meta))) return 'duplicate' as const;
          return effect(tx);
        });
        if (outcome === 'duplicate') log.info('duplicate delivery skipped');
        else log.info({ result: (outcome as { type?: string } | undefined)?.type ?? 'nothing to do' }, 'stock updated');
        return;
      } catch (error) {
        if (!(error instanceof LostRaceError) || race >= MAX_LOST_RACES) throw error;
      }
    }
  };
}
