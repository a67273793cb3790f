import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { infra, pool } from '../support/infra.ts';
import { startProcess, waitFor } from '../support/processes.ts';
import { ADMIN, startStack, type Stack } from '../support/stack.ts';

const orders = pool('orders', 2);
let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await infra('redis-start');
  await orders.end();
});

const body = (customerId = 'idem-customer') =>
  JSON.stringify({ customerId, currency: 'EUR', paymentToken: 'tok_ok', items: [{ sku: 'IDEM-1', quantity: 1, unitPriceCents: 100 }] });
const post = (url: string, key: string, payload = body()) =>
  fetch(`${url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': key }, body: payload });
// The database keeps a key scoped to its caller (`<caller hash>.<key>`, lib/src/http/idempotency.ts).
const SCOPED = `right(idempotency_key, length($1) + 1) = '.' || $1`;
const ordersWithKey = async (key: string) => Number((await orders.query(`select count(*) from orders where ${SCOPED}`, [key])).rows[0].count);

describe('Idempotency-Key', { timeout: 120_000 }, () => {
  it('replays the stored response byte for byte, marked Idempotent-Replayed', async () => {
    const key = randomUUID();
    const first = await post(stack.url('order-service'), key);
    const firstBody = await first.text();
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const again = await post(stack.url('order-service'), key);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('location')).toBe(first.headers.get('location'));
    expect(await again.text()).toBe(firstBody);
    expect(await ordersWithKey(key)).toBe(1);
  });

  it('gives exactly one 201 to 20 concurrent requests with one key; the rest are 409 or replays', async () => {
    const key = randomUUID();
    const responses = await Promise.all(Array.from({ length: 20 }, () => post(stack.url('order-service'), key)));
    const fresh = responses.filter((r) => r.status === 201 && !r.headers.get('idempotent-replayed'));
    const replays = responses.filter((r) => r.status === 201 && r.headers.get('idempotent-replayed') === 'true');
    const inFlight = responses.filter((r) => r.status === 409);
    expect(fresh).toHaveLength(1);
    expect(replays.length + inFlight.length).toBe(19);
    for (const r of inFlight) {
      expect(r.headers.get('retry-after')).toBe('1');
      expect((await r.json()).type).toContain('idempotency_request_in_flight');
    }
    expect(await ordersWithKey(key)).toBe(1);
  });

  it('refuses the same key with a different body (422), and does not store validation failures', async () => {
    const key = randomUUID();
    const invalid = await post(stack.url('order-service'), key, JSON.stringify({ customerId: 'x' }));
    expect(invalid.status).toBe(400);
    const corrected = await post(stack.url('order-service'), key);
    expect(corrected.status).toBe(201);
    expect(corrected.headers.get('idempotent-replayed')).toBeNull();
    const other = await post(stack.url('order-service'), key, body('someone-else'));
    expect(other.status).toBe(422);
    expect((await other.json()).type).toContain('idempotency_key_reused');
    expect(await ordersWithKey(key)).toBe(1);
  });

  it('treats the key as new once its TTL has passed', async () => {
    const shortTtl = await startProcess('order-service', { env: { IDEMPOTENCY_TTL_S: '2' } });
    const key = randomUUID();
    const first = await (await post(shortTtl.url, key)).json();
    expect((await (await post(shortTtl.url, key)).json()).orderId).toBe(first.orderId);
    await new Promise((r) => setTimeout(r, 2_500));
    const later = await post(shortTtl.url, key);
    expect(later.status).toBe(201);
    expect(later.headers.get('idempotent-replayed')).toBeNull();
    expect((await later.json()).orderId).not.toBe(first.orderId);
    await shortTtl.stop();
  });

  it('stays duplicate-free while Redis is down; other writes answer 503 with Retry-After', async () => {
    const key = randomUUID();
    await infra('redis-stop');
    try {
      const first = await post(stack.url('order-service'), key);
      expect(first.status).toBe(201);
      const retry = await post(stack.url('order-service'), key);
      expect(retry.status).toBe(201);
      expect((await retry.json()).orderId).toBe((await first.json()).orderId);
      expect((await post(stack.url('order-service'), key, body('different'))).status).toBe(422);
      const stock = await fetch(`${stack.url('inventory-service')}/products/IDEM-1`, {
        method: 'PUT',
        headers: { ...ADMIN, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
        body: JSON.stringify({ name: 'x', onHand: 5, priceCents: 100, currency: 'EUR' }),
      });
      expect(stock.status).toBe(503);
      expect(stock.headers.get('retry-after')).toBe('5');
      const ready = await (await fetch(`${stack.url('order-service')}/readyz`)).json();
      expect(ready).toMatchObject({ ready: false, checks: { redis: { ok: false } } });
    } finally {
      await infra('redis-start');
    }
    expect(await ordersWithKey(key)).toBe(1);
    await waitFor(async () => (await fetch(`${stack.url('order-service')}/readyz`)).status === 200, { what: 'ready again' });
  });

  it('returns the committed order to a retry after order-service was SIGKILLed between commit and reply', async () => {
    const crashing = await startProcess('order-service', { env: { FAULT_KILL_AFTER_ORDER_COMMIT: 'true', IDEMPOTENCY_LOCK_S: '1' } });
    const key = randomUUID();
    await expect(post(crashing.url, key)).rejects.toThrow();
    await crashing.exited;
    expect(crashing.child.signalCode).toBe('SIGKILL');
    expect(await ordersWithKey(key)).toBe(1);
    // A careful client retries with the same key: 409 while the dead request's claim lasts, then the order.
    const retry = await waitFor(
      async () => {
        const r = await post(stack.url('order-service'), key);
        return r.status === 201 ? r : undefined;
      },
      { what: 'retry answered', timeoutMs: 15_000 },
    );
    const order = await retry.json();
    const committed = (await orders.query(`select id::text from orders where ${SCOPED}`, [key])).rows[0].id;
    expect(order.orderId).toBe(committed);
    expect(await ordersWithKey(key)).toBe(1);
  });

  it('refuses to start in production without an admin token, and keeps secrets out of logs', async () => {
    const prod = await startProcess('payment-service', { env: { NODE_ENV: 'production', ADMIN_TOKEN: '' }, waitReady: false });
    expect(await prod.exited).not.toBe(0);
    // Services buffer their log lines and flush them every 200 ms (LOG_FLUSH_MS).
    await new Promise((r) => setTimeout(r, 600));
    const logs = await Promise.all(
      Object.values(stack.instances)
        .flat()
        .map((p) => import('node:fs/promises').then((fs) => fs.readFile(`test-output/logs/${p.name}-${p.port}.log`, 'utf8'))),
    );
    const all = logs.join('\n');
    expect(all).toContain('"msg":"order placed"');
    expect(all).not.toContain('test-admin-token');
    expect(all).not.toMatch(/"paymentToken":"tok_/);
  });
});
