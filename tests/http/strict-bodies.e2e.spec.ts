// JSON bodies are validated as sent: a value of the wrong type in any field of any write route is
// 400 problem+json naming that field, and nothing is written (no row, no outbox row, no message).
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVICE_DATABASES } from '@shop/lib/db/databases';
import { pool } from '../support/infra.ts';
import { kafka } from '../support/kafka.ts';
import { startProcess, type RunningProcess } from '../support/processes.ts';
import { ADMIN, placeOrder, setStock, startStack, uniqueSku, type Stack } from '../support/stack.ts';

const pools = Object.fromEntries(SERVICE_DATABASES.map((db) => [db, pool(db, 2)]));
let stack: Stack;
let opsConsole: RunningProcess;
let sku: string;
let openOrder: string;
beforeAll(async () => {
  stack = await startStack({ env: { ORDER_DEADLINE_MS: '600000' } });
  opsConsole = await startProcess('ops-console', { env: { RELAY_URL: stack.relay.url } });
  sku = uniqueSku('STRICT');
  await setStock(stack, sku, 5);
  // An order that stays open (the provider never answers), for the cancel route.
  openOrder = (await placeOrder(stack, { items: [{ sku, quantity: 1 }], paymentToken: 'tok_hang' })).orderId;
});
afterAll(() => Promise.all(Object.values(pools).map((p) => p.end())));

// Outbox rows written since this file began: the relay's retention pruning deletes hour-old rows
// meanwhile (a long-lived database has some, e.g. a bench's), which is not a write of this test.
const since = new Date(Date.now() - 60_000);

/** Everything a write could change: outbox rows, orders and their status, stock versions, Kafka ends. */
async function state(): Promise<string> {
  const parts = await Promise.all([
    ...SERVICE_DATABASES.map(
      async (db) => `${db}.outbox=${(await pools[db].query('select count(*) from outbox where created_at > $1', [since])).rows[0].count}`,
    ),
    pools.orders
      .query(`select count(*), count(*) filter (where status = 'CANCELLED') as c from orders`)
      .then((r) => `orders=${r.rows[0].count}/${r.rows[0].c}`),
    pools.inventory.query('select count(*), coalesce(sum(version), 0) as v from products').then((r) => `products=${r.rows[0].count}/${r.rows[0].v}`),
  ]);
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (const t of ['order.events', 'inventory.events', 'payment.events'])
      parts.push(`${t}:${(await admin.fetchTopicOffsets(t)).map((p) => p.offset).join(',')}`);
  } finally {
    await admin.disconnect();
  }
  return parts.join(' ');
}

/** Waits until nothing changes for a second: the open order's own workflow settles first. */
async function settled(): Promise<string> {
  let last = '';
  for (;;) {
    const now = await state();
    if (now === last) return now;
    last = now;
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

type Kind = 'string' | 'integer' | 'array';
const wrong: Record<Kind, fc.Arbitrary<unknown>> = {
  // A number's text is the coercion this guards against; the rest are other JSON types.
  integer: fc.oneof(
    fc.integer({ min: 1, max: 100 }).map(String),
    fc.double({ min: 1.1, max: 99.9, noInteger: true }),
    fc.boolean(),
    fc.constant(null),
    fc.constant([1]),
    fc.constant({}),
  ),
  string: fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.constant(['x']), fc.constant({ x: 1 })),
  array: fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.constant({})),
};

interface Route {
  name: string;
  service: 'order-service' | 'inventory-service' | 'ops-console';
  method: string;
  path: () => string;
  headers: () => Record<string, string>;
  valid: () => Record<string, unknown>;
  /** Field path (as in the problem's `errors[].field`, after `body/`) and what it must be. */
  fields: [path: string, kind: Kind][];
}

const order = () => ({ customerId: 'c1', currency: 'EUR', paymentToken: 'tok_ok', items: [{ sku, quantity: 2, unitPriceCents: 500 }] });
const ROUTES: Route[] = [
  {
    name: 'POST /orders',
    service: 'order-service',
    method: 'POST',
    path: () => '/orders',
    headers: () => ({ 'idempotency-key': randomUUID() }),
    valid: order,
    fields: [
      ['customerId', 'string'],
      ['currency', 'string'],
      ['paymentToken', 'string'],
      ['items', 'array'],
      ['items/0/sku', 'string'],
      ['items/0/quantity', 'integer'],
      ['items/0/unitPriceCents', 'integer'],
    ],
  },
  {
    name: 'PUT /products/:sku',
    service: 'inventory-service',
    method: 'PUT',
    path: () => `/products/${sku}`,
    headers: () => ({ ...ADMIN, 'if-match': '"0"' }),
    valid: () => ({ name: 'w', onHand: 7 }),
    fields: [
      ['name', 'string'],
      ['onHand', 'integer'],
    ],
  },
  {
    name: 'POST /products/:sku/adjustments',
    service: 'inventory-service',
    method: 'POST',
    path: () => `/products/${sku}/adjustments`,
    headers: () => ({ ...ADMIN, 'idempotency-key': randomUUID() }),
    valid: () => ({ delta: 3, reason: 'receipt' }),
    fields: [
      ['delta', 'integer'],
      ['reason', 'string'],
    ],
  },
  {
    name: 'POST /api/dlq/replay',
    service: 'ops-console',
    method: 'POST',
    path: () => '/api/dlq/replay',
    headers: () => ADMIN,
    valid: () => ({ topic: 'order.events.dlq', partition: 0, offset: '0' }),
    fields: [
      ['topic', 'string'],
      ['partition', 'integer'],
      ['offset', 'string'],
    ],
  },
];

function withField(body: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const copy = structuredClone(body);
  const keys = path.split('/');
  let at: Record<string, unknown> = copy;
  for (const k of keys.slice(0, -1)) at = at[k] as Record<string, unknown>;
  at[keys.at(-1)!] = value;
  return copy;
}

/** Fastify's JSON parser rule: a `__proto__` key, or a `constructor` object with a `prototype` key, anywhere. */
function poisonsPrototype(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return value.some(poisonsPrototype);
  const own = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);
  if (own(value, '__proto__')) return true;
  const ctor = (value as Record<string, unknown>).constructor;
  if (own(value, 'constructor') && typeof ctor === 'object' && ctor !== null && own(ctor, 'prototype')) return true;
  return Object.values(value).some(poisonsPrototype);
}

const baseUrl = (service: Route['service']) => (service === 'ops-console' ? opsConsole.url : stack.url(service));

describe('strict request bodies', { timeout: 300_000 }, () => {
  it('answers "quantity": "2" with 400 naming the field', async () => {
    const before = await settled();
    const res = await fetch(`${stack.url('order-service')}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      body: JSON.stringify({ ...order(), items: [{ sku, quantity: '2', unitPriceCents: '500' }] }),
    });
    expect(res.status).toBe(400);
    const problem = (await res.json()) as { errors: { field: string }[] };
    expect(problem.errors.map((e) => e.field).sort()).toEqual(['body/items/0/quantity', 'body/items/0/unitPriceCents']);
    expect(await state()).toBe(before);
  });

  it('refuses a body carrying a __proto__ key as malformed JSON, writing nothing', async () => {
    const before = await settled();
    const res = await fetch(`${stack.url('order-service')}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      body: JSON.stringify(order()).replace(/^\{/, '{"__proto__":{"isAdmin":true},'),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(((await res.json()) as { type: string }).type).toBe('https://errors.shop.local/malformed_json');
    expect(await state()).toBe(before);
  });

  for (const route of ROUTES) {
    it(`${route.name}: a wrongly typed value in any field is 400 for that field and writes nothing`, async () => {
      const before = await settled();
      const field = fc.constantFrom(...route.fields).chain(([path, kind]) => fc.tuple(fc.constant(path), wrong[kind]));
      await fc.assert(
        fc.asyncProperty(field, async ([path, value]) => {
          const res = await fetch(`${baseUrl(route.service)}${route.path()}`, {
            method: route.method,
            headers: { 'content-type': 'application/json', ...route.headers() },
            body: JSON.stringify(withField(route.valid(), path, value)),
          });
          const problem = (await res.json()) as { type: string; errors?: { field: string }[] };
          expect({ path, value, status: res.status, type: problem.type }).toEqual({ path, value, status: 400, type: 'https://errors.shop.local/validation' });
          expect(problem.errors?.map((e) => e.field)).toContain(`body/${path}`);
        }),
        { numRuns: 60 },
      );
      expect(await state()).toBe(before);
    });
  }

  it('POST /orders/:id/cancel takes no body: any body is 400 and the order stays open', async () => {
    const before = await settled();
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (body) => {
        const res = await fetch(`${stack.url('order-service')}/orders/${openOrder}/cancel`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
          body: JSON.stringify(body),
        });
        const problem = (await res.json()) as { type: string; errors?: { field: string }[] };
        // The JSON parser itself refuses a body that could poison a prototype, before any schema.
        const type = poisonsPrototype(body) ? 'malformed_json' : 'validation';
        expect({ body, status: res.status, type: problem.type }).toEqual({ body, status: 400, type: `https://errors.shop.local/${type}` });
        if (type === 'validation') expect(problem.errors?.map((e) => e.field)).toEqual(['body']);
      }),
      { numRuns: 40 },
    );
    expect(await state()).toBe(before);
  });
});
