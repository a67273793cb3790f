// order.events → charge (PaymentRequested) or void/refund (PaymentCancellationRequested).
// A charge records its attempt (unique per order) in a transaction of its own and calls the
// provider before the runner's transaction, which records the outcome with the inbox mark and
// the outgoing event; a cancellation is one runner transaction.
import { sleep } from '@shop/lib/backoff';
import { assertNever, type OrderEvent } from '@shop/lib/events/catalog';
import { isTransient } from '@shop/lib/errors';
import type { Envelope, MessageHandler } from '@shop/lib/messaging/consumer';
import { transactional, type Work } from '@shop/lib/messaging/transactional';
import type { Logger } from '@shop/lib/logger';
import { withTimeout } from '@shop/lib/timeout';
import { ProviderUnavailableError, type ChargeResult, type PaymentProvider } from '../domain/provider.ts';
import type { SqlDatabase } from '@shop/lib/db/sql';
import { countAttempt, lockPayment, recordAttempt, recordRefund, recordVoid, setStatus } from '../db/payments.ts';

export interface PaymentSettings {
  providerTimeoutMs: number;
  providerAttempts: number;
  providerRetryMs: number;
}

export function orderEventsHandler(db: SqlDatabase, provider: PaymentProvider, settings: PaymentSettings): MessageHandler<OrderEvent> {
  return transactional<OrderEvent>(db, (event, log) => {
    switch (event.type) {
      case 'PaymentRequested':
        return charge(db, provider, settings, event, log);
      case 'PaymentCancellationRequested':
        return cancel(provider, event);
      case 'OrderCreated':
      case 'StockReservationRequested':
      case 'OrderCompleted':
      case 'OrderCancelled':
      case 'StockReleaseRequested':
        return undefined;
      default:
        return assertNever(event);
    }
  }, { preparesOutside: (event) => event.type === 'PaymentRequested' || event.type === 'PaymentCancellationRequested' });
}

async function charge(
  db: SqlDatabase,
  provider: PaymentProvider,
  s: PaymentSettings,
  event: Extract<Envelope<OrderEvent>, { type: 'PaymentRequested' }>,
  log: Logger,
): Promise<Work> {
  const { orderId, amountCents, currency, paymentToken } = event.payload;
  const existing = await db.transaction(async (tx) => {
    const payment = await lockPayment(tx, orderId);
    if (payment && payment.status !== 'PENDING') return payment.status;
    if (!payment) await recordAttempt(tx, { orderId, amountCents, currency });
    return undefined;
  });
  // Settled already (or voided before the request arrived): never charge again.
  if (existing) return async () => ({ summary: existing === 'VOIDED' ? 'charge refused: payment was voided' : `payment already settled (${existing})` });

  let result: ChargeResult | undefined;
  let failure = 'provider_unavailable';
  for (let attempt = 1; attempt <= s.providerAttempts && !result; attempt++) {
    const tries = await countAttempt(db, orderId);
    try {
      result = await withTimeout(
        provider.charge({ idempotencyKey: orderId, amountCents, currency, token: paymentToken, attempt: tries }),
        s.providerTimeoutMs,
        () => new ProviderUnavailableError(`provider did not answer within ${s.providerTimeoutMs} ms`),
      );
    } catch (error) {
      if (!isTransient(error)) throw error;
      failure = (error as Error).message;
      log.warn({ attempt, err: failure }, 'provider call failed');
      if (attempt < s.providerAttempts) await sleep(s.providerRetryMs * 2 ** (attempt - 1));
    }
  }

  return async (tx) => {
    const payment = await lockPayment(tx, orderId);
    if (!payment || payment.status !== 'PENDING') return { summary: 'payment settled meanwhile' };
    if (result?.status === 'approved') {
      await setStatus(tx, orderId, { status: 'CAPTURED', providerRef: result.providerRef });
      return { events: [{ type: 'PaymentCaptured', payload: { orderId, paymentId: payment.id, amountCents } }], summary: 'payment settled: approved' };
    }
    const reason = result?.status === 'declined' ? result.reason : `provider_timeout: ${failure}`;
    await setStatus(tx, orderId, { status: result ? 'DECLINED' : 'FAILED', failureReason: reason });
    return { events: [{ type: 'PaymentDeclined', payload: { orderId, reason } }], summary: `payment settled: ${result ? 'declined' : 'failed'}` };
  };
}

function cancel(provider: PaymentProvider, event: Extract<Envelope<OrderEvent>, { type: 'PaymentCancellationRequested' }>): Work {
  const { orderId, reason } = event.payload;
  return async (tx) => {
    const payment = await lockPayment(tx, orderId);
    if (!payment) {
      await recordVoid(tx, orderId);
      return { events: [{ type: 'PaymentVoided', payload: { orderId } }], summary: 'payment cancellation: voided before charge' };
    }
    if (payment.status === 'PENDING') {
      await setStatus(tx, orderId, { status: 'VOIDED', failureReason: `cancelled: ${reason}` });
      return { events: [{ type: 'PaymentVoided', payload: { orderId } }], summary: 'payment cancellation: voided' };
    }
    if (payment.status === 'CAPTURED') {
      if (!(await recordRefund(tx, { paymentId: payment.id, orderId, amountCents: payment.amount_cents, reason })))
        return { summary: 'payment cancellation: already refunded' };
      const amountCents = Number(payment.amount_cents);
      await provider.refund({ idempotencyKey: orderId, providerRef: payment.provider_ref ?? '', amountCents });
      return { events: [{ type: 'PaymentRefunded', payload: { orderId, paymentId: payment.id, amountCents } }], summary: 'payment cancellation: refunded' };
    }
    return { summary: `payment cancellation: nothing to cancel (${payment.status})` };
  };
}
