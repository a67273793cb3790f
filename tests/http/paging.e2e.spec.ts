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

  it("stores and finds an opaque customer id byte for byte (any provider's form), and refuses control characters or over 255 bytes", async () => {
    const sku = uniqueSku('PAGE');
    const tag = randomUUID().slice(0, 6);
    const place = (customerId: string) =>
      fetch(`${stack.url('order-service')}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
        body: JSON.stringify({ customerId, currency: 'EUR', paymentToken: 'tok_ok', items: [{ sku, quantity: 1, unitPriceCents: 1 }] }),
      });
    // Auth0, Google, Okta, Azure AD/Cognito, a URI, non-Latin scripts, emoji, an NFD form, 255 bytes.
    const forms = [
      `auth0|5f7c8ec7c33c6c004bbafe82${tag}`,
      `1098765432109876543210${tag}`,
      `00u1abcd2EFGH3ijkl4${tag}`,
      `${randomUUID()}`,
      `https://id.example.com/users/${tag}?x=1#y`,
      `ユーザー-${tag}`,
      `Алиса ${tag}`,
      `😀🛒-${tag}`,
      `zoë-${tag}`.normalize('NFD'),
      `zoë-${tag}`.normalize('NFC'),
      `${tag}-${'é'.repeat(124)}`, // 6 + 1 + 248 = 255 bytes
    ];
    for (const customerId of forms) {
      const res = await place(customerId);
      expect({ customerId, status: res.status }).toEqual({ customerId, status: 201 });
      const { orderId, customerId: stored } = (await res.json()) as { orderId: string; customerId: string };
      expect(stored).toBe(customerId);
      expect((await page(customerId, 5, null)).ids).toEqual([orderId]);
    }
    // NFD and NFC of one name are two byte strings, so two customers: neither sees the other's order.
    expect((await page(forms[8], 5, null)).ids).toHaveLength(1);
    for (const bad of ['', 'tab\t', 'nul\u0000', 'del\u007f', 'c1\u0085', 'lone\ud800', `${tag}-${'é'.repeat(125)}`]) {
      const r = await place(bad);
      expect({ bad, status: r.status }).toEqual({ bad, status: 400 });
      expect(new Set(((await r.json()) as { errors: { field: string }[] }).errors.map((e) => e.field))).toEqual(new Set(['body/customerId']));
    }
  });
});
