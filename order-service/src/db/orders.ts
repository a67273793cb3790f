import { envelope } from '@shop/lib/events/envelope';
import type { CancelReason, OrderEvent, OrderLine } from '@shop/lib/events/catalog';
import { appendToOutbox } from '@shop/lib/outbox/append';
import type { Decision, OrderState, OrderStatus } from '../domain/order.ts';
import type { Db, Tx } from './client.ts';

export interface Cause {
  eventId: string | null;
  type: string;
}

const toEnvelopes = (orderId: string, events: OrderEvent[], causationId: string | null) =>
  events.map((e) => envelope(e, { aggregateType: 'order', aggregateId: orderId, correlationId: orderId, causationId }));

export async function insertOrder(
  tx: Tx,
  order: { state: OrderState; items: OrderLine[]; idempotency: { key: string; fingerprint: string; expiresAt: Date } | null; deadlineAt: Date; events: OrderEvent[] },
): Promise<void> {
  const { state } = order;
  if (order.idempotency) {
    // A key past its TTL is free again: the old order keeps its data but gives the key up.
    await tx.order.updateMany({ where: { idempotencyKey: order.idempotency.key, idempotencyExpiresAt: { lt: new Date() } }, data: { idempotencyKey: null } });
  }
  await tx.order.create({
    data: {
      id: state.id,
      customerId: state.customerId,
      currency: state.currency,
      paymentToken: state.paymentToken,
      status: state.status,
      totalCents: BigInt(state.totalCents),
      idempotencyKey: order.idempotency?.key ?? null,
      requestFingerprint: order.idempotency?.fingerprint ?? null,
      idempotencyExpiresAt: order.idempotency?.expiresAt ?? null,
      deadlineAt: order.deadlineAt,
      items: { create: order.items.map((i, n) => ({ lineNo: n + 1, sku: i.sku, quantity: i.quantity, unitPriceCents: BigInt(i.unitPriceCents) })) },
      history: { create: { status: 'CREATED', causeType: 'PlaceOrder' } },
    },
  });
  await appendToOutbox(tx, toEnvelopes(state.id, order.events, null));
}

/** Locks the order row for the rest of the transaction, so concurrent messages apply one at a time. */
export async function lockOrder(tx: Tx, id: string): Promise<OrderState | undefined> {
  const rows = await tx.$queryRawUnsafe<
    { id: string; customer_id: string; status: OrderStatus; cancel_reason: CancelReason | null; currency: string; total_cents: bigint; payment_token: string }[]
  >('SELECT id::text, customer_id, status, cancel_reason, currency, total_cents, payment_token FROM orders WHERE id = $1::uuid FOR UPDATE', id);
  const r = rows[0];
  if (!r) return undefined;
  return { id: r.id, customerId: r.customer_id, status: r.status, cancelReason: r.cancel_reason, currency: r.currency, totalCents: Number(r.total_cents), paymentToken: r.payment_token };
}

export async function applyDecision(tx: Tx, state: OrderState, decision: Decision, cause: Cause): Promise<void> {
  if (decision.outcome === 'changed') {
    await tx.order.update({
      where: { id: state.id },
      data: { status: decision.status, cancelReason: decision.cancelReason, version: { increment: 1 }, updatedAt: new Date() },
    });
    await tx.orderHistory.create({
      data: { orderId: state.id, status: decision.status, reason: decision.cancelReason, causeEventId: cause.eventId, causeType: cause.type },
    });
  }
  if (decision.outcome === 'changed' || decision.outcome === 'compensate') {
    await appendToOutbox(tx, toEnvelopes(state.id, decision.events, cause.eventId));
  }
}

/** The live order holding this Idempotency-Key (one whose key expired does not count). */
export async function findByIdempotencyKey(db: Db, key: string) {
  const order = await db.order.findUnique({ where: { idempotencyKey: key }, select: { id: true, requestFingerprint: true, idempotencyExpiresAt: true } });
  if (!order || (order.idempotencyExpiresAt && order.idempotencyExpiresAt < new Date())) return undefined;
  return order;
}

export async function loadOrderView(db: Db | Tx, id: string) {
  return db.order.findUnique({
    where: { id },
    include: { items: { orderBy: { lineNo: 'asc' } }, history: { orderBy: { id: 'asc' } } },
  });
}

export async function listOrders(db: Db, q: { customerId?: string; status?: string; limit: number; cursor?: { createdAt: Date; id: string } }) {
  return db.order.findMany({
    where: {
      customerId: q.customerId,
      status: q.status,
      ...(q.cursor ? { OR: [{ createdAt: { lt: q.cursor.createdAt } }, { createdAt: q.cursor.createdAt, id: { lt: q.cursor.id } }] } : {}),
    },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: q.limit + 1,
    include: { items: { orderBy: { lineNo: 'asc' } } },
  });
}

/** Open orders past their deadline, locked and skipped by other sweepers (SKIP LOCKED). */
export async function lockOverdue(tx: Tx, limit: number): Promise<string[]> {
  const rows = await tx.$queryRawUnsafe<{ id: string }[]>(
    `SELECT id::text FROM orders WHERE status IN ('CREATED', 'PAYMENT_PENDING') AND deadline_at < now()
      ORDER BY deadline_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
    limit,
  );
  return rows.map((r) => r.id);
}
