// Stock levels an operator sets or adjusts. Every write is one conditional statement, so a
// reservation that commits between an operator's read and write is never overwritten: an
// absolute level applies only at the version the operator saw, a relative one applies to
// whatever the level is by then.
import { eventEnvelope, type InventoryEvent } from '@shop/lib/events/catalog';
import { appendToOutbox } from '@shop/lib/outbox/append';
import type { Tx } from '@shop/lib/db/prisma';

export interface Product {
  sku: string;
  name: string;
  onHand: number;
  reserved: number;
  version: number;
  /** The catalog price per unit; null for a product stocked before prices existed (not orderable). */
  priceCents: number | null;
  currency: string | null;
}

/** What PUT /products/:sku sets: the whole product but what is reserved. */
export interface ProductFields {
  name: string;
  onHand: number;
  priceCents: number;
  currency: string;
}

// price_cents is BIGINT, bounded by MAX_PRICE_CENTS: as int it reads as a JS number.
const COLUMNS = 'sku, name, on_hand AS "onHand", reserved, version, price_cents::int AS "priceCents", currency';
export const MAX_ON_HAND = 1_000_000_000;
export const MAX_PRICE_CENTS = 1_000_000_000;

export type WriteOutcome =
  | { outcome: 'written'; product: Product; before: Product }
  | { outcome: 'missing' }
  | { outcome: 'version_mismatch'; current: Product }
  | { outcome: 'below_reserved'; current: Product }
  | { outcome: 'above_maximum'; current: Product };

const lockProduct = async (tx: Tx, sku: string) => (await tx.$queryRawUnsafe<Product[]>(`SELECT ${COLUMNS} FROM products WHERE sku = $1 FOR UPDATE`, sku))[0];

/** Creates the product; undefined when it already exists (nothing written). */
export async function createProduct(tx: Tx, sku: string, fields: ProductFields): Promise<Product | undefined> {
  const [product] = await tx.$queryRawUnsafe<Product[]>(
    `INSERT INTO products (sku, name, on_hand, price_cents, currency) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sku) DO NOTHING RETURNING ${COLUMNS}`,
    sku,
    fields.name,
    fields.onHand,
    fields.priceCents,
    fields.currency,
  );
  if (product) await emitLevel(tx, product, { type: 'StockLevelSet', payload: { sku, ...fields } });
  return product;
}

/**
 * Sets name, on-hand and price if the product is still at `version`, and keeps what is reserved.
 * The row lock orders a price change with the reservations: each is priced at the price in force
 * when it took the lock.
 */
export async function setProduct(tx: Tx, sku: string, fields: ProductFields, version: number | '*'): Promise<WriteOutcome> {
  const current = await lockProduct(tx, sku);
  if (!current) return { outcome: 'missing' };
  if (version !== '*' && current.version !== version) return { outcome: 'version_mismatch', current };
  if (fields.onHand < current.reserved) return { outcome: 'below_reserved', current };
  const [product] = await tx.$queryRawUnsafe<Product[]>(
    `UPDATE products SET name = $2, on_hand = $3, price_cents = $4, currency = $5, version = version + 1, updated_at = now() WHERE sku = $1 RETURNING ${COLUMNS}`,
    sku,
    fields.name,
    fields.onHand,
    fields.priceCents,
    fields.currency,
  );
  await emitLevel(tx, product, { type: 'StockLevelSet', payload: { sku, ...fields } });
  return { outcome: 'written', product, before: current };
}

/** Adds `delta` (negative for a write-off) to on-hand, whatever the current version. */
export async function adjustProduct(tx: Tx, sku: string, delta: number, reason: string): Promise<WriteOutcome> {
  const current = await lockProduct(tx, sku);
  if (!current) return { outcome: 'missing' };
  const onHand = current.onHand + delta;
  if (onHand < current.reserved) return { outcome: 'below_reserved', current };
  if (onHand > MAX_ON_HAND) return { outcome: 'above_maximum', current };
  const [product] = await tx.$queryRawUnsafe<Product[]>(
    `UPDATE products SET on_hand = on_hand + $2, version = version + 1, updated_at = now() WHERE sku = $1 RETURNING ${COLUMNS}`,
    sku,
    delta,
  );
  await emitLevel(tx, product, { type: 'StockAdjusted', payload: { sku, delta, reason, onHand: product.onHand } });
  return { outcome: 'written', product, before: current };
}

const emitLevel = (tx: Tx, product: Product, event: InventoryEvent) =>
  appendToOutbox(tx, eventEnvelope(event, { aggregateId: product.sku, correlationId: product.sku, causationId: null }));
