import { describe, expect, it } from 'vitest';
import { canSettle, commit, decideReservation, emptyBook, mergeLines, release, reserve, type Product, type Reservation } from './stock.ts';

/** Products with what is left and a price in EUR (100 cents unless given). */
const levels = (...rows: [sku: string, available: number, priceCents?: number | null, currency?: string][]) => {
  const m = new Map(
    rows.map(([sku, available, priceCents = 100, currency = 'EUR']) => [sku, { available, priceCents, currency: priceCents === null ? null : currency }]),
  );
  return (sku: string) => m.get(sku);
};
const product = (sku: string, onHand: number, reserved = 0): Product => ({ sku, onHand, reserved, version: 7, priceCents: 100, currency: 'EUR' });
/** An order in EUR; a line's third element is the price the client was shown. */
const order = (...lines: [sku: string, quantity: number, expected?: number][]) => ({
  currency: 'EUR',
  items: lines.map(([sku, quantity, expected]) => ({ sku, quantity, ...(expected === undefined ? {} : { expectedUnitPriceCents: expected }) })),
});

describe('reservation rules', () => {
  it('reserves every line when all are available, priced at the catalog price', () => {
    expect(decideReservation('o', order(['A', 2], ['B', 1]), levels(['A', 2, 250], ['B', 5, 1000]), undefined)).toEqual({
      outcome: 'reserve',
      lines: [
        { sku: 'A', quantity: 2, unitPriceCents: 250 },
        { sku: 'B', quantity: 1, unitPriceCents: 1000 },
      ],
      totalCents: 1500,
    });
  });

  it('never takes the price a client sent: one that differs from the catalog rejects the order (PRICE_CHANGED)', () => {
    expect(decideReservation('o', order(['A', 5, 1]), levels(['A', 9, 999]), undefined)).toEqual({
      outcome: 'reject',
      event: {
        type: 'StockRejected',
        payload: { orderId: 'o', reason: 'PRICE_CHANGED', shortages: [], prices: [{ sku: 'A', expectedCents: 1, priceCents: 999 }] },
      },
    });
    expect(decideReservation('o', order(['A', 5, 999]), levels(['A', 9, 999]), undefined)).toMatchObject({ outcome: 'reserve', totalCents: 4995 });
  });

  it('rejects a product without a price, or priced in another currency (NOT_PRICED)', () => {
    for (const offer of [levels(['A', 9, null]), levels(['A', 9, 100, 'USD'])])
      expect(decideReservation('o', order(['A', 1]), offer, undefined)).toMatchObject({
        outcome: 'reject',
        event: { payload: { reason: 'NOT_PRICED', prices: [{ sku: 'A', priceCents: null }] } },
      });
  });

  it('rejects the whole order when one line is short, naming the shortage', () => {
    const d = decideReservation('o', order(['A', 1], ['B', 6]), levels(['A', 9], ['B', 5]), undefined);
    expect(d).toEqual({
      outcome: 'reject',
      event: { type: 'StockRejected', payload: { orderId: 'o', reason: 'INSUFFICIENT_STOCK', shortages: [{ sku: 'B', requested: 6, available: 5 }] } },
    });
  });

  it('rejects unknown SKUs', () => {
    expect(decideReservation('o', order(['Z', 1]), levels(), undefined)).toMatchObject({
      outcome: 'reject',
      event: { payload: { reason: 'UNKNOWN_SKU' } },
    });
  });

  it('refuses a reservation that arrives after its release (the marker)', () => {
    expect(decideReservation('o', order(['A', 1]), levels(['A', 9]), 'RELEASED')).toMatchObject({
      outcome: 'reject',
      event: { payload: { reason: 'ALREADY_RELEASED' } },
    });
  });

  it('ignores a second request for an order that already has a reservation', () => {
    expect(decideReservation('o', order(['A', 1]), levels(['A', 9]), 'RESERVED').outcome).toBe('ignore');
  });

  it('reserves one line per SKU, in SKU order, whatever the order lists', () => {
    expect(
      mergeLines([
        { sku: 'B', quantity: 2 },
        { sku: 'A', quantity: 1 },
        { sku: 'B', quantity: 3 },
      ]),
    ).toEqual([
      { sku: 'A', quantity: 1 },
      { sku: 'B', quantity: 5 },
    ]);
    expect(mergeLines([])).toEqual([]);
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

describe('a batch decided over one stock book', () => {
  it('decides competing orders for one SKU in batch order against the running availability', () => {
    const book = emptyBook([product('A', 5), product('B', 1)], new Map());
    const steps = [
      reserve(book, 'o1', order(['A', 3])),
      reserve(book, 'o2', order(['A', 2], ['B', 1])),
      reserve(book, 'o3', order(['A', 1])), // A is gone: 3 + 2 of 5
      reserve(book, 'o4', order(['B', 1])), // B is gone too
    ];
    expect(steps.map((s) => s.event?.type)).toEqual(['StockReserved', 'StockReserved', 'StockRejected', 'StockRejected']);
    expect(steps[2].event).toMatchObject({ payload: { reason: 'INSUFFICIENT_STOCK', shortages: [{ sku: 'A', requested: 1, available: 0 }] } });
    expect(book.products.get('A')).toMatchObject({ onHand: 5, reserved: 5, version: 7 });
    expect(book.products.get('B')).toMatchObject({ onHand: 1, reserved: 1 });
    expect([...book.changedReservations]).toEqual(['o1', 'o2', 'o3', 'o4']);
    expect(book.reservations.get('o3')).toEqual({ status: 'REJECTED', lines: [], created: true });
  });

  it('lets a later message of the same order see the earlier one: reserve, commit, and a release after it', () => {
    const book = emptyBook([product('A', 4)], new Map());
    const steps = [
      reserve(book, 'o1', order(['A', 3])),
      reserve(book, 'o2', order(['A', 2])), // only 1 left while o1 holds 3
      commit(book, 'o1'),
      release(book, 'o1'), // already committed: nothing to release
      reserve(book, 'o2', order(['A', 1])), // o2 has its rejection already
      reserve(book, 'o3', order(['A', 1])), // the unit o1 did not take
    ];
    expect(steps.map((s) => s.event?.type)).toEqual(['StockReserved', 'StockRejected', 'StockCommitted', undefined, undefined, 'StockReserved']);
    expect(book.products.get('A')).toMatchObject({ onHand: 1, reserved: 1 });
    expect(book.reservations.get('o1')).toEqual({ status: 'COMMITTED', lines: [{ sku: 'A', quantity: 3, unitPriceCents: 100 }], created: true });
    expect(steps[0].event).toEqual({
      type: 'StockReserved',
      payload: { orderId: 'o1', currency: 'EUR', totalCents: 300, lines: [{ sku: 'A', quantity: 3, unitPriceCents: 100 }] },
    });
  });

  it('frees the units of a released reservation for the next order of the batch, and leaves a marker for one not yet seen', () => {
    const loaded = new Map<string, Reservation>([['o1', { status: 'RESERVED', lines: [{ sku: 'A', quantity: 2, unitPriceCents: 100 }], created: false }]]);
    const book = emptyBook([product('A', 2, 2)], loaded);
    const steps = [
      reserve(book, 'o2', order(['A', 2])),
      release(book, 'o1'),
      reserve(book, 'o3', order(['A', 2])),
      release(book, 'o4'),
      reserve(book, 'o4', order(['A', 1])),
    ];
    expect(steps.map((s) => s.event?.type)).toEqual(['StockRejected', 'StockReleased', 'StockReserved', undefined, 'StockRejected']);
    expect(steps[4].event).toMatchObject({ payload: { reason: 'ALREADY_RELEASED' } });
    expect(book.products.get('A')).toMatchObject({ onHand: 2, reserved: 2 });
    expect(book.reservations.get('o1')).toEqual({ status: 'RELEASED', lines: [{ sku: 'A', quantity: 2, unitPriceCents: 100 }], created: false });
    expect(book.reservations.get('o4')).toEqual({ status: 'RELEASED', lines: [], created: true });
  });
});
