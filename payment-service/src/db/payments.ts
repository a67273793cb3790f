import { uuidv7 } from 'uuidv7';
import type { SqlDatabase } from '@shop/lib/db/sql';
import type { Tx } from '@shop/lib/db/prisma';

export type PaymentStatus = 'PENDING' | 'CAPTURED' | 'DECLINED' | 'FAILED' | 'VOIDED';

export async function lockPayment(tx: Tx, orderId: string) {
  const rows = await tx.$queryRawUnsafe<{ id: string; status: PaymentStatus; amount_cents: bigint; provider_ref: string | null; attempts: number }[]>(
    'SELECT id::text, status, amount_cents, provider_ref, attempts FROM payments WHERE order_id = $1::uuid FOR UPDATE',
    orderId,
  );
  return rows[0];
}

/** The charge attempt, unique per order (the unique key is what makes a second charge impossible). */
export async function recordAttempt(tx: Tx, p: { orderId: string; amountCents: number; currency: string }): Promise<void> {
  await tx.$executeRawUnsafe(
    `INSERT INTO payments (id, order_id, amount_cents, currency, status) VALUES ($1::uuid, $2::uuid, $3, $4, 'PENDING') ON CONFLICT (order_id) DO NOTHING`,
    uuidv7(),
    p.orderId,
    p.amountCents,
    p.currency,
  );
}

export async function setStatus(tx: Tx, orderId: string, data: { status: PaymentStatus; providerRef?: string; failureReason?: string }) {
  // Fields left out keep their value (as Prisma's update did).
  await tx.$executeRawUnsafe(
    `UPDATE payments SET status = $2, provider_ref = COALESCE($3, provider_ref), failure_reason = COALESCE($4, failure_reason), updated_at = now()
      WHERE order_id = $1::uuid`,
    orderId,
    data.status,
    data.providerRef ?? null,
    data.failureReason ?? null,
  );
}

export async function countAttempt(db: SqlDatabase, orderId: string): Promise<number> {
  const [p] = await db.query<{ attempts: number }>('UPDATE payments SET attempts = attempts + 1 WHERE order_id = $1::uuid RETURNING attempts', orderId);
  if (!p) throw new Error(`no payment attempt recorded for order ${orderId}`);
  return p.attempts;
}

/** A void that arrives before the charge request: the request finds it and charges nothing. */
export async function recordVoid(tx: Tx, orderId: string): Promise<void> {
  await tx.$executeRawUnsafe(
    `INSERT INTO payments (id, order_id, amount_cents, currency, status, failure_reason) VALUES ($1::uuid, $2::uuid, 0, 'XXX', 'VOIDED', 'voided before charge')`,
    uuidv7(),
    orderId,
  );
}

export async function recordRefund(tx: Tx, r: { paymentId: string; orderId: string; amountCents: bigint; reason: string }): Promise<boolean> {
  const inserted = await tx.$executeRawUnsafe(
    'INSERT INTO refunds (id, payment_id, order_id, amount_cents, reason) VALUES ($1::uuid, $2::uuid, $3::uuid, $4, $5) ON CONFLICT (payment_id) DO NOTHING',
    uuidv7(),
    r.paymentId,
    r.orderId,
    r.amountCents,
    r.reason,
  );
  return inserted === 1;
}
