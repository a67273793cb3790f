// Replies from inventory and payment move orders through their state machine, a fetched batch
// at a time: every order the batch names locked in one statement, each reply decided over the
// state so far, the changes stored in one statement (change-order.ts).
import { assertNever, type InventoryEvent, type PaymentEvent } from '@shop/lib/events/catalog';
import { batchDecider, type Outcome } from '@shop/lib/messaging/transactional';
import type { Envelope, MessageHandler } from '@shop/lib/messaging/consumer';
import type { Logger } from '@shop/lib/logger';
import type { Deadlines, OrderMessage } from '../domain/order.ts';
import type { SqlDatabase } from '@shop/lib/db/sql';
import { applyMessage, closeBook, openBook, type OrderBook } from './change-order.ts';
import type { StatusFeed } from './status-feed.ts';

/** What order-service consumes: the replies of inventory and payment. */
type Reply = InventoryEvent | PaymentEvent;

/** The message an event means for an order, and that order; undefined when no order cares. */
export function toOrderMessage(event: Envelope<Reply>): { message: OrderMessage; orderId: string } | undefined {
  switch (event.type) {
    case 'StockReserved':
      return { message: { type: 'StockReserved', totalCents: event.payload.totalCents, lines: event.payload.lines }, orderId: event.payload.orderId };
    case 'StockRejected':
      return { message: { type: 'StockRejected', reason: event.payload.reason }, orderId: event.payload.orderId };
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

function apply(book: OrderBook, event: Envelope<Reply>, log: Logger): Outcome {
  const meant = toOrderMessage(event)!;
  const change = applyMessage(book, meant.orderId, meant.message, { eventId: event.id, type: event.type });
  switch (change.outcome) {
    case 'missing':
      log.warn({ orderId: meant.orderId }, 'event for an unknown order ignored');
      return {};
    case 'ignored':
    case 'rejected':
      return { summary: `message does not fit the order state (${change.status}: ${change.why}); ignored` };
    case 'changed':
    case 'compensate':
      return { events: change.events, summary: `order moved ${change.from} → ${change.to}` };
    default:
      return assertNever(change);
  }
}

export function workflowHandler(db: SqlDatabase, deadlines: Deadlines, feed: StatusFeed): MessageHandler<Reply> {
  return batchDecider<Reply, OrderBook>(db, {
    handles: (event) => toOrderMessage(event) !== undefined,
    load: (tx, events) =>
      openBook(
        tx,
        events.map((e) => toOrderMessage(e)!.orderId),
        deadlines,
      ),
    apply,
    store: closeBook,
    committed: (book) => feed.committed(book.stored),
  });
}
