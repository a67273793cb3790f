// Every resource a client can hold is bounded, per client: open waits (long polls and event
// streams, freed when the client goes away), orders per minute (across instances, so one
// customer's flood is not everyone's outage), the time to send headers and a body, how long a
// refused request holds its Idempotency-Key; and Redis cannot silently evict a key. An
// Idempotency-Key is the caller's own: another customer's same key is another key.
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '@shop/testkit/tokens';
import { setStock, startStack, uniqueSku, type Stack } from '../support/stack.ts';
import { waitFor } from '../support/processes.ts';

const SECRET = 'limits-test-secret-0123456789abcdef0123';
const key = new TextEncoder().encode(SECRET);
const as = async (sub: string) => ({ authorization: `Bearer ${await mintToken({ sub }, key)}` });
const LIMITS = {
  AUTH_MODE: 'jwt',
  AUTH_JWT_SECRET: SECRET,
  ORDER_RATE_LIMIT_PER_MIN: '8',
  ORDER_MAX_WAITS_PER_CLIENT: '3',
  HTTP_HEADERS_TIMEOUT_MS: '1000',
  HTTP_REQUEST_TIMEOUT_MS: '1500',
  IDEMPOTENCY_FAILED_TTL_S: '2',
  ORDER_DEADLINE_MS: '120000',
  ORDER_PAYMENT_DEADLINE_MS: '120000',
};

let stack: Stack;
let sku: string;
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
beforeAll(async () => {
  stack = await startStack({ instances: { 'order-service': 2 }, env: LIMITS });
  sku = uniqueSku('LIMITS');
  await setStock(stack, sku, 1000);
});
afterAll(() => redis.disconnect());

const orderUrl = (i: number) => stack.instances['order-service'][i].url;
const place = (
  url: string,
  headers: Record<string, string>,
  idempotencyKey = randomUUID(),
  body: object = { currency: 'EUR', paymentToken: 'tok_hang', items: [{ sku, quantity: 1 }] },
) =>
  fetch(`${url}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey, ...headers },
    body: JSON.stringify(body),
  });
const waiting = async (url: string) => Number(/^order_waiting_clients\{[^}]*\} (\d+)/m.exec(await (await fetch(`${url}/metrics`)).text())?.[1]);

describe('resource bounds', { timeout: 120_000 }, () => {
  it('caps open waits per client, and frees a wait the moment its client goes away', async () => {
    const url = orderUrl(0);
    const alice = await as(`alice-${randomUUID().slice(0, 6)}`);
    const { orderId } = (await (await place(url, alice)).json()) as { orderId: string }; // tok_hang: stays open
    const clients = Array.from({ length: 3 }, () => new AbortController());
    const polls = clients.map((c, i) =>
      fetch(i === 2 ? `${url}/orders/${orderId}/events` : `${url}/orders/${orderId}?waitFor=terminal&timeout=30s`, { headers: alice, signal: c.signal }).then(
        async (r) => (i === 2 ? r.body?.getReader().read() : r.text()),
      ),
    );
    await waitFor(async () => (await waiting(url)) === 3, { what: 'three waits open', timeoutMs: 5_000 });
    const fourth = await fetch(`${url}/orders/${orderId}?waitFor=terminal&timeout=1s`, { headers: alice });
    expect({ status: fourth.status, retryAfter: fourth.headers.get('retry-after') }).toEqual({ status: 429, retryAfter: '1' });
    // Another customer is not held back by Alice's waits (hers is not theirs to read: 404).
    expect((await fetch(`${url}/orders/${orderId}?waitFor=terminal&timeout=100ms`, { headers: await as('bob') })).status).toBe(404);

    for (const c of clients) c.abort();
    await Promise.allSettled(polls);
    const gone = Date.now();
    await waitFor(async () => (await waiting(url)) === 0, { what: 'the abandoned waits to end', timeoutMs: 3_000 });
    expect(Date.now() - gone).toBeLessThan(3_000); // not the 30 s they asked for
    expect((await fetch(`${url}/orders/${orderId}?waitFor=terminal&timeout=100ms`, { headers: alice })).status).toBe(200);
  });

  it('limits orders per customer across instances; another customer still orders during one customer’s flood', async () => {
    const flooder = await as(`flood-${randomUUID().slice(0, 6)}`);
    const statuses = await Promise.all(Array.from({ length: 16 }, (_, i) => place(orderUrl(i % 2), flooder).then((r) => r.status)));
    expect(statuses.filter((s) => s === 201)).toHaveLength(8);
    expect(statuses.filter((s) => s === 429)).toHaveLength(8);
    const refused = await place(orderUrl(1), flooder);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await refused.json()) as { type: string }).type).toBe('https://errors.shop.local/rate_limited');
    expect((await place(orderUrl(0), await as(`calm-${randomUUID().slice(0, 6)}`))).status).toBe(201);
  });

  it('scopes an Idempotency-Key to its caller: another customer with the same key neither replays nor blocks it', async () => {
    const shared = randomUUID();
    const [alice, mallory] = [await as(`alice-${randomUUID().slice(0, 6)}`), await as(`mallory-${randomUUID().slice(0, 6)}`)];
    const mine = (await (await place(orderUrl(0), alice, shared)).json()) as { orderId: string };
    const squat = await place(orderUrl(1), mallory, shared);
    expect(squat.status).toBe(201);
    expect(squat.headers.get('idempotent-replayed')).toBeNull();
    expect(((await squat.json()) as { orderId: string }).orderId).not.toBe(mine.orderId);
    const again = await place(orderUrl(1), alice, shared);
    expect({ status: again.status, replayed: again.headers.get('idempotent-replayed') }).toEqual({ status: 201, replayed: 'true' });
    expect(((await again.json()) as { orderId: string }).orderId).toBe(mine.orderId);
  });

  it('keeps a refused request’s reply only briefly (IDEMPOTENCY_FAILED_TTL_S), a completed one for the full TTL', async () => {
    const admin = { authorization: 'Bearer test-admin-token', 'content-type': 'application/json' };
    const key = randomUUID();
    const adjust = (delta: number) =>
      fetch(`${stack.url('inventory-service')}/products/${sku}/adjustments`, {
        method: 'POST',
        headers: { ...admin, 'idempotency-key': key },
        body: JSON.stringify({ delta, reason: 'r' }),
      });
    expect((await adjust(-100_000)).status).toBe(409); // below what is reserved: refused
    expect((await adjust(-100_000)).headers.get('idempotent-replayed')).toBe('true');
    const stored = (await redis.keys(`idem:inventory-service:*${key}`))[0];
    expect(await redis.ttl(stored)).toBeLessThanOrEqual(2);
    await new Promise((r) => setTimeout(r, 2_500));
    const retried = await adjust(-100_000);
    expect({ status: retried.status, replayed: retried.headers.get('idempotent-replayed') }).toEqual({ status: 409, replayed: null });
  });

  it('gives a client a deadline for its headers and for its body (408, socket closed)', async () => {
    const { port } = stack.instances['order-service'][0];
    const slow = (first: string) =>
      new Promise<{ ms: number; answer: string }>((resolve) => {
        const started = Date.now();
        let answer = '';
        const socket = connect(port, '127.0.0.1', () => socket.write(first));
        socket.on('data', (c) => (answer += c.toString()));
        socket.on('close', () => resolve({ ms: Date.now() - started, answer }));
        socket.setTimeout(10_000, () => socket.destroy());
      });
    const headers = await slow('POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'); // never ends its headers
    expect(headers.ms).toBeLessThan(4_000);
    const { authorization } = await as('slow-client');
    const body = await slow(
      `POST /orders HTTP/1.1\r\nHost: x\r\nAuthorization: ${authorization}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"cur`,
    ); // nor its body
    expect(body.ms).toBeLessThan(4_000);
    expect(body.answer).toMatch(/^HTTP\/1\.1 408/);
  });

  it('echoes a short correlation id, and replaces one of any length or bytes with its own', async () => {
    const echoed = async (given: string) => (await fetch(`${orderUrl(0)}/healthz`, { headers: { 'x-correlation-id': given } })).headers.get('x-correlation-id');
    expect(await echoed('checkout-42.retry:1')).toBe('checkout-42.retry:1');
    for (const hostile of ['x'.repeat(5_000), 'two words', 'crlf\tinjection', '"quoted"'])
      expect({ hostile: hostile.slice(0, 12), echoed: await echoed(hostile) }).toEqual({
        hostile: hostile.slice(0, 12),
        echoed: expect.stringMatching(/^[0-9a-f-]{36}$/),
      });
  });

  it('runs Redis with a memory bound that refuses writes rather than evicting Idempotency-Keys', async () => {
    const [, maxmemory] = (await redis.config('GET', 'maxmemory')) as string[];
    const [, policy] = (await redis.config('GET', 'maxmemory-policy')) as string[];
    expect(Number(maxmemory)).toBeGreaterThan(0);
    expect(policy).toBe('noeviction');
  });
});
