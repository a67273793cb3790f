import { describe, expect, it } from 'vitest';
import type { OrderEvent } from '@shop/lib/events/catalog';
import { noticeOf } from './message.ts';

const orderId = '01900000-0000-7000-8000-000000000001';

describe('noticeOf', () => {
  it('tells the customer of each terminal status, with the amount or the reason', () => {
    expect(noticeOf({ type: 'OrderCompleted', payload: { orderId, customerId: 'c', totalCents: 1250 } })).toEqual({
      orderId,
      customerId: 'c',
      status: 'COMPLETED',
      message: `Your order ${orderId} is confirmed (12.50).`,
    });
    expect(noticeOf({ type: 'OrderCancelled', payload: { orderId, customerId: 'c', reason: 'OUT_OF_STOCK' } })).toEqual({
      orderId,
      customerId: 'c',
      status: 'CANCELLED',
      message: `Your order ${orderId} was cancelled: an item is out of stock.`,
    });
  });

  it('tells nothing of the steps in between', () => {
    const between: OrderEvent[] = [
      { type: 'OrderCreated', payload: { orderId, customerId: 'c', currency: 'EUR', items: [{ sku: 's', quantity: 1 }] } },
      { type: 'PaymentRequested', payload: { orderId, customerId: 'c', amountCents: 1, currency: 'EUR', sealedPaymentToken: 'v1.x.y.z' } },
      { type: 'StockReleaseRequested', payload: { orderId } },
      { type: 'PaymentCancellationRequested', payload: { orderId, reason: 'TIMEOUT' } },
    ];
    for (const event of between) expect(noticeOf(event)).toBeUndefined();
  });
});
