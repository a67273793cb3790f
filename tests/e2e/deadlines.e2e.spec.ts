import { beforeAll, describe, expect, it } from 'vitest';
import { waitDrained } from '../support/kafka.ts';
import { waitFor } from '../support/processes.ts';
import { netCharged, placeOrder, product, setStock, startStack, uniqueSku, waitTerminal, type Stack } from '../support/stack.ts';

let stack: Stack;
beforeAll(async () => {
  // Each step its own deadline, far inside the overall one.
  stack = await startStack({ env: { ORDER_RESERVATION_DEADLINE_MS: '3000', ORDER_PAYMENT_DEADLINE_MS: '6000', ORDER_DEADLINE_MS: '60000' } });
});

/** The history of an order with the time of each entry. */
async function timeline(orderId: string): Promise<{ status: string; at: number }[]> {
  const res = await fetch(`${stack.url('order-service')}/orders/${orderId}`);
  const body = (await res.json()) as { history: { status: string; at: string }[] };
  return body.history.map((h) => ({ status: h.status, at: Date.parse(h.at) }));
}

describe('per-step deadlines', { timeout: 120_000 }, () => {
  it('cancels an order that is not reserved within the reservation deadline, long before the overall one', async () => {
    const sku = uniqueSku('DL-RES');
    await setStock(stack, sku, 5);
    for (const p of stack.instances['inventory-service']) await p.kill();
    const { orderId } = await placeOrder(stack, { items: [{ sku, quantity: 2 }] });
    expect(await waitTerminal(stack, orderId, 20_000)).toMatchObject({ status: 'CANCELLED', reason: 'TIMEOUT' });
    const [created, cancelled] = await timeline(orderId);
    expect([created.status, cancelled.status]).toEqual(['CREATED', 'CANCELLED']);
    expect(cancelled.at - created.at).toBeGreaterThanOrEqual(3_000);
    expect(cancelled.at - created.at).toBeLessThan(15_000);

    // The reservation that arrives late finds the release marker: nothing stays held.
    await stack.start('inventory-service');
    await waitDrained({ 'inventory-service': ['order.events'] });
    expect(await product(stack, sku)).toMatchObject({ onHand: 5, reserved: 0 });
  });

  it('gives the payment its own deadline from the moment stock is reserved, and no charge stands after it', async () => {
    const sku = uniqueSku('DL-PAY');
    await setStock(stack, sku, 5);
    for (const p of stack.instances['payment-service']) await p.kill();
    const { orderId } = await placeOrder(stack, { items: [{ sku, quantity: 2 }] });
    expect(await waitTerminal(stack, orderId, 30_000)).toMatchObject({ status: 'CANCELLED', reason: 'TIMEOUT' });
    const steps = await timeline(orderId);
    expect(steps.map((s) => s.status)).toEqual(['CREATED', 'PAYMENT_PENDING', 'CANCELLED']);
    expect(steps[2].at - steps[1].at).toBeGreaterThanOrEqual(6_000);
    expect(steps[2].at - steps[1].at).toBeLessThan(15_000);
    await waitFor(async () => (await product(stack, sku)).reserved === 0, { what: 'stock released' });

    await stack.start('payment-service');
    await waitDrained({ 'payment-service': ['order.events'] }, 90_000);
    expect(await netCharged(stack, orderId)).toBe(0);
  });
});
