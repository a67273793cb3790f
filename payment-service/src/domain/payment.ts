// Payment rules, pure, over a PaymentBook: the payments a consumed batch names (loaded and
// locked), the provider's answers to the charges prepared for it, and the changes its events
// made so far. A charge stands only on a payment still PENDING; a cancellation voids what is not
// charged yet and refunds (once) what is.
import { assertNever, type CancelReason, type PaymentEvent } from '@shop/lib/events/catalog';
import type { ChargeResult } from './provider.ts';

export type PaymentStatus = 'PENDING' | 'CAPTURED' | 'DECLINED' | 'FAILED' | 'VOIDED';

export interface Payment {
  id: string;
  status: PaymentStatus;
  amountCents: bigint;
  providerRef: string | null;
  failureReason: string | null;
  refunded: boolean;
}

/** What the provider said to a prepared charge, or why it said nothing. */
export type ChargeAnswer = { result: ChargeResult } | { failure: string };

export interface Refund {
  orderId: string;
  paymentId: string;
  amountCents: bigint;
  providerRef: string;
  reason: string;
}

export interface PaymentBook {
  payments: Map<string, Payment>;
  answers: Map<string, ChargeAnswer>;
  /** Orders whose payment row changed status (and reference or reason). */
  changed: Set<string>;
  /** Orders voided before any charge: a VOIDED row is inserted for each. */
  voided: Set<string>;
  refunds: Refund[];
}

export interface Step {
  event?: PaymentEvent;
  summary: string;
}

export const newBook = (payments: Map<string, Payment>, answers: Map<string, ChargeAnswer>): PaymentBook => ({
  payments,
  answers,
  changed: new Set(),
  voided: new Set(),
  refunds: [],
});

function settle(book: PaymentBook, orderId: string, payment: Payment, change: Partial<Payment>) {
  book.payments.set(orderId, { ...payment, ...change });
  book.changed.add(orderId);
}

/** A PaymentRequested whose charge was prepared: the provider's answer becomes the payment's status. */
export function settleCharge(book: PaymentBook, orderId: string, amountCents: number): Step {
  const payment = book.payments.get(orderId);
  if (!payment || payment.status !== 'PENDING') {
    return { summary: payment?.status === 'VOIDED' ? 'charge refused: payment was voided' : `payment already settled (${payment?.status ?? 'none'})` };
  }
  const answer = book.answers.get(orderId);
  if (!answer) return { summary: 'payment settled meanwhile' };
  if ('result' in answer) {
    const { result } = answer;
    switch (result.status) {
      case 'approved':
        settle(book, orderId, payment, { status: 'CAPTURED', providerRef: result.providerRef });
        return { event: { type: 'PaymentCaptured', payload: { orderId, paymentId: payment.id, amountCents } }, summary: 'payment settled: approved' };
      case 'declined':
        settle(book, orderId, payment, { status: 'DECLINED', failureReason: result.reason });
        return { event: { type: 'PaymentDeclined', payload: { orderId, reason: result.reason } }, summary: 'payment settled: declined' };
      default:
        return assertNever(result);
    }
  }
  const reason = `provider_timeout: ${answer.failure}`;
  settle(book, orderId, payment, { status: 'FAILED', failureReason: reason });
  return { event: { type: 'PaymentDeclined', payload: { orderId, reason } }, summary: 'payment settled: failed' };
}

export function cancelPayment(book: PaymentBook, orderId: string, reason: CancelReason): Step {
  const payment = book.payments.get(orderId);
  if (!payment) {
    // The void overtook the charge request: the request finds it and charges nothing.
    book.payments.set(orderId, { id: '', status: 'VOIDED', amountCents: 0n, providerRef: null, failureReason: 'voided before charge', refunded: false });
    book.voided.add(orderId);
    return { event: { type: 'PaymentVoided', payload: { orderId } }, summary: 'payment cancellation: voided before charge' };
  }
  switch (payment.status) {
    case 'PENDING':
      settle(book, orderId, payment, { status: 'VOIDED', failureReason: `cancelled: ${reason}` });
      return { event: { type: 'PaymentVoided', payload: { orderId } }, summary: 'payment cancellation: voided' };
    case 'CAPTURED': {
      if (payment.refunded) return { summary: 'payment cancellation: already refunded' };
      book.payments.set(orderId, { ...payment, refunded: true });
      book.refunds.push({ orderId, paymentId: payment.id, amountCents: payment.amountCents, providerRef: payment.providerRef ?? '', reason });
      const amountCents = Number(payment.amountCents);
      return { event: { type: 'PaymentRefunded', payload: { orderId, paymentId: payment.id, amountCents } }, summary: 'payment cancellation: refunded' };
    }
    case 'DECLINED':
    case 'FAILED':
    case 'VOIDED':
      return { summary: `payment cancellation: nothing to cancel (${payment.status})` };
    default:
      return assertNever(payment.status);
  }
}
