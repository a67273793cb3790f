import { beforeAll, describe, expect, it } from 'vitest';
import { netCharged, placeOrder, product, setStock, startStack, uniqueSku, waitTerminal, type Stack } from '../support/stack.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ instances: { 'inventory-service': 2, 'payment-service': 2 }, env: { ORDER_DEADLINE_MS: '60000' } });
});

const SESSION_TIMEOUT_MS = 10_000; // the consumers' group session timeout (runConsumer's default)
const placeAll = async (sku: string, n: number) =>
  Promise.all(Array.from({ length: n }, () => placeOrder(stack, { items: [{ sku, quantity: 1 }] }).then((o) => o.orderId)));

describe('scale-out under faults', { timeout: 120_000 }, () => {
  it("serves a SIGKILLed instance's partitions from the other one within the group session timeout, losing and repeating nothing", async () => {
    const sku = uniqueSku('SCALE');
    await setStock(stack, sku, 100);
    for (const id of await placeAll(sku, 12)) expect((await waitTerminal(stack, id)).status).toBe('COMPLETED');

    // One copy of each consumer dies without leaving its group: its partitions wait for the session timeout.
    await stack.instances['inventory-service'][0].kill();
    await stack.instances['payment-service'][1].kill();
    const killedAt = Date.now();
    const placed = await placeAll(sku, 24);
    for (const id of placed) expect((await waitTerminal(stack, id, 60_000)).status).toBe('COMPLETED');
    expect(Date.now() - killedAt).toBeLessThan(SESSION_TIMEOUT_MS + 15_000);
    expect(await product(stack, sku)).toMatchObject({ onHand: 100 - 36, reserved: 0 });
    for (const id of placed) expect(await netCharged(stack, id)).toBe(1000); // one line of 1 × 1000 cents: charged once
  });
});
