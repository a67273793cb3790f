// Replies from inventory and payment move the order through its state machine.
import { assertNever, type InventoryEvent, type PaymentEvent } from '@shop/lib/events/catalog';
import { markProcessed } from '@shop/lib/messaging/inbox';
import type { Envelope, MessageHandler } from '@shop/lib/messaging/consumer';
import { decide, type OrderMessage } from '../domain/order.ts';
import type { SqlDatabase } from '@shop/lib/db/sql';
import { applyDecision, lockOrder } from '../db/orders.ts';

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
  return async (event, meta, log) => {
    const meant = toOrderMessage(event);
    if (!meant) return;
    const { message, orderId } = meant;
    await db.transaction(async (tx) => {
      if (!(await markProcessed(tx, event, meta))) {
        log.info('duplicate delivery skipped');
        return;
      }
      const state = await lockOrder(tx, orderId);
      if (!state) {
        log.warn({ orderId }, 'event for an unknown order ignored');
        return;
      }
      const decision = decide(state, message);
      if (decision.outcome === 'ignored' || decision.outcome === 'rejected') {
        log.info({ status: state.status, why: decision.why }, 'message does not fit the order state; ignored');
        return;
      }
      await applyDecision(tx, state, decision, { eventId: event.id, type: event.type });
      log.info(
        { from: state.status, to: decision.outcome === 'changed' ? decision.status : state.status, events: decision.events.map((e) => e.type) },
        'order moved',
      );
    });
  };
}
