// SIGKILL every process in turn while 500 orders stream through, then check the invariants.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVICE_DATABASES } from '@shop/lib/db/databases';
import { pool } from '../support/infra.ts';
import { waitDrained } from '../support/kafka.ts';
import { waitFor } from '../support/processes.ts';
import { placeOrder, setStock, startStack, uniqueSku, waitTerminal, type Stack } from '../support/stack.ts';

const pools = Object.fromEntries(SERVICE_DATABASES.map((db) => [db, pool(db, 2)]));
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ env: { ORDER_DEADLINE_MS: '30000' } });
});
afterAll(() => Promise.all(Object.values(pools).map((p) => p.end())));

describe('crash safety', { timeout: 300_000 }, () => {
  it('keeps every invariant when each service and the relay are SIGKILLed during 500 orders', async () => {
    const skus = [uniqueSku('A'), uniqueSku('B'), uniqueSku('C')];
    const start = { [skus[0]]: 120, [skus[1]]: 60, [skus[2]]: 400 };
    for (const sku of skus) await setStock(stack, sku, start[sku]);
    const tokens = ['tok_ok', 'tok_ok', 'tok_ok', 'tok_decline', 'tok_flaky'];

    const placed: { orderId: string; sku: string; quantity: number }[] = [];
    const placing = (async () => {
      for (let i = 0; i < 500; i++) {
        const sku = skus[i % 3];
        const quantity = 1 + (i % 2);
        // Retries across an order-service restart, as a careful client would (same key = same order).
        const order = await waitFor(() => placeOrder(stack, { paymentToken: tokens[i % tokens.length], items: [{ sku, quantity }] }).catch(() => undefined), {
          what: 'order placed',
          timeoutMs: 30_000,
        });
        placed.push({ orderId: order.orderId, sku, quantity });
        if (i % 10 === 0) await new Promise((r) => setTimeout(r, 20));
      }
    })();

    const kills: string[] = [];
    for (const service of ['inventory-service', 'payment-service', 'order-service', 'notification-service'] as const) {
      await waitFor(() => placed.length >= 60 * (kills.length + 1), { what: 'orders flowing', timeoutMs: 60_000 });
      for (const p of stack.instances[service]) await p.kill();
      kills.push(service);
      await stack.start(service);
    }
    await waitFor(() => placed.length >= 300, { what: 'more orders', timeoutMs: 60_000 });
    await stack.killAndRestartRelay();
    kills.push('outbox-relay');
    await placing;

    const finals = await Promise.all(placed.map((p) => waitTerminal(stack, p.orderId, 120_000)));
    await waitDrained(
      {
        'inventory-service': ['order.events'],
        'payment-service': ['order.events'],
        'notification-service': ['order.events'],
        'order-service': ['inventory.events', 'payment.events'],
      },
      120_000,
    );
    console.info(
      `[crash] killed ${kills.join(', ')}; ${finals.filter((o) => o.status === 'COMPLETED').length} completed, ${finals.filter((o) => o.status === 'CANCELLED').length} cancelled`,
    );

    // Stock: what left the shelf is exactly what completed orders bought; nothing stays reserved.
    for (const sku of skus) {
      const sold = placed.filter((p, i) => p.sku === sku && finals[i].status === 'COMPLETED').reduce((s, p) => s + p.quantity, 0);
      const row = (await pools.inventory.query('select on_hand, reserved from products where sku = $1', [sku])).rows[0];
      expect({ sku, onHand: row.on_hand, reserved: row.reserved }).toEqual({ sku, onHand: start[sku] - sold, reserved: 0 });
    }
    // Payments: one capture standing per completed order, none for cancelled ones.
    const ids = placed.map((p) => p.orderId);
    const net = await pools.payments.query(
      `select p.order_id::text, sum(case when p.status = 'CAPTURED' then p.amount_cents else 0 end) - coalesce(sum(r.amount_cents), 0) as net, count(*)::int as charges
         from payments p left join refunds r on r.payment_id = p.id where p.order_id = any($1::uuid[]) group by p.order_id`,
      [ids],
    );
    const netByOrder = new Map(net.rows.map((r) => [r.order_id, { net: Number(r.net), charges: r.charges }]));
    finals.forEach((o) => {
      const n = netByOrder.get(o.orderId);
      expect({ orderId: o.orderId, net: n?.net ?? 0, atMostOneCharge: (n?.charges ?? 0) <= 1 }).toEqual({
        orderId: o.orderId,
        net: o.status === 'COMPLETED' ? o.totalCents : 0,
        atMostOneCharge: true,
      });
    });
    // Notifications: exactly one per terminal order.
    const notes = await pools.notifications.query(
      'select order_id::text, count(*)::int as n from notifications where order_id = any($1::uuid[]) group by order_id',
      [ids],
    );
    expect(notes.rows.filter((r) => r.n !== 1)).toEqual([]);
    expect(notes.rowCount).toBe(500);
  });
});
