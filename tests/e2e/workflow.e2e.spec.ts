import { beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/processes.ts';
import {
  cancelOrder,
  getOrder,
  netCharged,
  notifications,
  payments,
  placeOrder,
  product,
  setStock,
  startStack,
  uniqueSku,
  waitTerminal,
  type Stack,
} from '../support/stack.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});

describe('order workflow', { timeout: 90_000 }, () => {
  it('completes a paid order: stock decremented, one charge, one notification', async () => {
    const sku = uniqueSku();
    await setStock(stack, sku, 10, { priceCents: 250 });
    // Priced by inventory when it reserves: unknown at placement, the catalog's price after.
    const placed = await placeOrder(stack, { items: [{ sku, quantity: 3, unitPriceCents: 250 }] });
    expect(placed).toMatchObject({ status: 'CREATED', totalCents: null });
    const order = await waitTerminal(stack, placed.orderId);
    expect(order.status).toBe('COMPLETED');
    expect(order.history.map((h) => h.status)).toEqual(['CREATED', 'PAYMENT_PENDING', 'COMPLETED']);
    expect(order.totalCents).toBe(750);
    await waitFor(async () => (await product(stack, sku)).onHand === 7, { what: 'stock committed' });
    expect(await product(stack, sku)).toMatchObject({ onHand: 7, reserved: 0, available: 7 });
    const p = await payments(stack, placed.orderId);
    expect(p.charges).toMatchObject([{ status: 'CAPTURED', amountCents: 750 }]);
    expect(p.refunds).toEqual([]);
    await waitFor(async () => (await notifications(stack, placed.orderId)).notifications.length === 1, { what: 'notification' });
    expect((await notifications(stack, placed.orderId)).notifications).toMatchObject([{ status: 'COMPLETED' }]);
  });

  it('cancels a declined order and puts the stock back exactly', async () => {
    const sku = uniqueSku();
    await setStock(stack, sku, 5);
    const placed = await placeOrder(stack, { paymentToken: 'tok_decline', items: [{ sku, quantity: 2 }] });
    const order = await waitTerminal(stack, placed.orderId);
    expect(order).toMatchObject({ status: 'CANCELLED', reason: 'PAYMENT_DECLINED' });
    await waitFor(async () => (await product(stack, sku)).reserved === 0, { what: 'stock released' });
    expect(await product(stack, sku)).toMatchObject({ onHand: 5, reserved: 0, available: 5 });
    expect(await netCharged(stack, placed.orderId)).toBe(0);
    await waitFor(async () => (await notifications(stack, placed.orderId)).notifications.length === 1, { what: 'notification' });
  });

  it('reserves nothing of a multi-item order when one SKU is short', async () => {
    const plenty = uniqueSku();
    const short = uniqueSku();
    await setStock(stack, plenty, 100);
    await setStock(stack, short, 1);
    const placed = await placeOrder(stack, {
      items: [
        { sku: plenty, quantity: 5 },
        { sku: short, quantity: 2 },
      ],
    });
    expect(await waitTerminal(stack, placed.orderId)).toMatchObject({ status: 'CANCELLED', reason: 'OUT_OF_STOCK' });
    expect(await product(stack, plenty)).toMatchObject({ onHand: 100, reserved: 0 });
    expect(await product(stack, short)).toMatchObject({ onHand: 1, reserved: 0 });
    expect((await payments(stack, placed.orderId)).charges).toEqual([]);
  });

  it('approves a flaky payment after transient failures', async () => {
    const sku = uniqueSku();
    await setStock(stack, sku, 1);
    const placed = await placeOrder(stack, { paymentToken: 'tok_flaky', items: [{ sku, quantity: 1 }] });
    expect(await waitTerminal(stack, placed.orderId)).toMatchObject({ status: 'COMPLETED' });
    expect((await payments(stack, placed.orderId)).charges).toMatchObject([{ status: 'CAPTURED' }]);
  });

  it('lets a customer cancel before payment completes (stock released), and refuses once completed (409)', async () => {
    const sku = uniqueSku();
    await setStock(stack, sku, 4);
    // tok_hang keeps the order in PAYMENT_PENDING while the provider does not answer.
    const pending = await placeOrder(stack, { paymentToken: 'tok_hang', items: [{ sku, quantity: 3 }] });
    await waitFor(async () => (await getOrder(stack, pending.orderId)).status === 'PAYMENT_PENDING', { what: 'payment pending' });
    const cancel = await cancelOrder(stack, pending.orderId);
    expect(cancel.status).toBe(202);
    expect(await getOrder(stack, pending.orderId)).toMatchObject({ status: 'CANCELLED', reason: 'CUSTOMER_CANCELLED' });
    await waitFor(async () => (await product(stack, sku)).reserved === 0, { what: 'stock released' });
    expect(await product(stack, sku)).toMatchObject({ onHand: 4, reserved: 0 });
    await waitFor(async () => (await payments(stack, pending.orderId)).charges[0]?.status !== 'PENDING', { what: 'payment settled', timeoutMs: 20_000 });
    expect(await netCharged(stack, pending.orderId)).toBe(0);

    const done = await placeOrder(stack, { items: [{ sku, quantity: 1 }] });
    expect(await waitTerminal(stack, done.orderId)).toMatchObject({ status: 'COMPLETED' });
    const refused = await cancelOrder(stack, done.orderId);
    expect(refused.status).toBe(409);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(await refused.json()).toMatchObject({ status: 409, type: expect.stringContaining('order_not_cancellable') });
  });

  it("lists a customer's orders by status with a cursor", async () => {
    const sku = uniqueSku();
    await setStock(stack, sku, 10);
    const customerId = `cust-${sku.toLowerCase()}`;
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await placeOrder(stack, { customerId, items: [{ sku, quantity: 1 }] })).orderId);
    await Promise.all(ids.map((id) => waitTerminal(stack, id)));
    const first = await (await fetch(`${stack.url('order-service')}/orders?customerId=${customerId}&status=COMPLETED&limit=2`)).json();
    expect(first.items.map((o: { orderId: string }) => o.orderId)).toEqual([ids[2], ids[1]]);
    const second = await (await fetch(`${stack.url('order-service')}/orders?customerId=${customerId}&limit=2&cursor=${first.nextCursor}`)).json();
    expect(second.items.map((o: { orderId: string }) => o.orderId)).toEqual([ids[0]]);
    expect(second.nextCursor).toBeNull();
  });
});
