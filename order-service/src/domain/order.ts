// The order workflow as pure functions: decide(state, message) → { state, events }.
// No I/O here; the handlers load the state, call decide, and store the result in one transaction.
import type { CancelReason, InventoryEvent, OrderEvent, PricedLine } from '@shop/lib/events/catalog';
import { assertNever } from '@shop/lib/events/catalog';

export const ORDER_STATUSES = ['CREATED', 'PAYMENT_PENDING', 'COMPLETED', 'CANCELLED'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];
export const TERMINAL: ReadonlySet<OrderStatus> = new Set(['COMPLETED', 'CANCELLED']);
export const isTerminal = (status: OrderStatus): boolean => TERMINAL.has(status);

/** How long each step may take, and the whole order (ORDER_RESERVATION_DEADLINE_MS, ORDER_PAYMENT_DEADLINE_MS, ORDER_DEADLINE_MS). */
export interface Deadlines {
  reservationMs: number;
  paymentMs: number;
  overallMs: number;
}

/**
 * When an order that entered `status` at `enteredAt` is cancelled (TIMEOUT) if it has not moved
 * on: its step's deadline, never past the overall one. Undefined for a terminal order.
 */
export function stepDeadline(status: OrderStatus, placedAt: Date, enteredAt: Date, d: Deadlines): Date | undefined {
  const overall = placedAt.getTime() + d.overallMs;
  switch (status) {
    case 'CREATED':
      return new Date(Math.min(enteredAt.getTime() + d.reservationMs, overall));
    case 'PAYMENT_PENDING':
      return new Date(Math.min(enteredAt.getTime() + d.paymentMs, overall));
    case 'COMPLETED':
    case 'CANCELLED':
      return undefined;
    default:
      return assertNever(status);
  }
}

export interface OrderState {
  id: string;
  /** When it was placed (the overall deadline counts from here). */
  placedAt: Date;
  customerId: string;
  status: OrderStatus;
  cancelReason: CancelReason | null;
  currency: string;
  /** Unknown (null) until inventory prices the lines as it reserves them. */
  totalCents: number | null;
  /** The client's payment token, sealed (lib/src/payment-token.ts): only payment-service opens it. */
  sealedPaymentToken: string;
}

type StockRejectedReason = Extract<InventoryEvent, { type: 'StockRejected' }>['payload']['reason'];

/** What the order pays: the lines as inventory priced them when it reserved the stock. */
export interface Pricing {
  totalCents: number;
  lines: readonly PricedLine[];
}

/** What can move an order: replies from other services, the customer, the clock. */
export type OrderMessage =
  | ({ type: 'StockReserved' } & Pricing)
  | { type: 'StockRejected'; reason: StockRejectedReason }
  | { type: 'PaymentCaptured' }
  | { type: 'PaymentDeclined' }
  /** The customer, or an admin on their behalf (the order then says ADMIN_CANCELLED). */
  | { type: 'CancelOrder'; by: 'customer' | 'admin' }
  | { type: 'DeadlinePassed' };

export type Decision =
  | { outcome: 'changed'; status: OrderStatus; cancelReason: CancelReason | null; events: OrderEvent[]; pricing?: Pricing }
  /** Nothing changes, but a compensation is still owed (e.g. a capture after cancellation). */
  | { outcome: 'compensate'; events: OrderEvent[] }
  | { outcome: 'ignored'; why: string }
  | { outcome: 'rejected'; why: string };

/** A line as the customer placed it: `unitPriceCents` is the price they were shown, if the client sent it. */
export interface PlacedLine {
  sku: string;
  quantity: number;
  unitPriceCents?: number;
}

/** A new order: not priced yet (inventory prices it as it reserves the stock). */
export function placeOrder(input: {
  id: string;
  placedAt: Date;
  customerId: string;
  currency: string;
  sealedPaymentToken: string;
  items: readonly PlacedLine[];
}): {
  state: OrderState;
  events: OrderEvent[];
} {
  const state: OrderState = {
    id: input.id,
    placedAt: input.placedAt,
    customerId: input.customerId,
    status: 'CREATED',
    cancelReason: null,
    currency: input.currency,
    totalCents: null,
    sealedPaymentToken: input.sealedPaymentToken,
  };
  const items = input.items.map((i) => ({
    sku: i.sku,
    quantity: i.quantity,
    ...(i.unitPriceCents === undefined ? {} : { expectedUnitPriceCents: i.unitPriceCents }),
  }));
  return {
    state,
    // One event: it is also what asks inventory to reserve (and price) the lines.
    events: [{ type: 'OrderCreated', payload: { orderId: input.id, customerId: input.customerId, currency: input.currency, items } }],
  };
}

const cancelledBy = (by: 'customer' | 'admin'): CancelReason => (by === 'admin' ? 'ADMIN_CANCELLED' : 'CUSTOMER_CANCELLED');

/** Why inventory refused the stock, as the reason the order is cancelled for. */
export function cancelReasonOf(reason: StockRejectedReason): CancelReason {
  switch (reason) {
    case 'PRICE_CHANGED':
    case 'NOT_PRICED':
      return reason;
    case 'INSUFFICIENT_STOCK':
    case 'UNKNOWN_SKU':
    case 'ALREADY_RELEASED':
      return 'OUT_OF_STOCK';
    default:
      return assertNever(reason);
  }
}

export function decide(state: OrderState, message: OrderMessage): Decision {
  const { id: orderId, customerId } = state;
  const cancel = (reason: CancelReason, compensations: OrderEvent[]): Decision => ({
    outcome: 'changed',
    status: 'CANCELLED',
    cancelReason: reason,
    events: [...compensations, { type: 'OrderCancelled', payload: { orderId, customerId, reason } }],
  });
  const releaseStock: OrderEvent = { type: 'StockReleaseRequested', payload: { orderId } };
  const cancelPayment = (reason: CancelReason): OrderEvent => ({ type: 'PaymentCancellationRequested', payload: { orderId, reason } });

  switch (state.status) {
    case 'CREATED':
      switch (message.type) {
        case 'StockReserved':
          // The amount charged is what inventory priced the lines at when it reserved them.
          return {
            outcome: 'changed',
            status: 'PAYMENT_PENDING',
            cancelReason: null,
            pricing: { totalCents: message.totalCents, lines: message.lines },
            events: [
              {
                type: 'PaymentRequested',
                payload: { orderId, customerId, amountCents: message.totalCents, currency: state.currency, sealedPaymentToken: state.sealedPaymentToken },
              },
            ],
          };
        case 'StockRejected':
          return cancel(cancelReasonOf(message.reason), []);
        case 'CancelOrder':
          // The reservation may still be on its way: the release leaves a marker that refuses it.
          return cancel(cancelledBy(message.by), [releaseStock]);
        case 'DeadlinePassed':
          return cancel('TIMEOUT', [releaseStock]);
        case 'PaymentCaptured':
        case 'PaymentDeclined':
          return { outcome: 'ignored', why: `${message.type} before any payment was requested` };
        default:
          return assertNever(message);
      }
    case 'PAYMENT_PENDING':
      switch (message.type) {
        case 'PaymentCaptured':
          return {
            outcome: 'changed',
            status: 'COMPLETED',
            cancelReason: null,
            // Priced when the stock was reserved (a PAYMENT_PENDING order always is).
            events: [{ type: 'OrderCompleted', payload: { orderId, customerId, totalCents: state.totalCents ?? 0 } }],
          };
        case 'PaymentDeclined':
          return cancel('PAYMENT_DECLINED', [releaseStock]);
        case 'CancelOrder':
          return cancel(cancelledBy(message.by), [releaseStock, cancelPayment(cancelledBy(message.by))]);
        case 'DeadlinePassed':
          return cancel('TIMEOUT', [releaseStock, cancelPayment('TIMEOUT')]);
        case 'StockReserved':
        case 'StockRejected':
          return { outcome: 'ignored', why: `${message.type} after stock was already reserved` };
        default:
          return assertNever(message);
      }
    case 'COMPLETED':
      if (message.type === 'CancelOrder') return { outcome: 'rejected', why: 'order is already completed' };
      return { outcome: 'ignored', why: `${message.type} on a completed order` };
    case 'CANCELLED':
      if (message.type === 'CancelOrder') return { outcome: 'rejected', why: 'order is already cancelled' };
      // A capture that lands after cancellation must not stand: ask payment to refund it.
      if (message.type === 'PaymentCaptured') return { outcome: 'compensate', events: [cancelPayment(state.cancelReason ?? 'TIMEOUT')] };
      return { outcome: 'ignored', why: `${message.type} on a cancelled order` };
    default:
      return assertNever(state.status);
  }
}
