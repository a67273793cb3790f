// order.events → charge (PaymentRequested) or void/refund (PaymentCancellationRequested), a
// fetched batch at a time. Before the runner's transaction, one transaction records the batch's
// charge attempts (unique per order) and the provider is called for all of them at once
// (bounded): no provider charge runs inside an open transaction. The runner's transaction then
// locks the batch's payments, applies the rules (domain/payment.ts) and writes the outcomes with
// the inbox mark and the outgoing events.
import { inSpan, ROOT_CONTEXT, SpanKind, type Context } from '@shop/lib/tracing/tracing';
import { sleep } from '@shop/lib/backoff';
import { assertNever, type OrderEvent } from '@shop/lib/events/catalog';
import { isTransient } from '@shop/lib/errors';
import type { BatchItem, Envelope, MessageHandler } from '@shop/lib/messaging/consumer';
import { batchDecider, outcomeOf } from '@shop/lib/messaging/transactional';
import type { Logger } from '@shop/lib/logger';
import { withTimeout } from '@shop/lib/timeout';
import { openPaymentToken } from '@shop/lib/payment-token';
import { ProviderUnavailableError, type PaymentProvider } from '../domain/provider.ts';
import { cancelPayment, newBook, settleCharge, type ChargeAnswer, type PaymentBook, type Step } from '../domain/payment.ts';
import type { SqlDatabase } from '@shop/lib/db/sql';
import { countAttempt, lockPayments, startCharges, storePayments } from '../db/payments.ts';

export interface PaymentSettings {
  providerTimeoutMs: number;
  providerAttempts: number;
  providerRetryMs: number;
  /** Opens the sealed payment tokens order-service sends (PAYMENT_TOKEN_KEY). */
  paymentTokenKey: Buffer;
}

/** How many provider calls of a batch are in flight at once. */
const CHARGE_CONCURRENCY = 16;

type ChargeEvent = Extract<Envelope<OrderEvent>, { type: 'PaymentRequested' }>;

function stepOf(event: Envelope<OrderEvent>): ((book: PaymentBook) => Step) | undefined {
  switch (event.type) {
    case 'PaymentRequested':
      return (book) => settleCharge(book, event.payload.orderId, event.payload.amountCents);
    case 'PaymentCancellationRequested':
      return (book) => cancelPayment(book, event.payload.orderId, event.payload.reason);
    case 'OrderCreated':
    case 'OrderCompleted':
    case 'OrderCancelled':
    case 'StockReleaseRequested':
      return undefined;
    default:
      return assertNever(event);
  }
}

export function orderEventsHandler(db: SqlDatabase, provider: PaymentProvider, settings: PaymentSettings): MessageHandler<OrderEvent> {
  /** One charge with its retries: the provider's answer, or the last failure once the tries are spent. */
  const charge = async (event: ChargeEvent, firstTry: number, log: Logger, parent: Context): Promise<ChargeAnswer> => {
    const { orderId, amountCents, currency, sealedPaymentToken } = event.payload;
    const token = openPaymentToken(sealedPaymentToken, orderId, settings.paymentTokenKey);
    // Not sealed for this order with our key: nothing the provider could charge.
    if (token === undefined) return { result: { status: 'declined', reason: 'invalid_token' } };
    let failure = 'provider_unavailable';
    for (let attempt = 1; attempt <= settings.providerAttempts; attempt++) {
      const tries = attempt === 1 ? firstTry : await countAttempt(db, orderId);
      try {
        const result = await inSpan(
          'payment provider charge',
          parent,
          { kind: SpanKind.CLIENT, attributes: { 'order.id': orderId, 'payment.attempt': tries } },
          () =>
            withTimeout(
              provider.charge({ idempotencyKey: orderId, amountCents, currency, token, attempt: tries }),
              settings.providerTimeoutMs,
              () => new ProviderUnavailableError(`provider did not answer within ${settings.providerTimeoutMs} ms`),
            ),
        );
        return { result };
      } catch (error) {
        if (!isTransient(error)) throw error;
        failure = (error as Error).message;
        log.warn({ attempt, err: failure }, 'provider call failed');
        if (attempt < settings.providerAttempts) await sleep(settings.providerRetryMs * 2 ** (attempt - 1));
      }
    }
    return { failure };
  };

  const prepare = async (items: BatchItem<OrderEvent>[]): Promise<Map<string, ChargeAnswer>> => {
    const requests = items.filter((i): i is BatchItem<OrderEvent> & { event: ChargeEvent } => i.event.type === 'PaymentRequested');
    const answers = new Map<string, ChargeAnswer>();
    if (requests.length === 0) return answers;
    const tries = await startCharges(
      db,
      requests.map((r) => r.event.payload),
    );
    // Settled already (or voided before the request arrived): never charged again.
    const due = requests.filter((r) => tries.has(r.event.payload.orderId));
    for (let i = 0; i < due.length; i += CHARGE_CONCURRENCY) {
      await Promise.all(
        due
          .slice(i, i + CHARGE_CONCURRENCY)
          .map(async (r) =>
            answers.set(r.event.payload.orderId, await charge(r.event, tries.get(r.event.payload.orderId)!, r.log, r.meta.trace?.ctx ?? ROOT_CONTEXT)),
          ),
      );
    }
    return answers;
  };

  return batchDecider<OrderEvent, PaymentBook, Map<string, ChargeAnswer>>(db, {
    handles: (event) => stepOf(event) !== undefined,
    // A later request or cancellation of an order must not be prepared before the earlier one is applied.
    preparesOutside: (event) => stepOf(event) !== undefined,
    prepare,
    load: async (tx, events, answers) =>
      newBook(
        await lockPayments(
          tx,
          events.map((e) => e.payload.orderId),
        ),
        answers,
      ),
    apply: (book, event) => outcomeOf(stepOf(event)!(book)),
    store: async (tx, book) => {
      await storePayments(tx, book);
      // Inside the transaction, as before batches: a refund the provider refuses rolls back its record, and the cancellation is retried.
      for (const r of book.refunds) await provider.refund({ idempotencyKey: r.orderId, providerRef: r.providerRef, amountCents: Number(r.amountCents) });
    },
  });
}
