// The one way an order changes after it is placed, whatever asks for it (replies from inventory
// and payment, a batch at a time; the customer's cancel; the deadline sweeper): lock the rows,
// decide each message (pure, domain/order.ts) over the state so far, store the new statuses and
// their history in one statement. The events the decisions produced are returned for the caller
// to append: the consumer runner does it for replies.
import { assertNever, type OrderEvent } from '@shop/lib/events/catalog';
import { decide, stepDeadline, type Deadlines, type OrderMessage, type OrderState, type OrderStatus } from '../domain/order.ts';
import { lockOrders, storeChanges, type Cause, type StatusChange, type StoredStatus } from '../db/orders.ts';
import type { Tx } from '@shop/lib/db/prisma';

export type Change =
  | { outcome: 'missing' }
  | { outcome: 'ignored' | 'rejected'; status: OrderStatus; why: string }
  | { outcome: 'changed'; from: OrderStatus; to: OrderStatus; events: OrderEvent[] }
  /** Nothing changes, but a compensation is still owed (e.g. a capture after cancellation). */
  | { outcome: 'compensate'; from: OrderStatus; to: OrderStatus; events: OrderEvent[] };

/** The locked orders of a batch, as its messages have changed them so far, and those changes. */
export interface OrderBook {
  orders: Map<string, OrderState>;
  changes: StatusChange[];
  /** The clock of the batch: a step entered now gets its deadline from here. */
  now: Date;
  deadlines: Deadlines;
  /** Once stored: each changed order's new status and version (announced after the commit). */
  stored: StoredStatus[];
}

export const openBook = async (tx: Tx, orderIds: string[], deadlines: Deadlines): Promise<OrderBook> => ({
  orders: await lockOrders(tx, orderIds),
  changes: [],
  now: new Date(),
  deadlines,
  stored: [],
});

export const closeBook = async (tx: Tx, book: OrderBook): Promise<void> => {
  book.stored = await storeChanges(tx, book.changes);
};

/** No I/O: decides one message for one order and records the change, so the next message of that order sees it. */
export function applyMessage(book: OrderBook, orderId: string, message: OrderMessage, cause: Cause): Change {
  const state = book.orders.get(orderId);
  if (!state) return { outcome: 'missing' };
  const decision = decide(state, message);
  switch (decision.outcome) {
    case 'ignored':
    case 'rejected':
      return { outcome: decision.outcome, status: state.status, why: decision.why };
    case 'compensate':
      return { outcome: 'compensate', from: state.status, to: state.status, events: decision.events };
    case 'changed':
      book.orders.set(orderId, {
        ...state,
        status: decision.status,
        cancelReason: decision.cancelReason,
        totalCents: decision.pricing?.totalCents ?? state.totalCents,
      });
      book.changes.push({
        orderId,
        status: decision.status,
        cancelReason: decision.cancelReason,
        pricing: decision.pricing,
        deadlineAt: stepDeadline(decision.status, state.placedAt, book.now, book.deadlines),
        cause,
      });
      return { outcome: 'changed', from: state.status, to: decision.status, events: decision.events };
    default:
      return assertNever(decision);
  }
}

/** One message for one order, in the caller's transaction; `stored` is what to announce once it commits. */
export async function changeOrder(
  tx: Tx,
  orderId: string,
  message: OrderMessage,
  cause: Cause,
  deadlines: Deadlines,
): Promise<{ change: Change; stored: StoredStatus[] }> {
  const book = await openBook(tx, [orderId], deadlines);
  const change = applyMessage(book, orderId, message, cause);
  await closeBook(tx, book);
  return { change, stored: book.stored };
}
