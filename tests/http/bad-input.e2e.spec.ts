// Bad input gets a clear problem+json 4xx and writes nothing: no row, no outbox row, no Kafka message.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVICE_DATABASES } from '@shop/lib/db/databases';
import { pool } from '../support/infra.ts';
import { waitFor } from '../support/processes.ts';
import { kafka } from '../support/kafka.ts';
import { ADMIN, startStack, type Stack } from '../support/stack.ts';

const pools = Object.fromEntries(SERVICE_DATABASES.map((db) => [db, pool(db, 2)]));
let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => Promise.all(Object.values(pools).map((p) => p.end())));

// Rows written since this file began: the relay's retention pruning deletes hour-old outbox rows
// meanwhile (a long-lived database has some), which is not a write of this test.
const since = new Date(Date.now() - 60_000);

async function writes(): Promise<string> {
  const counts = await Promise.all([
    ...SERVICE_DATABASES.map(
      async (db) => `${db}.outbox=${(await pools[db].query('select count(*) from outbox where created_at > $1', [since])).rows[0].count}`,
    ),
    pools.orders.query('select count(*) from orders where created_at > $1', [since]).then((r) => `orders=${r.rows[0].count}`),
    pools.inventory.query('select count(*), coalesce(sum(version), 0) as v from products').then((r) => `products=${r.rows[0].count}/${r.rows[0].v}`),
  ]);
  return counts.join(' ');
}

/**
 * The counts once nothing has changed for a second: orders of an earlier test file may still be
 * finishing (or reaching their deadline), and their writes are not this test's.
 */
async function settledWrites(): Promise<string> {
  let last: string | undefined;
  return waitFor(
    async () => {
      const now = await writes();
      const still = now === last;
      last = now;
      return still ? now : undefined;
    },
    { intervalMs: 1_000, timeoutMs: 60_000, what: 'the databases to stop changing before the test' },
  );
}

async function kafkaEnds(): Promise<string> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const parts = await Promise.all(
      ['order.events', 'inventory.events'].map(async (t) => `${t}:${(await admin.fetchTopicOffsets(t)).map((p) => p.offset).join(',')}`),
    );
    return parts.join(' ');
  } finally {
    await admin.disconnect();
  }
}

const valid = () => ({ customerId: 'c1', currency: 'EUR', paymentToken: 'tok_ok', items: [{ sku: 'SKU-1', quantity: 1, unitPriceCents: 100 }] });
const json = { 'content-type': 'application/json' };
const key = () => ({ 'idempotency-key': randomUUID() });

type Case = [
  name: string,
  service: 'order-service' | 'inventory-service' | 'payment-service' | 'notification-service',
  method: string,
  path: string,
  headers: Record<string, string>,
  body: string | undefined,
  status: number,
  type: string,
];

const CASES: Case[] = [
  ['POST /orders without Idempotency-Key', 'order-service', 'POST', '/orders', json, JSON.stringify(valid()), 400, 'idempotency_key_missing'],
  [
    'Idempotency-Key of 256 characters',
    'order-service',
    'POST',
    '/orders',
    { ...json, 'idempotency-key': 'k'.repeat(256) },
    JSON.stringify(valid()),
    400,
    'validation',
  ],
  ['Idempotency-Key with a space', 'order-service', 'POST', '/orders', { ...json, 'idempotency-key': 'a b' }, JSON.stringify(valid()), 400, 'validation'],
  ['malformed JSON', 'order-service', 'POST', '/orders', { ...json, ...key() }, '{"customerId": ', 400, 'malformed_json'],
  ['wrong content type', 'order-service', 'POST', '/orders', { 'content-type': 'text/plain', ...key() }, 'hello', 415, 'unsupported_media_type'],
  [
    'body over 64 KiB',
    'order-service',
    'POST',
    '/orders',
    { ...json, ...key() },
    JSON.stringify({ ...valid(), customerId: 'x'.repeat(70_000) }),
    413,
    'payload_too_large',
  ],
  ['missing customerId', 'order-service', 'POST', '/orders', { ...json, ...key() }, JSON.stringify({ ...valid(), customerId: undefined }), 400, 'validation'],
  ['unknown property', 'order-service', 'POST', '/orders', { ...json, ...key() }, JSON.stringify({ ...valid(), discount: 5 }), 400, 'validation'],
  ['no items', 'order-service', 'POST', '/orders', { ...json, ...key() }, JSON.stringify({ ...valid(), items: [] }), 400, 'validation'],
  [
    '101 items',
    'order-service',
    'POST',
    '/orders',
    { ...json, ...key() },
    JSON.stringify({ ...valid(), items: Array(101).fill(valid().items[0]) }),
    400,
    'validation',
  ],
  [
    'quantity 0',
    'order-service',
    'POST',
    '/orders',
    { ...json, ...key() },
    JSON.stringify({ ...valid(), items: [{ sku: 'A', quantity: 0, unitPriceCents: 1 }] }),
    400,
    'validation',
  ],
  [
    'quantity 10,001',
    'order-service',
    'POST',
    '/orders',
    { ...json, ...key() },
    JSON.stringify({ ...valid(), items: [{ sku: 'A', quantity: 10_001, unitPriceCents: 1 }] }),
    400,
    'validation',
  ],
  [
    'price 0 cents',
    'order-service',
    'POST',
    '/orders',
    { ...json, ...key() },
    JSON.stringify({ ...valid(), items: [{ sku: 'A', quantity: 1, unitPriceCents: 0 }] }),
    400,
    'validation',
  ],
  [
    'price above 10^9 cents',
    'order-service',
    'POST',
    '/orders',
    { ...json, ...key() },
    JSON.stringify({ ...valid(), items: [{ sku: 'A', quantity: 1, unitPriceCents: 1_000_000_001 }] }),
    400,
    'validation',
  ],
  [
    'fractional cents',
    'order-service',
    'POST',
    '/orders',
    { ...json, ...key() },
    JSON.stringify({ ...valid(), items: [{ sku: 'A', quantity: 1, unitPriceCents: 1.5 }] }),
    400,
    'validation',
  ],
  ['lower-case currency', 'order-service', 'POST', '/orders', { ...json, ...key() }, JSON.stringify({ ...valid(), currency: 'eur' }), 400, 'validation'],
  ['four-letter currency', 'order-service', 'POST', '/orders', { ...json, ...key() }, JSON.stringify({ ...valid(), currency: 'EURO' }), 400, 'validation'],
  [
    'sku with a space',
    'order-service',
    'POST',
    '/orders',
    { ...json, ...key() },
    JSON.stringify({ ...valid(), items: [{ sku: 'A B', quantity: 1, unitPriceCents: 1 }] }),
    400,
    'validation',
  ],
  [
    'missing paymentToken',
    'order-service',
    'POST',
    '/orders',
    { ...json, ...key() },
    JSON.stringify({ ...valid(), paymentToken: undefined }),
    400,
    'validation',
  ],
  ['items not an array', 'order-service', 'POST', '/orders', { ...json, ...key() }, JSON.stringify({ ...valid(), items: 'SKU-1' }), 400, 'validation'],
  ['body is an array', 'order-service', 'POST', '/orders', { ...json, ...key() }, '[]', 400, 'validation'],
  ['order id not a uuid', 'order-service', 'GET', '/orders/not-a-uuid', {}, undefined, 400, 'validation'],
  ['unknown order', 'order-service', 'GET', `/orders/${randomUUID()}`, {}, undefined, 404, 'not_found'],
  ['limit 0', 'order-service', 'GET', '/orders?limit=0', {}, undefined, 400, 'validation'],
  ['unknown status filter', 'order-service', 'GET', '/orders?status=LOST', {}, undefined, 400, 'validation'],
  ['unknown query parameter', 'order-service', 'GET', '/orders?colour=red', {}, undefined, 400, 'validation'],
  ['garbage cursor', 'order-service', 'GET', '/orders?cursor=bm9wZQ', {}, undefined, 400, 'invalid'],
  ['cancel with a bad id', 'order-service', 'POST', '/orders/123/cancel', key(), undefined, 400, 'validation'],
  ['cancel an unknown order', 'order-service', 'POST', `/orders/${randomUUID()}/cancel`, key(), undefined, 404, 'not_found'],
  ['unknown route', 'order-service', 'GET', '/nope', {}, undefined, 404, 'not_found'],
  ['stock change without a token', 'inventory-service', 'PUT', '/products/SKU-X', json, JSON.stringify({ name: 'x', onHand: 1 }), 401, 'unauthorized'],
  [
    'stock change with a wrong token',
    'inventory-service',
    'PUT',
    '/products/SKU-X',
    { ...json, authorization: 'Bearer nope' },
    JSON.stringify({ name: 'x', onHand: 1 }),
    401,
    'unauthorized',
  ],
  ['negative on-hand', 'inventory-service', 'PUT', '/products/SKU-X', { ...json, ...ADMIN }, JSON.stringify({ name: 'x', onHand: -1 }), 400, 'validation'],
  ['product without a name', 'inventory-service', 'PUT', '/products/SKU-X', { ...json, ...ADMIN }, JSON.stringify({ onHand: 1 }), 400, 'validation'],
  [
    'invalid sku in the path',
    'inventory-service',
    'PUT',
    '/products/bad%20sku',
    { ...json, ...ADMIN },
    JSON.stringify({ name: 'x', onHand: 1 }),
    400,
    'validation',
  ],
  ['unknown product', 'inventory-service', 'GET', '/products/NO-SUCH-SKU', {}, undefined, 404, 'not_found'],
  ['payments without orderId', 'payment-service', 'GET', '/payments', {}, undefined, 400, 'validation'],
  ['payments with a bad orderId', 'payment-service', 'GET', '/payments?orderId=x', {}, undefined, 400, 'validation'],
  ['notifications with a bad orderId', 'notification-service', 'GET', '/notifications?orderId=1', {}, undefined, 400, 'validation'],
];

describe('bad input', { timeout: 120_000 }, () => {
  it(`answers ${CASES.length} kinds of bad request with problem+json and writes nothing`, async () => {
    const beforeWrites = await settledWrites();
    const beforeKafka = await kafkaEnds();
    for (const [name, service, method, path, headers, body, status, type] of CASES) {
      const res = await fetch(`${stack.url(service)}${path}`, { method, headers, body });
      const problem = await res.json();
      expect({ name, status: res.status, contentType: res.headers.get('content-type') }).toEqual({
        name,
        status,
        contentType: 'application/problem+json; charset=utf-8',
      });
      expect({ name, type: problem.type }).toEqual({ name, type: `https://errors.shop.local/${type}` });
      expect(problem).toMatchObject({ status, title: expect.any(String), instance: expect.any(String), correlationId: expect.any(String) });
      if (type === 'validation') expect(problem.errors.length).toBeGreaterThan(0);
      expect(JSON.stringify(problem)).not.toMatch(/at .*\.ts:\d+|SELECT|INSERT|prisma/i);
      expect({ name, writes: await writes() }).toEqual({ name, writes: beforeWrites });
    }
    // Give the relay a moment: had anything been written, it would be on Kafka by now.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await kafkaEnds()).toBe(beforeKafka);
  });

  it('never answers 5xx to random order bodies, and a 4xx never writes', async () => {
    const before = await settledWrites();
    const item = fc.record(
      {
        sku: fc.oneof(fc.string(), fc.constant('SKU-1')),
        quantity: fc.oneof(fc.integer(), fc.double(), fc.string()),
        unitPriceCents: fc.oneof(fc.integer(), fc.constant(null)),
      },
      { requiredKeys: [] },
    );
    const body = fc.oneof(
      fc.anything(),
      fc.record(
        {
          customerId: fc.oneof(fc.string(), fc.integer()),
          currency: fc.oneof(fc.constant('EUR'), fc.string()),
          paymentToken: fc.string(),
          items: fc.array(item, { maxLength: 3 }),
        },
        { requiredKeys: [] },
      ),
    );
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const res = await fetch(`${stack.url('order-service')}/orders`, { method: 'POST', headers: { ...json, ...key() }, body: JSON.stringify(b) ?? 'null' });
        await res.arrayBuffer();
        expect(res.status).toBeLessThan(500);
        if (res.status >= 400) expect(await writes()).toBe(before);
      }),
      { numRuns: 150 },
    );
  });

  it('serves OpenAPI 3.1 generated from the route schemas', async () => {
    const spec = await (await fetch(`${stack.url('order-service')}/docs`)).json();
    expect(spec.openapi).toBe('3.1.0');
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/orders', '/orders/{id}', '/orders/{id}/cancel']));
    expect(JSON.stringify(spec.paths['/orders'].post)).toContain('unitPriceCents');
    const inventory = await (await fetch(`${stack.url('inventory-service')}/docs`)).json();
    expect(Object.keys(inventory.paths)).toContain('/products/{sku}');
    // Which routes want a bearer token, and which do not.
    expect(spec.components.securitySchemes.bearer).toEqual({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    for (const op of [spec.paths['/orders'].post, spec.paths['/orders'].get, spec.paths['/orders/{id}/events'].get, inventory.paths['/products/{sku}'].put])
      expect(op.security).toEqual([{ bearer: [] }]);
    expect(inventory.paths['/products/{sku}'].get.security).toEqual([]); // declared public: the catalog
  });
});
