// Loads and stores of payments, a consumed batch at a time (domain/payment.ts holds the rules).
import { uuidv7 } from 'uuidv7';
import type { SqlDatabase } from '@shop/lib/db/sql';
import type { Tx } from '@shop/lib/db/prisma';
import type { Payment, PaymentBook, PaymentStatus } from '../domain/payment.ts';

/**
 * Before any provider call: records a PENDING attempt for each order that has none (unique per
 * order: what makes a second charge impossible) and counts one try on each that is still
 * PENDING. Returns those orders with their try number; the others are settled (or voided) and
 * are never charged again.
 */
export async function startCharges(
  db: SqlDatabase,
  charges: { orderId: string; customerId: string; amountCents: number; currency: string }[],
): Promise<Map<string, number>> {
  const sorted = [...charges].sort((a, b) => (a.orderId < b.orderId ? -1 : 1));
  return db.transaction(async (tx) => {
    await tx.$executeRawUnsafe(
      `INSERT INTO payments (id, order_id, customer_id, amount_cents, currency, status)
       SELECT id, order_id, customer_id, amount_cents, currency, 'PENDING'
         FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::bigint[], $5::text[]) AS c(id, order_id, customer_id, amount_cents, currency)
       ON CONFLICT (order_id) DO NOTHING`,
      sorted.map(() => uuidv7()),
      sorted.map((c) => c.orderId),
      sorted.map((c) => c.customerId),
      sorted.map((c) => c.amountCents),
      sorted.map((c) => c.currency),
    );
    const rows = await tx.$queryRawUnsafe<{ order_id: string; attempts: number }[]>(
      "UPDATE payments SET attempts = attempts + 1 WHERE order_id = ANY($1::uuid[]) AND status = 'PENDING' RETURNING order_id::text, attempts",
      sorted.map((c) => c.orderId),
    );
    return new Map(rows.map((r) => [r.order_id, r.attempts]));
  });
}

/** One more try of a charge after a transient provider failure: its number. */
export async function countAttempt(db: SqlDatabase, orderId: string): Promise<number> {
  const [p] = await db.query<{ attempts: number }>('UPDATE payments SET attempts = attempts + 1 WHERE order_id = $1::uuid RETURNING attempts', orderId);
  if (!p) throw new Error(`no payment attempt recorded for order ${orderId}`);
  return p.attempts;
}

/** The payments of `orderIds`, locked in order id order, and whether each was refunded. */
export async function lockPayments(tx: Tx, orderIds: string[]): Promise<Map<string, Payment>> {
  const rows = await tx.$queryRawUnsafe<
    {
      order_id: string;
      id: string;
      status: PaymentStatus;
      amount_cents: bigint;
      provider_ref: string | null;
      failure_reason: string | null;
      refunded: boolean;
    }[]
  >(
    `SELECT p.order_id::text, p.id::text, p.status, p.amount_cents, p.provider_ref, p.failure_reason,
            EXISTS (SELECT 1 FROM refunds r WHERE r.payment_id = p.id) AS refunded
       FROM payments p WHERE p.order_id = ANY($1::uuid[]) ORDER BY p.order_id FOR UPDATE OF p`,
    orderIds,
  );
  return new Map(
    rows.map((r) => [
      r.order_id,
      { id: r.id, status: r.status, amountCents: r.amount_cents, providerRef: r.provider_ref, failureReason: r.failure_reason, refunded: r.refunded },
    ]),
  );
}

/** What the book's events changed: statuses, voids before any charge, refunds; a statement each at most. */
export async function storePayments(tx: Tx, book: PaymentBook): Promise<void> {
  const changed = [...book.changed].sort().map((orderId) => ({ orderId, ...book.payments.get(orderId)! }));
  if (changed.length > 0) {
    await tx.$executeRawUnsafe(
      `UPDATE payments p SET status = c.status, provider_ref = c.provider_ref, failure_reason = c.failure_reason, updated_at = now()
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) AS c(order_id, status, provider_ref, failure_reason)
        WHERE p.order_id = c.order_id`,
      changed.map((c) => c.orderId),
      changed.map((c) => c.status),
      changed.map((c) => c.providerRef),
      changed.map((c) => c.failureReason),
    );
  }
  const voided = [...book.voided].sort();
  if (voided.length > 0) {
    await tx.$executeRawUnsafe(
      `INSERT INTO payments (id, order_id, amount_cents, currency, status, failure_reason)
       SELECT id, order_id, 0, 'XXX', 'VOIDED', 'voided before charge' FROM unnest($1::uuid[], $2::uuid[]) AS v(id, order_id)`,
      voided.map(() => uuidv7()),
      voided,
    );
  }
  if (book.refunds.length > 0) {
    await tx.$executeRawUnsafe(
      `INSERT INTO refunds (id, payment_id, order_id, amount_cents, reason)
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::bigint[], $5::text[])`,
      book.refunds.map(() => uuidv7()),
      book.refunds.map((r) => r.paymentId),
      book.refunds.map((r) => r.orderId),
      book.refunds.map((r) => r.amountCents),
      book.refunds.map((r) => r.reason),
    );
  }
}
