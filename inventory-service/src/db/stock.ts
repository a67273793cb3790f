// Loads and stores of a batch's StockBook (domain/stock.ts): two reads and at most three writes
// per batch, however many orders it holds. Every row is locked at load in one canonical order
// (reservations by order id, then products by SKU), so two batches that share SKUs never deadlock:
// the later one waits at its load and then decides on what the earlier one committed.
import type { Tx } from '@shop/lib/db/prisma';
import { LostRaceError } from '@shop/lib/messaging/transactional';
import { canSettle, emptyBook, type Product, type Reservation, type ReservationStatus, type ReservedLine, type StockBook } from '../domain/stock.ts';

/** The reservations of `orderIds` with their lines, and the products they or `skus` name, all locked. */
export async function loadBook(tx: Tx, orderIds: string[], skus: string[]): Promise<StockBook> {
  const rows = await tx.$queryRawUnsafe<{ order_id: string; status: ReservationStatus; lines: ReservedLine[] }[]>(
    `SELECT r.order_id::text, r.status,
            COALESCE((SELECT json_agg(json_build_object('sku', l.sku, 'quantity', l.quantity, 'unitPriceCents', l.unit_price_cents) ORDER BY l.sku)
                        FROM reservation_lines l WHERE l.order_id = r.order_id), '[]') AS lines
       FROM reservations r WHERE r.order_id = ANY($1::uuid[]) ORDER BY r.order_id FOR UPDATE`,
    orderIds,
  );
  const reservations = new Map<string, Reservation>(rows.map((r) => [r.order_id, { status: r.status, lines: r.lines, created: false }]));
  // Only a live reservation can be released or committed: the lines of settled ones move nothing.
  const wanted = new Set([...skus, ...rows.filter((r) => canSettle(r.status)).flatMap((r) => r.lines.map((l) => l.sku))]);
  // The price is read under the same lock as the stock: what a reservation prices at is the
  // catalog's price at the moment it commits (a price change waits for it, or it for the change).
  const products = await tx.$queryRawUnsafe<
    { sku: string; on_hand: number; reserved: number; version: number; price_cents: string | null; currency: string | null }[]
  >('SELECT sku, on_hand, reserved, version, price_cents::text, currency FROM products WHERE sku = ANY($1::text[]) ORDER BY sku FOR UPDATE', [...wanted]);
  return emptyBook(
    products.map((p): Product => ({
      sku: p.sku,
      onHand: p.on_hand,
      reserved: p.reserved,
      version: p.version,
      priceCents: p.price_cents === null ? null : Number(p.price_cents),
      currency: p.currency,
    })),
    reservations,
  );
}

/**
 * Writes what the book's events changed. Each product row is written once, with the version it
 * was loaded at checked and bumped (the rows are locked, so a mismatch means a writer that does
 * not lock: LostRaceError, and the runner decides the batch again). The CHECK constraints make an
 * oversell impossible even if this code were wrong.
 */
export async function storeBook(tx: Tx, book: StockBook): Promise<void> {
  const products = [...book.changedProducts].sort().map((sku) => book.products.get(sku)!);
  if (products.length > 0) {
    const updated = await tx.$executeRawUnsafe(
      `UPDATE products p SET on_hand = u.on_hand, reserved = u.reserved, version = p.version + 1, updated_at = now()
         FROM unnest($1::text[], $2::int[], $3::int[], $4::int[]) AS u(sku, on_hand, reserved, version)
        WHERE p.sku = u.sku AND p.version = u.version`,
      products.map((p) => p.sku),
      products.map((p) => p.onHand),
      products.map((p) => p.reserved),
      products.map((p) => p.version),
    );
    if (updated !== products.length) throw new LostRaceError('stock of a product in the batch');
  }
  const changed = [...book.changedReservations].sort().map((orderId) => ({ orderId, ...book.reservations.get(orderId)! }));
  if (changed.length === 0) return;
  await tx.$executeRawUnsafe(
    `INSERT INTO reservations (order_id, status) SELECT * FROM unnest($1::uuid[], $2::text[])
     ON CONFLICT (order_id) DO UPDATE SET status = EXCLUDED.status, updated_at = now()`,
    changed.map((r) => r.orderId),
    changed.map((r) => r.status),
  );
  const lines = changed.filter((r) => r.created).flatMap((r) => r.lines.map((l) => ({ orderId: r.orderId, ...l })));
  if (lines.length === 0) return;
  await tx.$executeRawUnsafe(
    'INSERT INTO reservation_lines (order_id, sku, quantity, unit_price_cents) SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[], $4::bigint[])',
    lines.map((l) => l.orderId),
    lines.map((l) => l.sku),
    lines.map((l) => l.quantity),
    lines.map((l) => l.unitPriceCents),
  );
}
