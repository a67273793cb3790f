import { describe, expect, it } from 'vitest';
import { canSettle, commit, decideReservation, emptyBook, mergeLines, release, reserve, type Product, type Reservation } from './stock.ts';

const levels = (...pairs: [string, number][]) => {
  const m = new Map(pairs);
  return (sku: string) => m.get(sku);
};
const product = (sku: string, onHand: number, reserved = 0): Product => ({ sku, onHand, reserved, version: 7 });

describe('reservation rules', () => {
  it('reserves every line when all are available', () => {
    const lines = [
      { sku: 'A', quantity: 2 },
      { sku: 'B', quantity: 1 },
    ];
    expect(decideReservation('o', lines, levels(['A', 2], ['B', 5]), undefined)).toEqual({ outcome: 'reserve', lines });
  });

  it('rejects the whole order when one line is short, naming the shortage', () => {
    const d = decideReservation(
      'o',
      [
        { sku: 'A', quantity: 1 },
        { sku: 'B', quantity: 6 },
      ],
      levels(['A', 9], ['B', 5]),
      undefined,
    );
    expect(d).toEqual({
      outcome: 'reject',
      event: { type: 'StockRejected', payload: { orderId: 'o', reason: 'INSUFFICIENT_STOCK', shortages: [{ sku: 'B', requested: 6, available: 5 }] } },
    });
  });

  it('rejects unknown SKUs', () => {
    expect(decideReservation('o', [{ sku: 'Z', quantity: 1 }], levels(), undefined)).toMatchObject({
      outcome: 'reject',
      event: { payload: { reason: 'UNKNOWN_SKU' } },
    });
  });

  it('refuses a reservation that arrives after its release (the marker)', () => {
    expect(decideReservation('o', [{ sku: 'A', quantity: 1 }], levels(['A', 9]), 'RELEASED')).toMatchObject({
      outcome: 'reject',
      event: { payload: { reason: 'ALREADY_RELEASED' } },
    });
  });

  it('ignores a second request for an order that already has a reservation', () => {
    expect(decideReservation('o', [{ sku: 'A', quantity: 1 }], levels(['A', 9]), 'RESERVED').outcome).toBe('ignore');
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
      reserve(book, 'o1', [{ sku: 'A', quantity: 3 }]),
      reserve(book, 'o2', [
        { sku: 'A', quantity: 2 },
        { sku: 'B', quantity: 1 },
      ]),
      reserve(book, 'o3', [{ sku: 'A', quantity: 1 }]), // A is gone: 3 + 2 of 5
      reserve(book, 'o4', [{ sku: 'B', quantity: 1 }]), // B is gone too
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
      reserve(book, 'o1', [{ sku: 'A', quantity: 3 }]),
      reserve(book, 'o2', [{ sku: 'A', quantity: 2 }]), // only 1 left while o1 holds 3
      commit(book, 'o1'),
      release(book, 'o1'), // already committed: nothing to release
      reserve(book, 'o2', [{ sku: 'A', quantity: 1 }]), // o2 has its rejection already
      reserve(book, 'o3', [{ sku: 'A', quantity: 1 }]), // the unit o1 did not take
    ];
    expect(steps.map((s) => s.event?.type)).toEqual(['StockReserved', 'StockRejected', 'StockCommitted', undefined, undefined, 'StockReserved']);
    expect(book.products.get('A')).toMatchObject({ onHand: 1, reserved: 1 });
    expect(book.reservations.get('o1')).toEqual({ status: 'COMMITTED', lines: [{ sku: 'A', quantity: 3 }], created: true });
  });

  it('frees the units of a released reservation for the next order of the batch, and leaves a marker for one not yet seen', () => {
    const loaded = new Map<string, Reservation>([['o1', { status: 'RESERVED', lines: [{ sku: 'A', quantity: 2 }], created: false }]]);
    const book = emptyBook([product('A', 2, 2)], loaded);
    const steps = [
      reserve(book, 'o2', [{ sku: 'A', quantity: 2 }]),
      release(book, 'o1'),
      reserve(book, 'o3', [{ sku: 'A', quantity: 2 }]),
      release(book, 'o4'),
      reserve(book, 'o4', [{ sku: 'A', quantity: 1 }]),
    ];
    expect(steps.map((s) => s.event?.type)).toEqual(['StockRejected', 'StockReleased', 'StockReserved', undefined, 'StockRejected']);
    expect(steps[4].event).toMatchObject({ payload: { reason: 'ALREADY_RELEASED' } });
    expect(book.products.get('A')).toMatchObject({ onHand: 2, reserved: 2 });
    expect(book.reservations.get('o1')).toEqual({ status: 'RELEASED', lines: [{ sku: 'A', quantity: 2 }], created: false });
    expect(book.reservations.get('o4')).toEqual({ status: 'RELEASED', lines: [], created: true });
  });
});
