// GET /orders pages newest first with an exact keyset cursor: orders placed in the same
// millisecond (bursts) are neither skipped nor repeated at page boundaries, even while more
// orders are being placed.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { placeOrder, startStack, uniqueSku, type Stack } from '../support/stack.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ env: { ORDER_DEADLINE_MS: '600000' } });
});

async function page(customerId: string, limit: number, cursor: string | null): Promise<{ ids: string[]; next: string | null }> {
  const q = new URLSearchParams({ customerId, limit: String(limit), ...(cursor ? { cursor } : {}) });
  const res = await fetch(`${stack.url('order-service')}/orders?${q}`);
  expect(res.status).toBe(200);
  const body = (await res.json()) as { items: { orderId: string }[]; nextCursor: string | null };
  return { ids: body.items.map((o) => o.orderId), next: body.nextCursor };
}

describe('order paging', { timeout: 240_000 }, () => {
  it('sees every order exactly once, newest first, whatever the page size and whatever is placed meanwhile', async () => {
    // A customer id of another system: an e-mail address with a non-ASCII local part.
    const customerId = `jürgen.${randomUUID().slice(0, 8)}@例え.jp`;
    const sku = uniqueSku('PAGE');
    const burst = () => Promise.all(Array.from({ length: 25 }, () => placeOrder(stack, { customerId, items: [{ sku, quantity: 1 }] })));
    const placed = (await Promise.all([burst(), burst(), burst()])).flat().map((o) => o.orderId);

    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 0, max: 10 }), async (limit, meanwhile) => {
        const seen: string[] = [];
        let cursor: string | null = null;
        let placing: Promise<unknown> = Promise.resolve();
        for (let pages = 0; ; pages++) {
          const p = await page(customerId, limit, cursor);
          seen.push(...p.ids);
          // More orders arrive while the client pages: they are newer, so they never show up behind the cursor.
          if (pages === 0 && meanwhile > 0)
            placing = Promise.all(Array.from({ length: meanwhile }, () => placeOrder(stack, { customerId, items: [{ sku, quantity: 1 }] })));
          if (!p.next) break;
          cursor = p.next;
        }
        await placing;
        expect(new Set(seen).size).toBe(seen.length);
        for (const id of placed) expect(seen).toContain(id);
        expect([...seen].sort().reverse()).toEqual(seen);
      }),
      { numRuns: 12 },
    );
  });

  it('stores and finds a customer id with non-ASCII letters, and refuses one that is not NFC', async () => {
    const customerId = `zoë-${randomUUID().slice(0, 6)}`;
    const sku = uniqueSku('PAGE');
    const { orderId } = await placeOrder(stack, { customerId, items: [{ sku, quantity: 1 }] });
    expect((await page(customerId, 5, null)).ids).toEqual([orderId]);
    const decomposed = customerId.normalize('NFD');
    expect(decomposed).not.toBe(customerId);
    const res = await fetch(`${stack.url('order-service')}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      body: JSON.stringify({ customerId: decomposed, currency: 'EUR', paymentToken: 'tok_ok', items: [{ sku, quantity: 1, unitPriceCents: 1 }] }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ errors: [{ field: 'body/customerId', message: 'must be in Unicode NFC' }] });
    for (const bad of ['', ' lead', 'a b', 'tab\t', 'x'.repeat(65), '-start', 'emoji😀']) {
      const r = await fetch(`${stack.url('order-service')}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
        body: JSON.stringify({ customerId: bad, currency: 'EUR', paymentToken: 'tok_ok', items: [{ sku, quantity: 1, unitPriceCents: 1 }] }),
      });
      expect({ bad, status: r.status }).toEqual({ bad, status: 400 });
    }
  });
});
