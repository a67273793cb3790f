import { describe, expect, it } from 'vitest';
import { cancelPayment, newBook, settleCharge, type ChargeAnswer, type Payment } from './payment.ts';

const pending = (id: string): Payment => ({ id, status: 'PENDING', amountCents: 500n, providerRef: null, failureReason: null, refunded: false });

describe('payment rules over a batch', () => {
  it('settles each prepared charge by the provider answer: approved, declined, no answer', () => {
    const answers = new Map<string, ChargeAnswer>([
      ['o1', { result: { status: 'approved', providerRef: 'ch_1' } }],
      ['o2', { result: { status: 'declined', reason: 'card_declined' } }],
      ['o3', { failure: 'provider did not answer within 500 ms' }],
    ]);
    const book = newBook(
      new Map([
        ['o1', pending('p1')],
        ['o2', pending('p2')],
        ['o3', pending('p3')],
      ]),
      answers,
    );
    expect(['o1', 'o2', 'o3'].map((o) => settleCharge(book, o, 500).event)).toEqual([
      { type: 'PaymentCaptured', payload: { orderId: 'o1', paymentId: 'p1', amountCents: 500 } },
      { type: 'PaymentDeclined', payload: { orderId: 'o2', reason: 'card_declined' } },
      { type: 'PaymentDeclined', payload: { orderId: 'o3', reason: 'provider_timeout: provider did not answer within 500 ms' } },
    ]);
    expect([...book.changed]).toEqual(['o1', 'o2', 'o3']);
    expect(['o1', 'o2', 'o3'].map((o) => book.payments.get(o)!.status)).toEqual(['CAPTURED', 'DECLINED', 'FAILED']);
  });

  it('never settles a charge twice, and refunds a capture once when the order is cancelled in the same batch', () => {
    const book = newBook(new Map([['o1', pending('p1')]]), new Map([['o1', { result: { status: 'approved', providerRef: 'ch_1' } }]]));
    const steps = [settleCharge(book, 'o1', 500), settleCharge(book, 'o1', 500), cancelPayment(book, 'o1', 'TIMEOUT'), cancelPayment(book, 'o1', 'TIMEOUT')];
    expect(steps.map((s) => s.event?.type)).toEqual(['PaymentCaptured', undefined, 'PaymentRefunded', undefined]);
    expect(book.refunds).toEqual([{ orderId: 'o1', paymentId: 'p1', amountCents: 500n, providerRef: 'ch_1', reason: 'TIMEOUT' }]);
  });

  it('voids before any charge: the request that comes later in the batch charges nothing', () => {
    const book = newBook(new Map(), new Map());
    expect(cancelPayment(book, 'o1', 'CUSTOMER_CANCELLED').event).toEqual({ type: 'PaymentVoided', payload: { orderId: 'o1' } });
    expect(settleCharge(book, 'o1', 500)).toEqual({ summary: 'charge refused: payment was voided' });
    expect([...book.voided]).toEqual(['o1']);
    expect(book.changed.size).toBe(0);
  });

  it('voids a pending charge on cancellation, and leaves a declined one alone', () => {
    const declined: Payment = { ...pending('p2'), status: 'DECLINED' };
    const book = newBook(
      new Map([
        ['o1', pending('p1')],
        ['o2', declined],
      ]),
      new Map(),
    );
    expect(cancelPayment(book, 'o1', 'TIMEOUT').event?.type).toBe('PaymentVoided');
    expect(book.payments.get('o1')).toMatchObject({ status: 'VOIDED', failureReason: 'cancelled: TIMEOUT' });
    expect(cancelPayment(book, 'o2', 'TIMEOUT')).toEqual({ summary: 'payment cancellation: nothing to cancel (DECLINED)' });
  });
});
