import { AppError } from '@shop/lib/errors';
import { eventEnvelope, type InventoryEvent } from '@shop/lib/events/catalog';
import { appendToOutbox } from '@shop/lib/outbox/append';
import { canSettle, decideReservation, type Line, type ReservationStatus, type StockLevel } from '../domain/stock.ts';
import type { Tx } from './client.ts';

/** Another reservation changed a product between our read and our write: retry from the read. */
export class LostRaceError extends AppError {
  constructor(sku: string) {
    super('lost_race', `stock of ${sku} changed concurrently`, { canRetry: true });
  }
}

export const emit = (tx: Tx, orderId: string, event: InventoryEvent, causationId: string | null) =>
  appendToOutbox(tx, eventEnvelope(event, { aggregateId: orderId, correlationId: orderId, causationId }));

async function reservationStatus(tx: Tx, orderId: string): Promise<ReservationStatus | undefined> {
  const rows = await tx.$queryRawUnsafe<{ status: ReservationStatus }[]>('SELECT status FROM reservations WHERE order_id = $1::uuid FOR UPDATE', orderId);
  return rows[0]?.status;
}

/**
 * Reserves every line or none. Optimistic: read availability and versions, then update each
 * product only if its version is unchanged and enough is still available; a lost race throws
 * LostRaceError and the caller retries the whole transaction. The CHECK constraints make an
 * oversell impossible even if this code were wrong.
 */
export async function reserve(tx: Tx, orderId: string, lines: Line[], causationId: string): Promise<InventoryEvent | undefined> {
  const existing = await reservationStatus(tx, orderId);
  const rows = await tx.$queryRawUnsafe<StockLevel[]>(
    'SELECT sku, on_hand - reserved AS available, version FROM products WHERE sku = ANY($1::text[])',
    lines.map((l) => l.sku),
  );
  const decision = decideReservation(orderId, lines, new Map(rows.map((r) => [r.sku, r])), existing);
  if (decision.outcome === 'ignore') return undefined;
  if (decision.outcome === 'reject') {
    if (!existing) await tx.$executeRawUnsafe("INSERT INTO reservations (order_id, status) VALUES ($1::uuid, 'REJECTED')", orderId);
    await emit(tx, orderId, decision.event, causationId);
    return decision.event;
  }
  for (const line of decision.lines) {
    const updated = await tx.$executeRawUnsafe(
      `UPDATE products SET reserved = reserved + $2, version = version + 1, updated_at = now()
        WHERE sku = $1 AND version = $3 AND on_hand - reserved >= $2`,
      line.sku,
      line.quantity,
      line.version,
    );
    if (updated !== 1) throw new LostRaceError(line.sku);
  }
  await tx.$executeRawUnsafe(
    `WITH r AS (INSERT INTO reservations (order_id, status) VALUES ($1::uuid, 'RESERVED') RETURNING order_id)
     INSERT INTO reservation_lines (order_id, sku, quantity) SELECT r.order_id, l.sku, l.quantity FROM r, unnest($2::text[], $3::int[]) AS l(sku, quantity)`,
    orderId,
    lines.map((l) => l.sku),
    lines.map((l) => l.quantity),
  );
  const event: InventoryEvent = { type: 'StockReserved', payload: { orderId } };
  await emit(tx, orderId, event, causationId);
  return event;
}

/** Gives reserved stock back; with no reservation yet, leaves the RELEASED marker that refuses it later. */
export async function release(tx: Tx, orderId: string, causationId: string): Promise<InventoryEvent | undefined> {
  await tx.$executeRawUnsafe("INSERT INTO reservations (order_id, status) VALUES ($1::uuid, 'RELEASED') ON CONFLICT DO NOTHING", orderId);
  const status = await reservationStatus(tx, orderId);
  if (!canSettle(status)) return undefined;
  await settle(tx, orderId, 'RELEASED', 'reserved = reserved - l.quantity');
  const event: InventoryEvent = { type: 'StockReleased', payload: { orderId } };
  await emit(tx, orderId, event, causationId);
  return event;
}

/** The order completed: the reserved units leave the shelf. */
export async function commit(tx: Tx, orderId: string, causationId: string): Promise<InventoryEvent | undefined> {
  const status = await reservationStatus(tx, orderId);
  if (!canSettle(status)) return undefined;
  await settle(tx, orderId, 'COMMITTED', 'on_hand = on_hand - l.quantity, reserved = reserved - l.quantity');
  const event: InventoryEvent = { type: 'StockCommitted', payload: { orderId } };
  await emit(tx, orderId, event, causationId);
  return event;
}

async function settle(tx: Tx, orderId: string, status: ReservationStatus, change: string): Promise<void> {
  // A deadlock with a concurrent reservation surfaces as 40P01, which the consumer retries.
  await tx.$executeRawUnsafe(
    `UPDATE products p SET ${change}, version = p.version + 1, updated_at = now()
       FROM (SELECT sku, quantity FROM reservation_lines WHERE order_id = $1::uuid ORDER BY sku) l
      WHERE p.sku = l.sku`,
    orderId,
  );
  await tx.$executeRawUnsafe('UPDATE reservations SET status = $2, updated_at = now() WHERE order_id = $1::uuid', orderId, status);
}
