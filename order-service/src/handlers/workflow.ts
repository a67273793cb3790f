// Replies from inventory and payment move the order through its state machine.
import { assertNever, type InventoryEvent, type PaymentEvent } from '@shop/lib/events/catalog';
import { transactional } from '@shop/lib/messaging/transactional';
import type { Envelope, MessageHandler } from '@shop/lib/messaging/consumer';
import type { OrderMessage } from '../domain/order.ts';
import type { SqlDatabase } from '@shop/lib/db/sql';
import { changeOrder } from './change-order.ts';

/** What order-service consumes: the replies of inventory and payment. */
type Reply = InventoryEvent | PaymentEvent;

/** The message an event means for an order, and that order; undefined when no order cares. */
export function toOrderMessage(event: Envelope<Reply>): { message: OrderMessage; orderId: string } | undefined {
  switch (event.type) {
    case 'StockReserved':
    case 'StockRejected':
    case 'PaymentCaptured':
    case 'PaymentDeclined':
      return { message: { type: event.type }, orderId: event.payload.orderId };
    case 'StockReleased':
    case 'StockCommitted':
    case 'StockLevelSet':
    case 'StockAdjusted':
    case 'PaymentRefunded':
    case 'PaymentVoided':
      return undefined;
    default:
      return assertNever(event);
  }
}

export function workflowHandler(db: SqlDatabase): MessageHandler<Reply> {
  return transactional<Reply>(db, (event, log) => {
    const meant = toOrderMessage(event);
    if (!meant) return undefined;
    return async (tx) => {
      const change = await changeOrder(tx, meant.orderId, meant.message, { eventId: event.id, type: event.type });
      switch (change.outcome) {
        case 'missing':
          log.warn({ orderId: meant.orderId }, 'event for an unknown order ignored');
          return undefined;
        case 'ignored':
        case 'rejected':
          return { summary: `message does not fit the order state (${change.status}: ${change.why}); ignored` };
        case 'changed':
        case 'compensate':
          return { events: change.events, summary: `order moved ${change.from} → ${change.to}` };
        default:
          return assertNever(change);
      }
    };
  });
}
