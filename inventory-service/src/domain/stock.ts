// Reservation rules, pure: all lines or none, never below zero available.
import type { InventoryEvent } from '@shop/lib/events/catalog';

export interface StockLevel {
  sku: string;
  available: number;
  version: number;
}

export type ReservationStatus = 'RESERVED' | 'REJECTED' | 'COMMITTED' | 'RELEASED';

export interface Line {
  sku: string;
  quantity: number;
}

export type ReservationDecision =
  | { outcome: 'reserve'; lines: (Line & { version: number })[] }
  | { outcome: 'reject'; event: Extract<InventoryEvent, { type: 'StockRejected' }> }
  | { outcome: 'ignore'; why: string };

export function decideReservation(
  orderId: string,
  lines: Line[],
  stock: Map<string, StockLevel>,
  existing: ReservationStatus | undefined,
): ReservationDecision {
  if (existing === 'RELEASED') {
    // The release overtook the reservation: the marker refuses it, so nothing is held for a dead order.
    return { outcome: 'reject', event: { type: 'StockRejected', payload: { orderId, reason: 'ALREADY_RELEASED', shortages: [] } } };
  }
  if (existing) return { outcome: 'ignore', why: `reservation already ${existing}` };
  const unknown = lines.filter((l) => !stock.has(l.sku));
  if (unknown.length > 0) {
    return {
      outcome: 'reject',
      event: {
        type: 'StockRejected',
        payload: { orderId, reason: 'UNKNOWN_SKU', shortages: unknown.map((l) => ({ sku: l.sku, requested: l.quantity, available: 0 })) },
      },
    };
  }
  const shortages = lines.map((l) => ({ sku: l.sku, requested: l.quantity, available: stock.get(l.sku)!.available })).filter((s) => s.available < s.requested);
  if (shortages.length > 0) return { outcome: 'reject', event: { type: 'StockRejected', payload: { orderId, reason: 'INSUFFICIENT_STOCK', shortages } } };
  return { outcome: 'reserve', lines: lines.map((l) => ({ ...l, version: stock.get(l.sku)!.version })) };
}

/** Release and commit act only on a live reservation; anything else is already settled. */
export function canSettle(status: ReservationStatus | undefined): status is 'RESERVED' {
  return status === 'RESERVED';
}
