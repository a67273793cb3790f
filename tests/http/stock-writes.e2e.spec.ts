// Stock writes never lose an update: an absolute level needs the version it was read at
// (ETag / If-Match, 412 / 428), a relative adjustment applies to whatever the level is by then.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, placeOrder, product, setStock, startStack, uniqueSku, waitTerminal, type Stack } from '../support/stack.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ env: { ORDER_DEADLINE_MS: '60000' } });
});

const json = { ...ADMIN, 'content-type': 'application/json' };
const url = (sku: string, rest = '') => `${stack.url('inventory-service')}/products/${sku}${rest}`;
// A product's whole state: name, level and price (10.00 EUR unless the body says otherwise).
const put = (sku: string, body: object, headers: Record<string, string> = {}) =>
  fetch(url(sku), { method: 'PUT', headers: { ...json, ...headers }, body: JSON.stringify({ priceCents: 1000, currency: 'EUR', ...body }) });
const adjust = (sku: string, delta: number, reason = 'goods receipt', key = randomUUID()) =>
  fetch(url(sku, '/adjustments'), { method: 'POST', headers: { ...json, 'idempotency-key': key }, body: JSON.stringify({ delta, reason }) });

describe('conditional stock writes', () => {
  it('creates without a precondition, then needs If-Match with the current ETag', async () => {
    const sku = uniqueSku('ETAG');
    const created = await put(sku, { name: 'w', onHand: 5 });
    expect(created.status).toBe(201);
    expect(created.headers.get('etag')).toBe('"0"');

    const got = await fetch(url(sku));
    expect(got.headers.get('etag')).toBe('"0"');

    const unconditional = await put(sku, { name: 'w', onHand: 9 });
    expect(unconditional.status).toBe(428);
    expect(await unconditional.json()).toMatchObject({ type: 'https://errors.shop.local/precondition_required', status: 428 });

    const ok = await put(sku, { name: 'w', onHand: 9 }, { 'if-match': '"0"' });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('etag')).toBe('"1"');

    const stale = await put(sku, { name: 'w', onHand: 1 }, { 'if-match': '"0"' });
    expect(stale.status).toBe(412);
    expect(await stale.json()).toMatchObject({ type: 'https://errors.shop.local/precondition_failed', currentETag: '"1"' });
    expect(await product(stack, sku)).toMatchObject({ onHand: 9, version: 1 });

    expect((await put(sku, { name: 'w', onHand: 1 }, { 'if-match': 'W/"1"' })).status).toBe(412); // weak tags never match
    expect((await put(sku, { name: 'w', onHand: 1 }, { 'if-none-match': '*' })).status).toBe(412);
    expect((await put(uniqueSku('NONE'), { name: 'w', onHand: 1 }, { 'if-match': '"0"' })).status).toBe(412);
    expect(await product(stack, sku)).toMatchObject({ onHand: 9, version: 1 });
  });

  it('adjusts relative to the current level, refuses to go below what is reserved, and applies a retried key once', async () => {
    const sku = uniqueSku('ADJ');
    await setStock(stack, sku, 10);
    const key = randomUUID();
    const first = await adjust(sku, 5, 'receipt 4711', key);
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ onHand: 15 });
    const again = await adjust(sku, 5, 'receipt 4711', key);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect((await product(stack, sku)).onHand).toBe(15);

    const order = await placeOrder(stack, { items: [{ sku, quantity: 4 }], paymentToken: 'tok_hang' });
    const reserved = await (async () => {
      for (let i = 0; i < 100; i++) {
        const p = await product(stack, sku);
        if (p.reserved === 4) return p;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('reservation never arrived');
    })();
    expect(reserved.reserved).toBe(4);
    const tooMuch = await adjust(sku, -12, 'write-off');
    expect(tooMuch.status).toBe(409);
    expect(await tooMuch.json()).toMatchObject({ type: 'https://errors.shop.local/below_reserved', reserved: 4 });
    expect((await adjust(sku, -11, 'write-off')).status).toBe(200);
    expect(await product(stack, sku)).toMatchObject({ onHand: 4, reserved: 4, available: 0 });
    expect((await adjust(uniqueSku('MISSING'), 1)).status).toBe(404);
    await fetch(`${stack.url('order-service')}/orders/${order.orderId}/cancel`, { method: 'POST', headers: { 'idempotency-key': randomUUID() } });
  });

  it('restocks racing 200 in-flight orders never lose a unit', { timeout: 180_000 }, async () => {
    const sku = uniqueSku('RACE');
    const start = 150;
    await setStock(stack, sku, start);
    let added = 0;
    // Operators restock while orders reserve: half by adjustment, half by read + PUT If-Match.
    const restocks = (async () => {
      for (let i = 0; i < 20; i++) {
        if (i % 2 === 0) {
          const res = await adjust(sku, 3, `receipt ${i}`);
          expect(res.status).toBe(200);
          added += 3;
        } else {
          for (;;) {
            const current = await fetch(url(sku));
            const seen = (await current.json()) as { onHand: number };
            const res = await put(sku, { name: 'race', onHand: seen.onHand + 2 }, { 'if-match': current.headers.get('etag')! });
            await res.arrayBuffer();
            if (res.status === 200) break;
            expect(res.status).toBe(412);
          }
          added += 2;
        }
      }
    })();
    const orders = await Promise.all(Array.from({ length: 200 }, () => placeOrder(stack, { items: [{ sku, quantity: 1 }] })));
    await restocks;
    const outcomes = await Promise.all(orders.map((o) => waitTerminal(stack, o.orderId, 120_000)));
    const completed = outcomes.filter((o) => o.status === 'COMPLETED').length;
    expect(completed + outcomes.filter((o) => o.reason === 'OUT_OF_STOCK').length).toBe(200);
    expect(completed).toBeGreaterThan(100);
    const final = await product(stack, sku);
    expect(final).toMatchObject({ reserved: 0, onHand: start + added - completed });
  });
});
