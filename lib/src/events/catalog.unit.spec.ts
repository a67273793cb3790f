import { describe, expect, it } from 'vitest';
import { EVENTS, payloadProblem, TOPICS, topicOf } from './catalog.ts';

const orderId = '01a230eb-1ba9-780b-9b42-a168ec930607';

describe('event catalog', () => {
  it('routes each event type to the topic of its aggregate', () => {
    for (const [type, spec] of Object.entries(EVENTS))
      expect({ type, topic: topicOf(type as keyof typeof EVENTS) }).toEqual({ type, topic: TOPICS[spec.aggregateType] });
  });

  it('accepts a valid payload, and one with a field it does not name', () => {
    expect(
      payloadProblem('OrderCreated', {
        orderId,
        customerId: 'c',
        currency: 'EUR',
        totalCents: 200,
        items: [{ sku: 'A', quantity: 2, expectedUnitPriceCents: 100 }],
      }),
    ).toBeUndefined();
    expect(payloadProblem('StockReleaseRequested', { orderId, requestedBy: 'someone' })).toBeUndefined();
  });

  it('names the first field that is missing or of the wrong type', () => {
    expect(payloadProblem('OrderCreated', { orderId, customerId: 'c', currency: 'EUR', items: [{ sku: 'A', quantity: '2' }] })).toMatch(
      /^\/items\/0\/quantity /,
    );
    expect(payloadProblem('OrderCreated', { orderId, customerId: 'c', currency: 'EUR', items: [] })).toMatch(/^\/items /);
    expect(payloadProblem('PaymentRequested', { orderId, customerId: 'c', amountCents: 100, currency: 'EUR', paymentToken: 'tok_ok' })).toMatch(
      /^\/sealedPaymentToken /,
    );
    expect(payloadProblem('StockReserved', { orderId, currency: 'EUR', totalCents: 100, lines: [{ sku: 'A', quantity: 1 }] })).toMatch(
      /^\/lines\/0\/unitPriceCents /,
    );
    expect(payloadProblem('OrderCancelled', { orderId, customerId: 'c', reason: 'BORED' })).toMatch(/^\/reason /);
    expect(payloadProblem('StockReleased', { orderId: 'not-a-uuid' })).toMatch(/^\/orderId /);
    expect(payloadProblem('StockReserved', null)).toBeDefined();
  });
});
