import { describe, expect, it } from 'vitest';
import type { OrderState } from '../domain/order.ts';
import { applyMessage, type OrderBook } from './change-order.ts';

const order = (id: string): OrderState => ({
  id,
  placedAt: new Date('2026-12-01T12:00:00Z'),
  customerId: 'c',
  status: 'CREATED',
  cancelReason: null,
  currency: 'EUR',
  totalCents: null,
  sealedPaymentToken: 'v1.sealed',
});
const reserved = { type: 'StockReserved', totalCents: 500, lines: [{ sku: 'A', quantity: 1, unitPriceCents: 500 }] } as const;
const cause = (type: string) => ({ eventId: null, type });

describe('a batch of replies decided over one order book', () => {
  it('lets a later reply of the same order see the earlier one, and records every change in order', () => {
    const book: OrderBook = {
      orders: new Map([
        ['o1', order('o1')],
        ['o2', order('o2')],
      ]),
      changes: [],
      stored: [],
      now: new Date('2026-12-01T12:00:10Z'),
      deadlines: { reservationMs: 30_000, paymentMs: 60_000, overallMs: 120_000 },
    };
    const changes = [
      applyMessage(book, 'o1', reserved, cause('StockReserved')),
      applyMessage(book, 'o2', { type: 'StockRejected', reason: 'INSUFFICIENT_STOCK' }, cause('StockRejected')),
      applyMessage(book, 'o1', reserved, cause('StockReserved')), // a second copy: already past it
      applyMessage(book, 'o1', { type: 'PaymentCaptured' }, cause('PaymentCaptured')),
      applyMessage(book, 'o2', { type: 'PaymentCaptured' }, cause('PaymentCaptured')), // after cancellation: refund owed
      applyMessage(book, 'o3', reserved, cause('StockReserved')),
    ];
    expect(changes.map((c) => c.outcome)).toEqual(['changed', 'changed', 'ignored', 'changed', 'compensate', 'missing']);
    expect(changes.flatMap((c) => ('events' in c ? c.events.map((e) => e.type) : []))).toEqual([
      'PaymentRequested',
      'OrderCancelled',
      'OrderCompleted',
      'PaymentCancellationRequested',
    ]);
    expect(book.changes.map((c) => `${c.orderId} ${c.status}`)).toEqual(['o1 PAYMENT_PENDING', 'o2 CANCELLED', 'o1 COMPLETED']);
    expect(book.orders.get('o1')).toMatchObject({ status: 'COMPLETED', totalCents: 500 });
    // The reservation's pricing is stored with its change; the completion that follows carries the total.
    expect(book.changes[0].pricing).toEqual({ totalCents: 500, lines: reserved.lines });
    expect(changes[3]).toMatchObject({ events: [{ type: 'OrderCompleted', payload: { totalCents: 500 } }] });
    // Entering PAYMENT_PENDING (at the batch's clock) starts the payment step's deadline.
    expect(book.changes[0].deadlineAt).toEqual(new Date('2026-12-01T12:01:10Z'));
    expect(book.changes[2].deadlineAt).toBeUndefined();
    expect(book.orders.get('o2')).toMatchObject({ status: 'CANCELLED', cancelReason: 'OUT_OF_STOCK' });
  });
});
