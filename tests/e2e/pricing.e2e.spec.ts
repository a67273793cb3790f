// The catalog prices every order; the client never does. Inventory prices the lines when it
// reserves the stock (price and stock read under one row lock), the order takes its total from
// that reservation, and payment charges it. A price the client sends is only what it showed the
// customer: when the catalog's differs at the reservation, the order is cancelled PRICE_CHANGED.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pool } from '../support/infra.ts';
import { netCharged, payments, placeOrder, setStock, startStack, uniqueSku, waitTerminal, type Stack } from '../support/stack.ts';

let stack: Stack;
const inventory = pool('inventory', 2);
beforeAll(async () => {
  stack = await startStack({ env: { ORDER_DEADLINE_MS: '120000' } });
});
afterAll(() => inventory.end());

describe('prices from the catalog', { timeout: 300_000 }, () => {
  it('never charges a one-cent order one cent: the client price is refused, the catalog price charged', async () => {
    const sku = uniqueSku('PRICE');
    await setStock(stack, sku, 20, { priceCents: 1000 });

    const attack = await placeOrder(stack, { items: [{ sku, quantity: 5, unitPriceCents: 1 }] });
    expect(await waitTerminal(stack, attack.orderId)).toMatchObject({ status: 'CANCELLED', reason: 'PRICE_CHANGED', totalCents: null });
    expect((await payments(stack, attack.orderId)).charges).toEqual([]);

    const honest = await placeOrder(stack, { items: [{ sku, quantity: 5 }] });
    expect(honest.totalCents).toBeNull(); // unknown until inventory prices it
    const done = await waitTerminal(stack, honest.orderId);
    expect(done).toMatchObject({ status: 'COMPLETED', totalCents: 5000 });
    expect(await netCharged(stack, honest.orderId)).toBe(5000);

    // A product sold in EUR has no price for an order in USD; nor has one stocked before prices existed.
    const unpriced = uniqueSku('UNPRICED');
    await inventory.query(`insert into products (sku, name, on_hand) values ($1, 'old', 5)`, [unpriced]);
    for (const [items, currency] of [
      [[{ sku, quantity: 1 }], 'USD'],
      [[{ sku: unpriced, quantity: 1 }], 'EUR'],
    ] as const) {
      const res = await fetch(`${stack.url('order-service')}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': crypto.randomUUID() },
        body: JSON.stringify({ customerId: 'c', currency, paymentToken: 'tok_ok', items }),
      });
      const { orderId } = (await res.json()) as { orderId: string };
      expect(await waitTerminal(stack, orderId)).toMatchObject({ status: 'CANCELLED', reason: 'NOT_PRICED' });
      expect((await payments(stack, orderId)).charges).toEqual([]);
    }
  });

  it('charges each of 200 orders racing a price change exactly the catalog price in force when its stock was reserved', async () => {
    const [before, after] = [1000, 1500];
    const sku = uniqueSku('RACE');
    await setStock(stack, sku, 10_000, { priceCents: before });
    // The WAL says in which order reservations and the price change committed (they lock the same row).
    const slot = `price_race_${sku
      .slice(5)
      .toLowerCase()
      .replace(/[^a-z0-9]/g, '')}`;
    await inventory.query(`select pg_create_logical_replication_slot($1, 'test_decoding')`, [slot]);
    try {
      // Even orders send the price the customer saw when the page loaded (the old one); odd ones none.
      const place = (i: number) =>
        placeOrder(stack, { customerId: `racer-${i}`, items: [{ sku, quantity: 1 + (i % 3), ...(i % 2 === 0 ? { unitPriceCents: before } : {}) }] });
      const first = await Promise.all(Array.from({ length: 100 }, (_, i) => place(i)));
      await waitTerminal(stack, first[0].orderId); // one reserved at the old price for sure
      const second = Array.from({ length: 100 }, (_, i) => place(100 + i));
      const change = await fetch(`${stack.url('inventory-service')}/products/${sku}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', authorization: 'Bearer test-admin-token', 'if-match': '*' },
        body: JSON.stringify({ name: sku, onHand: 10_000, priceCents: after, currency: 'EUR' }),
      });
      expect(change.status).toBe(200);
      const placed = [...first, ...(await Promise.all(second))];
      const ended = await Promise.all(placed.map((o) => waitTerminal(stack, o.orderId, 90_000)));

      // Commit order of the outbox inserts: every reservation or refusal before the price change saw `before`.
      const { rows } = await inventory.query<{ data: string }>(`select data from pg_logical_slot_peek_changes($1, null, null)`, [slot]);
      const sequence = rows
        .map((r) => /^table public\.outbox: INSERT: .*?aggregate_id\[text\]:'([^']+)' type\[text\]:'(\w+)'/.exec(r.data))
        .filter((m): m is RegExpExecArray => m !== null)
        .map(([, aggregateId, type]) => ({ aggregateId, type }));
      const priceChangedAt = sequence.findIndex((e) => e.aggregateId === sku && e.type === 'StockLevelSet');
      expect(priceChangedAt).toBeGreaterThan(0);
      // Where each order's reservation (or refusal) committed; its commit comes later, after the payment.
      const position = new Map(sequence.flatMap((e, i) => (e.type === 'StockReserved' || e.type === 'StockRejected' ? [[e.aggregateId, i] as const] : [])));

      const seen = { before: 0, after: 0 };
      for (const [i, order] of ended.entries()) {
        const at = position.get(order.orderId);
        expect(at).toBeDefined();
        const price = at! < priceChangedAt ? before : after;
        seen[price === before ? 'before' : 'after']++;
        const quantity = 1 + (i % 3);
        const sentOldPrice = i % 2 === 0;
        const charged = await netCharged(stack, order.orderId);
        if (sentOldPrice && price === after) {
          expect({ i, status: order.status, reason: order.reason, charged }).toEqual({ i, status: 'CANCELLED', reason: 'PRICE_CHANGED', charged: 0 });
        } else {
          expect({ i, status: order.status, total: order.totalCents, charged }).toEqual({
            i,
            status: 'COMPLETED',
            total: quantity * price,
            charged: quantity * price,
          });
        }
      }
      expect(seen.before).toBeGreaterThan(0);
      expect(seen.after).toBeGreaterThan(0);
    } finally {
      await inventory.query('select pg_drop_replication_slot($1)', [slot]);
    }
  });
});
