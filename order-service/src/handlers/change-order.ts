// The one way an order changes after it is placed, whatever asks for it (a reply from
// inventory or payment, the customer's cancel, the deadline sweeper): lock the row, decide
// (pure, domain/order.ts), store the new status and its history. The events the decision
// produced are returned for the caller to append: the consumer runner does it for replies.
import type { OrderEvent } from '@shop/lib/events/catalog';
import { decide, type OrderMessage, type OrderStatus } from '../domain/order.ts';
import { lockOrder, storeDecision, type Cause } from '../db/orders.ts';
import type { Tx } from '@shop/lib/db/prisma';

export type Change =
  | { outcome: 'missing' }
  | { outcome: 'ignored' | 'rejected'; status: OrderStatus; why: string }
  | { outcome: 'changed'; from: OrderStatus; to: OrderStatus; events: OrderEvent[] }
  /** Nothing changes, but a compensation is still owed (e.g. a capture after cancellation). */
  | { outcome: 'compensate'; from: OrderStatus; to: OrderStatus; events: OrderEvent[] };

export async function changeOrder(tx: Tx, orderId: string, message: OrderMessage, cause: Cause): Promise<Change> {
  const state = await lockOrder(tx, orderId);
  if (!state) return { outcome: 'missing' };
  const decision = decide(state, message);
  if (decision.outcome === 'ignored' || decision.outcome === 'rejected') return { outcome: decision.outcome, status: state.status, why: decision.why };
  await storeDecision(tx, state, decision, cause);
  return decision.outcome === 'changed'
    ? { outcome: 'changed', from: state.status, to: decision.status, events: decision.events }
    : { outcome: 'compensate', from: state.status, to: state.status, events: decision.events };
}
