// JSON bodies are validated as sent: a value of the wrong type in any field of any write route is
// 400 problem+json naming that field, and nothing is written (no row, no outbox row, no message).
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { startProcess, type RunningProcess } from '../support/processes.ts';
import { placeOrder, setStock, startStack, uniqueSku, type Stack } from '../support/stack.ts';
import { WRONG, withField, writeRoutes } from '../support/write-routes.ts';
import { writeProbe } from '../support/writes.ts';

const probe = writeProbe();
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

const ROUTES = writeRoutes({ sku: () => sku, url: (service) => (service === 'ops-console' ? opsConsole.url : stack.url(service)) });
const order = () => ROUTES[0].valid();

describe('strict request bodies', { timeout: 300_000 }, () => {
  it('answers "quantity": "2" with 400 naming the field', async () => {
    const before = await probe.settled();
    const res = await fetch(`${stack.url('order-service')}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      body: JSON.stringify({ ...order(), items: [{ sku, quantity: '2', unitPriceCents: '500' }] }),
    });
    expect(res.status).toBe(400);
    const problem = (await res.json()) as { errors: { field: string }[] };
    expect(problem.errors.map((e) => e.field).sort()).toEqual(['body/items/0/quantity', 'body/items/0/unitPriceCents']);
    await probe.expectUnchanged(before);
  });

  it('refuses a body carrying a __proto__ key as malformed JSON, writing nothing', async () => {
    const before = await probe.settled();
    const res = await fetch(`${stack.url('order-service')}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      body: JSON.stringify(order()).replace(/^\{/, '{"__proto__":{"isAdmin":true},'),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(((await res.json()) as { type: string }).type).toBe('https://errors.shop.local/malformed_json');
    await probe.expectUnchanged(before);
  });

  for (const route of ROUTES) {
    it(`${route.name}: a wrongly typed value in any field is 400 for that field and writes nothing`, async () => {
      const before = await probe.settled();
      const field = fc.constantFrom(...route.fields).chain(([path, kind]) => fc.tuple(fc.constant(path), WRONG[kind]));
      await fc.assert(
        fc.asyncProperty(field, async ([path, value]) => {
          const res = await fetch(`${route.url()}`, {
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
      await probe.expectUnchanged(before);
    });
  }

  it('POST /orders/:id/cancel takes no body: any body is 400 and the order stays open', async () => {
    const before = await probe.settled();
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
    await probe.expectUnchanged(before);
  });
});
