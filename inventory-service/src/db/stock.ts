// Loads and stores of reservations; the rules are in domain/stock.ts, the steps in handlers/.
import { eventEnvelope, type InventoryEvent } from '@shop/lib/events/catalog';
import { LostRaceError } from '@shop/lib/messaging/transactional';
import { appendToOutbox } from '@shop/lib/outbox/append';
import type { Line, ReservationStatus, StockLevel } from '../domain/stock.ts';
import type { Tx } from '@shop/lib/db/prisma';

export const emit = (tx: Tx, orderId: string, event: InventoryEvent, causationId: string | null) =>
  appendToOutbox(tx, eventEnvelope(event, { aggregateId: orderId, correlationId: orderId, causationId }));

/** The order's reservation, locked for the rest of the transaction. */
export async function reservationStatus(tx: Tx, orderId: string): Promise<ReservationStatus | undefined> {
  const rows = await tx.$queryRawUnsafe<{ status: ReservationStatus }[]>('SELECT status FROM reservations WHERE order_id = $1::uuid FOR UPDATE', orderId);
  return rows[0]?.status;
}

/** The products of `lines`: what is available of each and its version, for the reservation rules. */
export async function stockLevels(tx: Tx, lines: Line[]): Promise<Map<string, StockLevel>> {
  const rows = await tx.$queryRawUnsafe<StockLevel[]>(
    'SELECT sku, on_hand - reserved AS available, version FROM products WHERE sku = ANY($1::text[])',
    lines.map((l) => l.sku),
  );
  return new Map(rows.map((r) => [r.sku, r]));
}

/**
 * Holds each line's units if its product is still at the version that was read and enough is
 * still available; otherwise LostRaceError, and the runner tries the whole transaction again.
 * The CHECK constraints make an oversell impossible even if this code were wrong.
 */
export async function holdStock(tx: Tx, orderId: string, lines: (Line & { version: number })[]): Promise<void> {
  for (const line of lines) {
    const updated = await tx.$executeRawUnsafe(
      `UPDATE products SET reserved = reserved + $2, version = version + 1, updated_at = now()
        WHERE sku = $1 AND version = $3 AND on_hand - reserved >= $2`,
      line.sku,
      line.quantity,
      line.version,
    );
    if (updated !== 1) throw new LostRaceError(`stock of ${line.sku}`);
  }
  await tx.$executeRawUnsafe(
    `WITH r AS (INSERT INTO reservations (order_id, status) VALUES ($1::uuid, 'RESERVED') RETURNING order_id)
     INSERT INTO reservation_lines (order_id, sku, quantity) SELECT r.order_id, l.sku, l.quantity FROM r, unnest($2::text[], $3::int[]) AS l(sku, quantity)`,
    orderId,
    lines.map((l) => l.sku),
    lines.map((l) => l.quantity),
  );
}

/** Records a refused reservation, so a redelivery or a late one finds it settled. */
export async function recordRejection(tx: Tx, orderId: string): Promise<void> {
  await tx.$executeRawUnsafe("INSERT INTO reservations (order_id, status) VALUES ($1::uuid, 'REJECTED') ON CONFLICT DO NOTHING", orderId);
}

/** With no reservation yet, leaves the RELEASED marker that refuses it when it arrives later. */
export async function markReleased(tx: Tx, orderId: string): Promise<void> {
  await tx.$executeRawUnsafe("INSERT INTO reservations (order_id, status) VALUES ($1::uuid, 'RELEASED') ON CONFLICT DO NOTHING", orderId);
}

/** Gives the reserved units back. */
export const releaseStock = (tx: Tx, orderId: string) => settle(tx, orderId, 'RELEASED', 'reserved = reserved - l.quantity');

/** The order completed: the reserved units leave the shelf. */
export const commitStock = (tx: Tx, orderId: string) => settle(tx, orderId, 'COMMITTED', 'on_hand = on_hand - l.quantity, reserved = reserved - l.quantity');

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
