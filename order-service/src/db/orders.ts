import { eventEnvelope, type CancelReason, type OrderEvent } from '@shop/lib/events/catalog';
import { appendToOutbox, DELETE_ON_INSERT, deleteFromOutbox, outboxInsert, outboxRows } from '@shop/lib/outbox/append';
import type { SqlDatabase } from '@shop/lib/db/sql';
import type { TraceHeaders } from '@shop/lib/tracing/tracing';
import type { AdminAction } from '@shop/lib/db/audit';
import type { Backlog } from '../domain/admission.ts';
import type { OrderState, OrderStatus, PlacedLine, Pricing } from '../domain/order.ts';
import type { Tx } from '@shop/lib/db/prisma';
import type { PrismaClient as Db } from '../generated/prisma/client.ts';

export interface Cause {
  eventId: string | null;
  type: string;
  /** Who asked through the API (`customer:<id>`, `admin:<actor>`); undefined for the workflow itself. */
  actor?: string;
}

const toEnvelopes = (orderId: string, events: readonly OrderEvent[], causationId: string | null, trace?: TraceHeaders) =>
  events.map((e) => eventEnvelope(e, { aggregateId: orderId, correlationId: orderId, causationId, trace }));

/** An order to insert as placed: its state, lines, Idempotency-Key, first deadline and events. */
export interface NewOrder {
  state: OrderState;
  items: readonly PlacedLine[];
  idempotency: { key: string; fingerprint: string; expiresAt: Date } | null;
  deadlineAt: Date;
  events: OrderEvent[];
  /** The request's trace, carried on by the events. */
  trace?: TraceHeaders;
  /** Who placed it (`customer:<id>`, `admin:<actor>`), for its first history entry. */
  actor: string;
  /** An admin placing for a customer: the audit row, written in the same statement as the order. */
  audit?: AdminAction;
}

/** What the database gave an inserted order; `key_taken` when a live order holds its Idempotency-Key. */
export type Inserted = { createdAt: Date; updatedAt: Date } | 'key_taken';

/**
 * Inserts orders, their lines, first history entries and events (outbox) in ONE statement: one
 * round trip and one commit for all of them (no BEGIN/COMMIT around it). An order whose
 * Idempotency-Key another order holds is skipped (ON CONFLICT DO NOTHING) with everything of
 * it, and answered `key_taken`; the others are inserted. Any other error fails the statement
 * and so all of them. With OUTBOX_DELETE_ON_INSERT the rows are deleted in a second statement
 * of the same transaction (a CTE cannot see its sibling's inserts).
 */
export async function insertOrders(db: SqlDatabase, orders: readonly NewOrder[]): Promise<Inserted[]> {
  const envelopes = orders.flatMap((o) => toEnvelopes(o.state.id, o.events, null, o.trace));
  const statement = [
    `WITH o AS (
       INSERT INTO orders (id, customer_id, currency, sealed_payment_token, status, idempotency_key, request_fingerprint, idempotency_expires_at, deadline_at, created_at)
       SELECT * FROM jsonb_to_recordset($1::jsonb) AS n(id uuid, customer_id text, currency text, sealed_payment_token text, status text,
                                                        idempotency_key text, request_fingerprint text, idempotency_expires_at timestamptz, deadline_at timestamptz,
                                                        created_at timestamptz)
       ON CONFLICT (idempotency_key) DO NOTHING
       RETURNING id, created_at, updated_at
     ), lines AS (
       INSERT INTO order_items (order_id, line_no, sku, quantity)
       SELECT l.order_id, l.line_no, l.sku, l.quantity
         FROM jsonb_to_recordset($2::jsonb) AS l(order_id uuid, line_no int, sku text, quantity int)
        WHERE l.order_id IN (SELECT id FROM o)
     ), history AS (
       INSERT INTO order_history (order_id, status, cause_type, actor, at)
       SELECT o.id, 'CREATED', 'PlaceOrder', n.actor, o.created_at FROM o JOIN jsonb_to_recordset($1::jsonb) AS n(id uuid, actor text) ON n.id = o.id
     ), audit AS (
       INSERT INTO admin_audit (actor, action, subject, before, after, request_id)
       SELECT a.actor, a.action, a.subject, a.before, a.after, a.request_id
         FROM jsonb_to_recordset($4::jsonb) AS a(actor text, action text, subject text, before jsonb, after jsonb, request_id text)
        WHERE a.subject IN (SELECT id::text FROM o)
     ), events AS (
       ${outboxInsert(3, 'e.aggregate_id IN (SELECT id::text FROM o)')}
     )
     SELECT id::text, created_at, updated_at FROM o`,
    JSON.stringify(
      orders.map(({ state, idempotency, deadlineAt, actor }) => ({
        id: state.id,
        customer_id: state.customerId,
        currency: state.currency,
        sealed_payment_token: state.sealedPaymentToken,
        status: state.status,
        idempotency_key: idempotency?.key ?? null,
        request_fingerprint: idempotency?.fingerprint ?? null,
        idempotency_expires_at: idempotency?.expiresAt.toISOString() ?? null,
        deadline_at: deadlineAt.toISOString(),
        // The moment every deadline of the order counts from (the first one is computed from it
        // already): its placement time and first history entry say the same instant.
        created_at: state.placedAt.toISOString(),
        actor,
      })),
    ),
    JSON.stringify(orders.flatMap((o) => o.items.map((i, n) => ({ order_id: o.state.id, line_no: n + 1, sku: i.sku, quantity: i.quantity })))),
    outboxRows(envelopes),
    JSON.stringify(
      orders.flatMap(({ audit }) =>
        audit
          ? [
              {
                actor: audit.actor,
                action: audit.action,
                subject: audit.subject,
                before: audit.before ?? null,
                after: audit.after,
                request_id: audit.requestId,
              },
            ]
          : [],
      ),
    ),
  ] as const;
  type Row = { id: string; created_at: Date; updated_at: Date };
  const rows = DELETE_ON_INSERT
    ? await db.transaction(async (tx) => {
        const inserted = await tx.$queryRawUnsafe<Row[]>(...statement);
        const ids = new Set(inserted.map((r) => r.id));
        await deleteFromOutbox(
          tx,
          envelopes.filter((e) => ids.has(e.aggregateId)),
        );
        return inserted;
      })
    : await db.query<Row>(...statement);
  const byId = new Map(rows.map((r) => [r.id, { createdAt: new Date(r.created_at), updatedAt: new Date(r.updated_at) }]));
  return orders.map((o) => byId.get(o.state.id) ?? 'key_taken');
}

/** A key past its TTL is free again: the old order keeps its data but gives the key up. */
export async function releaseExpiredKey(db: Db, key: string): Promise<number> {
  const { count } = await db.order.updateMany({ where: { idempotencyKey: key, idempotencyExpiresAt: { lt: new Date() } }, data: { idempotencyKey: null } });
  return count;
}

type OrderRow = {
  id: string;
  created_at: Date;
  customer_id: string;
  status: OrderStatus;
  cancel_reason: CancelReason | null;
  currency: string;
  total_cents: bigint | null;
  sealed_payment_token: string;
};

/**
 * Locks the orders' rows for the rest of the transaction, in id order (two batches never
 * deadlock), so concurrent messages for one order apply one at a time.
 */
export async function lockOrders(tx: Tx, ids: string[]): Promise<Map<string, OrderState>> {
  const rows = await tx.$queryRawUnsafe<OrderRow[]>(
    'SELECT id::text, created_at, customer_id, status, cancel_reason, currency, total_cents, sealed_payment_token FROM orders WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE',
    ids,
  );
  return new Map(
    rows.map((r) => [
      r.id,
      {
        id: r.id,
        placedAt: new Date(r.created_at),
        customerId: r.customer_id,
        status: r.status,
        cancelReason: r.cancel_reason,
        currency: r.currency,
        totalCents: r.total_cents === null ? null : Number(r.total_cents),
        sealedPaymentToken: r.sealed_payment_token,
      },
    ]),
  );
}

/** One status change of an order, with what caused it (its history entry). */
export interface StatusChange {
  orderId: string;
  status: OrderStatus;
  cancelReason: CancelReason | null;
  /** The deadline of the step it entered (undefined: keep the one it has). */
  deadlineAt?: Date;
  /** The lines as inventory priced them (the change that follows the reservation). */
  pricing?: Pricing;
  cause: Cause;
}

/** What a stored change left an order at: its status and version once the transaction commits. */
export interface StoredStatus {
  orderId: string;
  status: OrderStatus;
  version: number;
}

/**
 * Stores the changes of a batch in one statement: each order's last status (its version bumped
 * once per change) and every change as a history entry, in order. Returns each order's new
 * status and version (for the cache and the status feed, after the commit).
 */
export async function storeChanges(tx: Tx, changes: StatusChange[]): Promise<StoredStatus[]> {
  if (changes.length === 0) return [];
  const last = new Map<string, { change: StatusChange; steps: number }>();
  for (const c of changes) last.set(c.orderId, { change: c, steps: (last.get(c.orderId)?.steps ?? 0) + 1 });
  const orders = [...last.values()];
  // A batch may hold an order's reservation and its capture: the pricing of any of its changes counts.
  const pricing = new Map(changes.filter((c) => c.pricing).map((c) => [c.orderId, c.pricing!]));
  const pricedLines = [...pricing].flatMap(([orderId, p]) => p.lines.map((l) => ({ orderId, ...l })));
  const rows = await tx.$queryRawUnsafe<{ id: string; status: OrderStatus; version: number }[]>(
    `WITH o AS (
       UPDATE orders o SET status = u.status, cancel_reason = u.reason, deadline_at = COALESCE(u.deadline_at, o.deadline_at),
                           total_cents = COALESCE(u.total_cents, o.total_cents), version = o.version + u.steps, updated_at = now()
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $10::timestamptz[], $11::bigint[]) AS u(id, status, reason, steps, deadline_at, total_cents)
        WHERE o.id = u.id
        RETURNING o.id, o.status, o.version
     ), h AS (
       INSERT INTO order_history (order_id, status, reason, cause_event_id, cause_type, actor)
       SELECT * FROM unnest($5::uuid[], $6::text[], $7::text[], $8::uuid[], $9::text[], $15::text[])
     ), p AS (
       UPDATE order_items i SET unit_price_cents = p.price
         FROM unnest($12::uuid[], $13::text[], $14::bigint[]) AS p(order_id, sku, price)
        WHERE i.order_id = p.order_id AND i.sku = p.sku
     )
     SELECT id::text, status, version FROM o`,
    orders.map((o) => o.change.orderId),
    orders.map((o) => o.change.status),
    orders.map((o) => o.change.cancelReason),
    orders.map((o) => o.steps),
    changes.map((c) => c.orderId),
    changes.map((c) => c.status),
    changes.map((c) => c.cancelReason),
    changes.map((c) => c.cause.eventId),
    changes.map((c) => c.cause.type),
    orders.map((o) => o.change.deadlineAt?.toISOString() ?? null),
    orders.map((o) => pricing.get(o.change.orderId)?.totalCents ?? null),
    pricedLines.map((l) => l.orderId),
    pricedLines.map((l) => l.sku),
    pricedLines.map((l) => l.unitPriceCents),
    changes.map((c) => c.cause.actor ?? null),
  );
  return rows.map((r) => ({ orderId: r.id, status: r.status, version: Number(r.version) }));
}

/** An order's events into the outbox, caused by `causationId` (null: a request or the sweeper), in the trace of `trace`. */
export async function appendOrderEvents(
  tx: Tx,
  orderId: string,
  events: readonly OrderEvent[],
  causationId: string | null,
  trace?: TraceHeaders,
): Promise<void> {
  await appendToOutbox(tx, toEnvelopes(orderId, events, causationId, trace));
}

/** The live order holding this Idempotency-Key (one whose key expired does not count). */
export async function findByIdempotencyKey(db: Db, key: string) {
  const order = await db.order.findUnique({ where: { idempotencyKey: key }, select: { id: true, requestFingerprint: true, idempotencyExpiresAt: true } });
  if (!order || (order.idempotencyExpiresAt && order.idempotencyExpiresAt < new Date())) return undefined;
  return order;
}

export async function loadOrderView(db: Db, id: string) {
  return db.order.findUnique({
    where: { id },
    include: { items: { orderBy: { lineNo: 'asc' } }, history: { orderBy: { id: 'asc' } } },
  });
}

/** Newest first by id (uuid v7: time-ordered and unique, so `after` is an exact keyset cursor). */
export async function listOrders(db: Db, q: { customerId?: string; status?: string; limit: number; after?: string }) {
  return db.order.findMany({
    where: { customerId: q.customerId, status: q.status, ...(q.after ? { id: { lt: q.after } } : {}) },
    orderBy: { id: 'desc' },
    take: q.limit + 1,
    include: { items: { orderBy: { lineNo: 'asc' } } },
  });
}

/**
 * Open orders past their deadline, locked and skipped by other sweepers (SKIP LOCKED). The open
 * statuses are written out as in the partial index orders_open_deadline_idx, so the planner can
 * use it (a parameter there would not match the index predicate).
 */
export async function lockOverdue(tx: Tx, limit: number): Promise<string[]> {
  const rows = await tx.$queryRawUnsafe<{ id: string }[]>(
    `SELECT id::text FROM orders WHERE status IN ('CREATED', 'PAYMENT_PENDING') AND deadline_at < now()
      ORDER BY deadline_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
    limit,
  );
  return rows.map((r) => r.id);
}

/**
 * The open orders: how many, how many placed more than `lateMs` ago, the oldest one's age. Reads
 * the open orders through the partial index on open statuses (the statuses written out, as in
 * lockOverdue), so it costs what the backlog holds, not the table.
 */
export async function readBacklog(db: SqlDatabase, lateMs: number): Promise<Backlog> {
  const [row] = await db.query<{ open: number; late: number; oldest_ms: number | null }>(
    `SELECT count(*)::int AS open, count(*) FILTER (WHERE created_at < now() - $1 * interval '1 millisecond')::int AS late,
            (extract(epoch FROM now() - min(created_at)) * 1000)::float8 AS oldest_ms
       FROM orders WHERE status IN ('CREATED', 'PAYMENT_PENDING')`,
    lateMs,
  );
  return { open: row.open, late: row.late, oldestMs: row.oldest_ms ?? 0 };
}
