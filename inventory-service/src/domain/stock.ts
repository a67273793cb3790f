// Reservation rules, pure: all lines or none, never below zero available. A consumed batch is
// decided here over a StockBook (what the batch loaded, and the changes of the events decided so
// far), so orders competing for one SKU within a batch are decided in batch order against the
// running availability, and the book's changes are written once, set-based.
// Prices too: a reservation prices the lines at the catalog's price of that moment (the product
// rows are locked), and that is what the customer is charged.
import { assertNever, type InventoryEvent, type OrderLine, type PricedLine } from '@shop/lib/events/catalog';

export type ReservationStatus = 'RESERVED' | 'REJECTED' | 'COMMITTED' | 'RELEASED';

export interface Line {
  sku: string;
  quantity: number;
}

/** A reserved line; its price is null for reservations made before products had prices. */
export interface ReservedLine extends Line {
  unitPriceCents: number | null;
}

type StockRejected = Extract<InventoryEvent, { type: 'StockRejected' }>;

export type ReservationDecision =
  { outcome: 'reserve'; lines: PricedLine[]; totalCents: number } | { outcome: 'reject'; event: StockRejected } | { outcome: 'ignore'; why: string };

/** What an order asks to reserve: its currency and its lines as the customer placed them. */
export interface OrderToReserve {
  currency: string;
  items: readonly OrderLine[];
}

/** A product as a reservation sees it: what is left, and its price (null: none). */
export interface Offer {
  available: number;
  priceCents: number | null;
  currency: string | null;
}

/** One reservation line per SKU of an order's lines, in SKU order. */
export function mergeLines(items: readonly Line[]): Line[] {
  const bySku = new Map<string, number>();
  for (const i of items) bySku.set(i.sku, (bySku.get(i.sku) ?? 0) + i.quantity);
  return [...bySku].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([sku, quantity]) => ({ sku, quantity }));
}

const reject = (orderId: string, reason: StockRejected['payload']['reason'], rest: Partial<StockRejected['payload']> = {}): ReservationDecision => ({
  outcome: 'reject',
  event: { type: 'StockRejected', payload: { orderId, reason, shortages: [], ...rest } },
});

/** `offer(sku)`: what is left of a product and its price, undefined for an unknown SKU. */
export function decideReservation(
  orderId: string,
  order: OrderToReserve,
  offer: (sku: string) => Offer | undefined,
  existing: ReservationStatus | undefined,
): ReservationDecision {
  // The release overtook the reservation: the marker refuses it, so nothing is held for a dead order.
  if (existing === 'RELEASED') return reject(orderId, 'ALREADY_RELEASED');
  if (existing) return { outcome: 'ignore', why: `reservation already ${existing}` };
  const lines = mergeLines(order.items);
  const unknown = lines.filter((l) => offer(l.sku) === undefined);
  if (unknown.length > 0) return reject(orderId, 'UNKNOWN_SKU', { shortages: unknown.map((l) => ({ sku: l.sku, requested: l.quantity, available: 0 })) });
  // A product is sold in its own currency only: a price in another is no price for this order.
  const priceOf = (sku: string) => {
    const o = offer(sku)!;
    return o.currency === order.currency ? o.priceCents : null;
  };
  const unpriced = lines.filter((l) => priceOf(l.sku) === null);
  if (unpriced.length > 0) return reject(orderId, 'NOT_PRICED', { prices: unpriced.map((l) => ({ sku: l.sku, priceCents: null })) });
  const changed = order.items.filter((i) => i.expectedUnitPriceCents !== undefined && i.expectedUnitPriceCents !== priceOf(i.sku));
  if (changed.length > 0)
    return reject(orderId, 'PRICE_CHANGED', {
      prices: changed.map((i) => ({ sku: i.sku, expectedCents: i.expectedUnitPriceCents, priceCents: priceOf(i.sku) })),
    });
  const shortages = lines.map((l) => ({ sku: l.sku, requested: l.quantity, available: offer(l.sku)!.available })).filter((s) => s.available < s.requested);
  if (shortages.length > 0) return reject(orderId, 'INSUFFICIENT_STOCK', { shortages });
  const priced = lines.map((l) => ({ ...l, unitPriceCents: priceOf(l.sku)! }));
  return { outcome: 'reserve', lines: priced, totalCents: priced.reduce((sum, l) => sum + l.quantity * l.unitPriceCents, 0) };
}

/** Release and commit act only on a live reservation; anything else is already settled. */
export function canSettle(status: ReservationStatus | undefined): status is 'RESERVED' {
  return status === 'RESERVED';
}

export interface Product {
  sku: string;
  onHand: number;
  reserved: number;
  version: number;
  priceCents: number | null;
  currency: string | null;
}

export interface Reservation {
  status: ReservationStatus;
  lines: ReservedLine[];
  /** The row did not exist when the batch loaded: it is inserted, with its lines. */
  created: boolean;
}

/** What a batch loaded, changed in place as its events are decided; `store` writes the changes. */
export interface StockBook {
  products: Map<string, Product>;
  reservations: Map<string, Reservation>;
  /** SKUs whose on_hand or reserved changed. */
  changedProducts: Set<string>;
  /** Orders whose reservation row is new or has a new status. */
  changedReservations: Set<string>;
}

export const emptyBook = (products: Product[], reservations: Map<string, Reservation>): StockBook => ({
  products: new Map(products.map((p) => [p.sku, p])),
  reservations,
  changedProducts: new Set(),
  changedReservations: new Set(),
});

/** What one step did: the event to publish (if any) and a line for the log. */
export interface Step {
  event?: InventoryEvent;
  summary: string;
}

function setReservation(book: StockBook, orderId: string, status: ReservationStatus, lines: ReservedLine[] = []) {
  const current = book.reservations.get(orderId);
  book.reservations.set(orderId, current ? { ...current, status } : { status, lines, created: true });
  book.changedReservations.add(orderId);
}

function moveUnits(book: StockBook, lines: Line[], change: (p: Product, quantity: number) => void) {
  for (const line of lines) {
    change(book.products.get(line.sku)!, line.quantity);
    book.changedProducts.add(line.sku);
  }
}

export function reserve(book: StockBook, orderId: string, order: OrderToReserve): Step {
  const existing = book.reservations.get(orderId)?.status;
  const offer = (sku: string): Offer | undefined => {
    const p = book.products.get(sku);
    return p && { available: p.onHand - p.reserved, priceCents: p.priceCents, currency: p.currency };
  };
  const decision = decideReservation(orderId, order, offer, existing);
  switch (decision.outcome) {
    case 'ignore':
      return { summary: `reservation ignored: ${decision.why}` };
    case 'reject':
      if (!existing) setReservation(book, orderId, 'REJECTED');
      return { event: decision.event, summary: `stock rejected: ${decision.event.payload.reason}` };
    case 'reserve':
      moveUnits(book, decision.lines, (p, q) => (p.reserved += q));
      setReservation(book, orderId, 'RESERVED', decision.lines);
      return {
        event: { type: 'StockReserved', payload: { orderId, currency: order.currency, totalCents: decision.totalCents, lines: decision.lines } },
        summary: 'stock reserved',
      };
    default:
      return assertNever(decision);
  }
}

/** With no reservation yet, leaves the RELEASED marker that refuses it when it arrives later. */
export function release(book: StockBook, orderId: string): Step {
  const current = book.reservations.get(orderId);
  if (!current) {
    setReservation(book, orderId, 'RELEASED');
    return { summary: 'nothing reserved to release' };
  }
  if (!canSettle(current.status)) return { summary: 'nothing reserved to release' };
  moveUnits(book, current.lines, (p, q) => (p.reserved -= q));
  setReservation(book, orderId, 'RELEASED');
  return { event: { type: 'StockReleased', payload: { orderId } }, summary: 'stock released' };
}

/** The order completed: the reserved units leave the shelf. */
export function commit(book: StockBook, orderId: string): Step {
  const current = book.reservations.get(orderId);
  if (!canSettle(current?.status)) return { summary: 'nothing reserved to commit' };
  moveUnits(book, current.lines, (p, q) => {
    p.onHand -= q;
    p.reserved -= q;
  });
  setReservation(book, orderId, 'COMMITTED');
  return { event: { type: 'StockCommitted', payload: { orderId } }, summary: 'stock committed' };
}
