import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pool } from '../support/infra.ts';
import { waitFor } from '../support/processes.ts';
import { placeOrder, product, setStock, startStack, uniqueSku, waitTerminal, type Stack } from '../support/stack.ts';

let stack: Stack;
const inventory = pool('inventory', 1);
beforeAll(async () => {
  // The property is the stock count, not speed: a 60 s deadline keeps a slow group rebalance
  // between the two instances (CI once turned one of the ten sales into TIMEOUT) out of it.
  stack = await startStack({ instances: { 'order-service': 2, 'inventory-service': 2 }, env: { ORDER_DEADLINE_MS: '60000' } });
});
afterAll(() => inventory.end());

describe('no oversell under concurrency', { timeout: 180_000 }, () => {
  it('sells exactly 10 of 10 units to 100 concurrent orders through two order and two inventory instances', async () => {
    const sku = uniqueSku('HOT');
    await setStock(stack, sku, 10);
    const orderUrls = stack.instances['order-service'].map((p) => p.url);
    // Sample available stock while the race runs: it must never go below zero.
    let minAvailable = Infinity;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const r = await inventory.query('select on_hand - reserved as available from products where sku = $1', [sku]);
        minAvailable = Math.min(minAvailable, r.rows[0].available);
        await new Promise((res) => setTimeout(res, 5));
      }
    })();
    const placed = await Promise.all(Array.from({ length: 100 }, (_, i) => placeOrder(stack, { items: [{ sku, quantity: 1 }] }, orderUrls[i % 2])));
    const finals = await Promise.all(placed.map((p) => waitTerminal(stack, p.orderId, 90_000)));
    sampling = false;
    await sampler;

    const completed = finals.filter((o) => o.status === 'COMPLETED');
    const outOfStock = finals.filter((o) => o.status === 'CANCELLED' && o.reason === 'OUT_OF_STOCK');
    expect(completed).toHaveLength(10);
    expect(outOfStock).toHaveLength(90);
    expect(minAvailable).toBeGreaterThanOrEqual(0);
    await waitFor(async () => (await product(stack, sku)).onHand === 0, { what: 'stock committed' });
    expect(await product(stack, sku)).toMatchObject({ onHand: 0, reserved: 0, available: 0 });
    // Both inventory instances took part (the group split the partitions between them).
    const handled = await Promise.all(
      stack.instances['inventory-service'].map(
        async (p) => /consumer_messages_total\{[^}]*outcome="ok"[^}]*\} (\d+)/.exec(await (await fetch(`${p.url}/metrics`)).text())?.[1],
      ),
    );
    expect(handled.every((n) => Number(n) > 0)).toBe(true);
  });
});
