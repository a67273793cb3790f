import { describe, expect, it } from 'vitest';
import { canSettle, decideReservation, type StockLevel } from './stock.ts';

const stock = (...levels: [string, number][]) => new Map<string, StockLevel>(levels.map(([sku, available]) => [sku, { sku, available, version: 3 }]));

describe('reservation rules', () => {
  it('reserves every line when all are available, carrying the versions it read', () => {
    expect(
      decideReservation(
        'o',
        [
          { sku: 'A', quantity: 2 },
          { sku: 'B', quantity: 1 },
        ],
        stock(['A', 2], ['B', 5]),
        undefined,
      ),
    ).toEqual({
      outcome: 'reserve',
      lines: [
        { sku: 'A', quantity: 2, version: 3 },
        { sku: 'B', quantity: 1, version: 3 },
      ],
    });
  });

  it('rejects the whole order when one line is short, naming the shortage', () => {
    const d = decideReservation(
      'o',
      [
        { sku: 'A', quantity: 1 },
        { sku: 'B', quantity: 6 },
      ],
      stock(['A', 9], ['B', 5]),
      undefined,
    );
    expect(d).toEqual({
      outcome: 'reject',
      event: { type: 'StockRejected', payload: { orderId: 'o', reason: 'INSUFFICIENT_STOCK', shortages: [{ sku: 'B', requested: 6, available: 5 }] } },
    });
  });

  it('rejects unknown SKUs', () => {
    expect(decideReservation('o', [{ sku: 'Z', quantity: 1 }], stock(), undefined)).toMatchObject({
      outcome: 'reject',
      event: { payload: { reason: 'UNKNOWN_SKU' } },
    });
  });

  it('refuses a reservation that arrives after its release (the marker)', () => {
    expect(decideReservation('o', [{ sku: 'A', quantity: 1 }], stock(['A', 9]), 'RELEASED')).toMatchObject({
      outcome: 'reject',
      event: { payload: { reason: 'ALREADY_RELEASED' } },
    });
  });

  it('ignores a second request for an order that already has a reservation', () => {
    expect(decideReservation('o', [{ sku: 'A', quantity: 1 }], stock(['A', 9]), 'RESERVED').outcome).toBe('ignore');
  });

  it('settles only live reservations', () => {
    expect([canSettle('RESERVED'), canSettle('RELEASED'), canSettle('COMMITTED'), canSettle('REJECTED'), canSettle(undefined)]).toEqual([
      true,
      false,
      false,
      false,
      false,
    ]);
  });
});
