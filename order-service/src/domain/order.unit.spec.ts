import { describe, expect, it } from 'vitest';
import { decide, ORDER_STATUSES, placeOrder, stepDeadline, type Decision, type OrderMessage, type OrderState, type OrderStatus } from './order.ts';

const state = (status: OrderStatus): OrderState => ({
  id: '01a212f1-ece1-7620-ac90-27a284ff69ba',
  placedAt: new Date('2026-12-01T12:00:00Z'),
  customerId: 'c1',
  status,
  cancelReason: status === 'CANCELLED' ? 'PAYMENT_DECLINED' : null,
  currency: 'EUR',
  totalCents: status === 'CREATED' ? null : 1234,
  sealedPaymentToken: 'v1.sealed',
});

// One message of each type; inventory's reply prices the order.
const MESSAGES: Record<OrderMessage['type'], OrderMessage> = {
  StockReserved: { type: 'StockReserved', totalCents: 1234, lines: [{ sku: 'A', quantity: 2, unitPriceCents: 617 }] },
  StockRejected: { type: 'StockRejected', reason: 'INSUFFICIENT_STOCK' },
  PaymentCaptured: { type: 'PaymentCaptured' },
  PaymentDeclined: { type: 'PaymentDeclined' },
  CancelOrder: { type: 'CancelOrder', by: 'customer' },
  DeadlinePassed: { type: 'DeadlinePassed' },
};
const MESSAGE_TYPES = Object.keys(MESSAGES) as OrderMessage['type'][];

const summary = (d: Decision) =>
  d.outcome === 'changed'
    ? `${d.status}${d.cancelReason ? `(${d.cancelReason})` : ''} + ${d.events.map((e) => e.type).join(',')}`
    : d.outcome === 'compensate'
      ? `compensate + ${d.events.map((e) => e.type).join(',')}`
      : d.outcome;

// Every state × message pair, written out: a change to the workflow has to change this table.
const EXPECTED: Record<OrderStatus, Record<OrderMessage['type'], string>> = {
  CREATED: {
    StockReserved: 'PAYMENT_PENDING + PaymentRequested',
    StockRejected: 'CANCELLED(OUT_OF_STOCK) + OrderCancelled',
    PaymentCaptured: 'ignored',
    PaymentDeclined: 'ignored',
    CancelOrder: 'CANCELLED(CUSTOMER_CANCELLED) + StockReleaseRequested,OrderCancelled',
    DeadlinePassed: 'CANCELLED(TIMEOUT) + StockReleaseRequested,OrderCancelled',
  },
  PAYMENT_PENDING: {
    StockReserved: 'ignored',
    StockRejected: 'ignored',
    PaymentCaptured: 'COMPLETED + OrderCompleted',
    PaymentDeclined: 'CANCELLED(PAYMENT_DECLINED) + StockReleaseRequested,OrderCancelled',
    CancelOrder: 'CANCELLED(CUSTOMER_CANCELLED) + StockReleaseRequested,PaymentCancellationRequested,OrderCancelled',
    DeadlinePassed: 'CANCELLED(TIMEOUT) + StockReleaseRequested,PaymentCancellationRequested,OrderCancelled',
  },
  COMPLETED: {
    StockReserved: 'ignored',
    StockRejected: 'ignored',
    PaymentCaptured: 'ignored',
    PaymentDeclined: 'ignored',
    CancelOrder: 'rejected',
    DeadlinePassed: 'ignored',
  },
  CANCELLED: {
    StockReserved: 'ignored',
    StockRejected: 'ignored',
    PaymentCaptured: 'compensate + PaymentCancellationRequested',
    PaymentDeclined: 'ignored',
    CancelOrder: 'rejected',
    DeadlinePassed: 'ignored',
  },
};

describe('order state machine', () => {
  for (const status of ORDER_STATUSES) {
    for (const type of MESSAGE_TYPES) {
      it(`${status} × ${type} → ${EXPECTED[status][type]}`, () => {
        expect(summary(decide(state(status), MESSAGES[type]))).toBe(EXPECTED[status][type]);
      });
    }
  }

  it('asks for payment of what inventory priced the order at, with its sealed token, keyed by the order', () => {
    const d = decide(state('CREATED'), { type: 'StockReserved', totalCents: 999, lines: [{ sku: 'A', quantity: 1, unitPriceCents: 999 }] });
    expect(d).toMatchObject({
      pricing: { totalCents: 999 },
      events: [{ type: 'PaymentRequested', payload: { orderId: state('CREATED').id, amountCents: 999, currency: 'EUR', sealedPaymentToken: 'v1.sealed' } }],
    });
  });

  it('cancels for the reason inventory refused: stock, a changed price, no price', () => {
    const reasons = (['INSUFFICIENT_STOCK', 'UNKNOWN_SKU', 'ALREADY_RELEASED', 'PRICE_CHANGED', 'NOT_PRICED'] as const).map((reason) =>
      summary(decide(state('CREATED'), { type: 'StockRejected', reason })),
    );
    expect(reasons).toEqual([
      'CANCELLED(OUT_OF_STOCK) + OrderCancelled',
      'CANCELLED(OUT_OF_STOCK) + OrderCancelled',
      'CANCELLED(OUT_OF_STOCK) + OrderCancelled',
      'CANCELLED(PRICE_CHANGED) + OrderCancelled',
      'CANCELLED(NOT_PRICED) + OrderCancelled',
    ]);
  });

  it('places an order unpriced: one OrderCreated with every line and the prices the client saw, which is also the reservation request', () => {
    const { state: s, events } = placeOrder({
      id: 'o1',
      placedAt: new Date(),
      customerId: 'c',
      currency: 'EUR',
      sealedPaymentToken: 'v1.sealed',
      items: [
        { sku: 'B', quantity: 2, unitPriceCents: 100 },
        { sku: 'A', quantity: 1 },
      ],
    });
    expect(s).toMatchObject({ status: 'CREATED', totalCents: null });
    expect(events).toEqual([
      {
        type: 'OrderCreated',
        payload: {
          orderId: 'o1',
          customerId: 'c',
          currency: 'EUR',
          items: [
            { sku: 'B', quantity: 2, expectedUnitPriceCents: 100 },
            { sku: 'A', quantity: 1 },
          ],
        },
      },
    ]);
  });

  it('gives each step its own deadline, never past the overall one', () => {
    const d = { reservationMs: 30_000, paymentMs: 60_000, overallMs: 120_000 };
    const placed = new Date('2026-12-01T12:00:00Z');
    const at = (s: number) => new Date(placed.getTime() + s * 1000);
    expect(stepDeadline('CREATED', placed, placed, d)).toEqual(at(30));
    expect(stepDeadline('PAYMENT_PENDING', placed, at(10), d)).toEqual(at(70));
    // reserved late: the overall deadline is the nearer one
    expect(stepDeadline('PAYMENT_PENDING', placed, at(100), d)).toEqual(at(120));
    expect(stepDeadline('CREATED', placed, placed, { ...d, overallMs: 10_000 })).toEqual(at(10));
    expect([stepDeadline('COMPLETED', placed, at(5), d), stepDeadline('CANCELLED', placed, at(5), d)]).toEqual([undefined, undefined]);
  });
});
