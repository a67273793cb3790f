// order.events → charge (PaymentRequested) or void/refund (PaymentCancellationRequested).
// The provider call happens between two transactions: one records the attempt (unique per
// order), the other records the outcome with the inbox row and the outgoing event.
import { sleep } from '@shop/lib/backoff';
import { assertNever, type OrderEvent } from '@shop/lib/events/catalog';
import { isTransient } from '@shop/lib/errors';
import { markProcessed } from '@shop/lib/messaging/inbox';
import type { Envelope, MessageHandler } from '@shop/lib/messaging/consumer';
import type { Logger } from '@shop/lib/logger';
import { withTimeout } from '@shop/lib/timeout';
import { ProviderUnavailableError, type ChargeResult, type PaymentProvider } from '../domain/provider.ts';
import type { SqlDatabase } from '@shop/lib/db/sql';
import { countAttempt, emit, lockPayment, recordAttempt, recordRefund, recordVoid, setStatus } from '../db/payments.ts';
import type { MessageMeta } from '@shop/lib/messaging/inbox';

export interface PaymentSettings {
  providerTimeoutMs: number;
  providerAttempts: number;
  providerRetryMs: number;
}

export function orderEventsHandler(db: SqlDatabase, provider: PaymentProvider, settings: PaymentSettings): MessageHandler<OrderEvent> {
  return async (event, meta, log) => {
    switch (event.type) {
      case 'PaymentRequested':
        return charge(db, provider, settings, event, meta, log);
      case 'PaymentCancellationRequested':
        return cancel(db, provider, event, meta, log);
      case 'OrderCreated':
      case 'StockReservationRequested':
      case 'OrderCompleted':
      case 'OrderCancelled':
      case 'StockReleaseRequested':
        return;
      default:
        return assertNever(event);
    }
  };
}

async function charge(
  db: SqlDatabase,
  provider: PaymentProvider,
  s: PaymentSettings,
  event: Extract<Envelope<OrderEvent>, { type: 'PaymentRequested' }>,
  meta: MessageMeta,
  log: Logger,
) {
  const { orderId, amountCents, currency, paymentToken } = event.payload;
  const existing = await db.transaction(async (tx) => {
    const payment = await lockPayment(tx, orderId);
    if (payment && payment.status !== 'PENDING') {
      // Settled already (or voided before the request arrived): never charge again.
      await markProcessed(tx, event, meta);
      return payment.status;
    }
    if (!payment) await recordAttempt(tx, { orderId, amountCents, currency });
    return undefined;
  });
  if (existing) {
    log.info({ status: existing }, existing === 'VOIDED' ? 'charge refused: payment was voided' : 'payment already settled');
    return;
  }

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

  await db.transaction(async (tx) => {
    if (!(await markProcessed(tx, event, meta))) return;
    const payment = await lockPayment(tx, orderId);
    if (!payment || payment.status !== 'PENDING') return;
    if (result?.status === 'approved') {
      await setStatus(tx, orderId, { status: 'CAPTURED', providerRef: result.providerRef });
      await emit(tx, orderId, { type: 'PaymentCaptured', payload: { orderId, paymentId: payment.id, amountCents } }, event.id);
    } else {
      const reason = result?.status === 'declined' ? result.reason : `provider_timeout: ${failure}`;
      await setStatus(tx, orderId, { status: result ? 'DECLINED' : 'FAILED', failureReason: reason });
      await emit(tx, orderId, { type: 'PaymentDeclined', payload: { orderId, reason } }, event.id);
    }
  });
  log.info({ outcome: result?.status ?? 'failed' }, 'payment settled');
}

async function cancel(
  db: SqlDatabase,
  provider: PaymentProvider,
  event: Extract<Envelope<OrderEvent>, { type: 'PaymentCancellationRequested' }>,
  meta: MessageMeta,
  log: Logger,
) {
  const { orderId, reason } = event.payload;
  const outcome = await db.transaction(async (tx) => {
    if (!(await markProcessed(tx, event, meta))) return 'duplicate';
    const payment = await lockPayment(tx, orderId);
    if (!payment) {
      await recordVoid(tx, orderId);
      await emit(tx, orderId, { type: 'PaymentVoided', payload: { orderId } }, event.id);
      return 'voided before charge';
    }
    if (payment.status === 'PENDING') {
      await setStatus(tx, orderId, { status: 'VOIDED', failureReason: `cancelled: ${reason}` });
      await emit(tx, orderId, { type: 'PaymentVoided', payload: { orderId } }, event.id);
      return 'voided';
    }
    if (payment.status === 'CAPTURED') {
      if (!(await recordRefund(tx, { paymentId: payment.id, orderId, amountCents: payment.amount_cents, reason }))) return 'already refunded';
      await provider.refund({ idempotencyKey: orderId, providerRef: payment.provider_ref ?? '', amountCents: Number(payment.amount_cents) });
      await emit(tx, orderId, { type: 'PaymentRefunded', payload: { orderId, paymentId: payment.id, amountCents: Number(payment.amount_cents) } }, event.id);
      return 'refunded';
    }
    return `nothing to cancel (${payment.status})`;
  });
  log.info({ outcome }, 'payment cancellation handled');
}
