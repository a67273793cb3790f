import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pool } from '../support/infra.ts';
import { waitFor } from '../support/processes.ts';
import { setStock, startStack, uniqueSku, waitTerminal, type Stack } from '../support/stack.ts';

const orders = pool('orders', 2);
let stack: Stack;
beforeAll(async () => {
  // Late after 1 s, refused beyond 3 late orders; deadlines far away, so nothing times out here.
  stack = await startStack({
    env: { ORDER_ADMISSION_LATE_MS: '1000', ORDER_ADMISSION_MAX_LATE: '3', ORDER_ADMISSION_REFRESH_MS: '100', ORDER_DEADLINE_MS: '120000' },
  });
});
afterAll(async () => {
  await orders.end();
});

const post = (key: string, sku: string) =>
  fetch(`${stack.url('order-service')}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify({ customerId: 'door', currency: 'EUR', paymentToken: 'tok_ok', items: [{ sku, quantity: 1 }] }),
  });
const metric = async (name: string) => {
  const text = await (await fetch(`${stack.url('order-service')}/metrics`)).text();
  return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
};

describe('back-pressure at the door', { timeout: 120_000 }, () => {
  it('answers 503 overloaded while the workflow is behind, writes nothing for it, and takes orders again once it catches up', async () => {
    const sku = uniqueSku('DOOR');
    await setStock(stack, sku, 100);
    // Healthy first (open orders another test left behind finish or time out meanwhile).
    const first = await waitFor(
      async () => {
        const res = await post(randomUUID(), sku);
        return res.status === 201 ? ((await res.json()) as { orderId: string }).orderId : undefined;
      },
      { what: 'the door to be open', timeoutMs: 90_000 },
    );
    expect((await waitTerminal(stack, first)).status).toBe('COMPLETED');
    for (const p of stack.instances['inventory-service']) await p.kill();

    // With the inventory gone, accepted orders stay open; four of them late closes the door.
    const accepted: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await post(randomUUID(), sku);
      expect(res.status).toBe(201);
      accepted.push(((await res.json()) as { orderId: string }).orderId);
    }
    // Every probe is a new order: accepted until enough are late, then refused.
    let refusedKey = '';
    const refused = await waitFor(
      async () => {
        const key = randomUUID();
        const res = await post(key, sku);
        if (res.status === 201) accepted.push(((await res.json()) as { orderId: string }).orderId);
        if (res.status !== 503) return undefined;
        refusedKey = key;
        return res;
      },
      { what: 'the door to close', timeoutMs: 20_000 },
    );
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(refused.headers.get('retry-after')).toBe('2');
    expect(await refused.json()).toMatchObject({ type: 'https://errors.shop.local/overloaded', status: 503, reason: 'late_orders' });
    expect((await orders.query(`select count(*)::int as n from orders where right(idempotency_key, length($1) + 1) = '.' || $1`, [refusedKey])).rows[0].n).toBe(
      0,
    );
    expect(await metric('orders_late')).toBeGreaterThan(3);
    expect(await metric('orders_open')).toBeGreaterThanOrEqual(4);
    expect(await metric('order_oldest_open_age_seconds')).toBeGreaterThan(1);
    expect(await metric('orders_refused_total')).toBeGreaterThan(0);

    // The workflow catches up: every accepted order completes, and the same key is taken now.
    await stack.start('inventory-service');
    for (const id of accepted) expect((await waitTerminal(stack, id, 60_000)).status).toBe('COMPLETED');
    const retried = await waitFor(
      async () => {
        const res = await post(refusedKey, sku);
        return res.status === 201 ? res : undefined;
      },
      { what: 'the door to open again', timeoutMs: 20_000 },
    );
    expect(retried.headers.get('idempotent-replayed')).toBeNull();
    expect((await orders.query(`select count(*)::int as n from orders where right(idempotency_key, length($1) + 1) = '.' || $1`, [refusedKey])).rows[0].n).toBe(
      1,
    );
  });
});
