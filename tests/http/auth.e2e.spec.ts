// Customer routes know who is calling: a JWT's `sub` is the customer, another customer's order is
// 404, a refused token is 401 problem+json with WWW-Authenticate and writes nothing; admin routes
// take the admin token or an admin JWT and leave an audit row in the same transaction as the change.
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '@shop/testkit/tokens';
import { pool } from '../support/infra.ts';
import { startProcess, TEST_LOGS, waitFor, type RunningProcess } from '../support/processes.ts';
import { ADMIN, setStock, startStack, uniqueSku, type Stack } from '../support/stack.ts';

const SECRET = 'auth-test-secret-0123456789abcdef0123';
const AUTH = { AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET, AUTH_ISSUER: 'https://id.shop.test', AUTH_AUDIENCE: 'shop-api', AUTH_CLOCK_TOLERANCE_S: '5' };
const key = new TextEncoder().encode(SECRET);
const claims = { issuer: AUTH.AUTH_ISSUER, audience: AUTH.AUTH_AUDIENCE };
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const as = async (sub: string, roles?: string[]) => bearer(await mintToken({ sub, roles, ...claims }, key));
const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

const orders = pool('orders', 2);
const inventory = pool('inventory', 2);
let stack: Stack;
let sku: string;
beforeAll(async () => {
  stack = await startStack({ env: { ...AUTH, ORDER_DEADLINE_MS: '60000' } });
  sku = uniqueSku('AUTH');
  await setStock(stack, sku, 100);
});
afterAll(() => Promise.all([orders.end(), inventory.end()]));

const order = (customerId?: string) => ({ customerId, currency: 'EUR', paymentToken: 'tok_ok', items: [{ sku, quantity: 1 }] });
function post(path: string, headers: Record<string, string>, body?: unknown): Promise<Response> {
  return fetch(`${stack.url('order-service')}${path}`, {
    method: 'POST',
    headers: { 'idempotency-key': randomUUID(), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}
const get = (path: string, headers: Record<string, string>) => fetch(`${stack.url('order-service')}${path}`, { headers });
// What a placement writes: an order row and its OrderCreated event (since this file began: a
// fixed bound, as the relay's retention prunes hour-old rows). Orders placed earlier in a test
// go on through the workflow meanwhile, so their later events are not counted.
const since = new Date(Date.now() - 60_000);
async function writes(): Promise<string> {
  const [o, b] = await Promise.all([
    orders.query('select count(*) from orders'),
    orders.query("select count(*) from outbox where created_at > $1 and type = 'OrderCreated'", [since]),
  ]);
  return `orders=${o.rows[0].count} outbox=${b.rows[0].count}`;
}

describe('authentication', { timeout: 180_000 }, () => {
  it('refuses every bad token with 401 problem+json and WWW-Authenticate, writing nothing', async () => {
    const now = Math.floor(Date.now() / 1000);
    const rsa = await generateKeyPair('RS256');
    const base = () => new SignJWT({}).setSubject('mallory').setIssuer(claims.issuer).setAudience(claims.audience).setIssuedAt(now);
    const bad: Record<string, string> = {
      expired: await mintToken({ sub: 'mallory', ttlSeconds: -60, ...claims }, key),
      'not yet valid': await mintToken({ sub: 'mallory', notBeforeSeconds: 300, ...claims }, key),
      'wrong issuer': await mintToken({ sub: 'mallory', ...claims, issuer: 'https://evil.test' }, key),
      'wrong audience': await mintToken({ sub: 'mallory', ...claims, audience: 'another-api' }, key),
      'wrong signature': await mintToken({ sub: 'mallory', ...claims }, new TextEncoder().encode('another-secret-0123456789abcdef0123')),
      'alg none': `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'mallory', iss: claims.issuer, aud: claims.audience, exp: now + 600 })}.`,
      'RS256 where HS256 is expected': await base()
        .setExpirationTime(now + 600)
        .setProtectedHeader({ alg: 'RS256' })
        .sign(rsa.privateKey),
      'no exp': await base().setProtectedHeader({ alg: 'HS256' }).sign(key),
      malformed: 'not.a-jwt',
      garbage: 'eyJhbGciOiJIUzI1NiJ9.bm9wZQ.c2ln',
    };
    const before = await writes();
    for (const [name, token] of Object.entries(bad)) {
      for (const res of [await post('/orders', bearer(token), order()), await get('/orders', bearer(token))]) {
        const problem = (await res.json()) as { type: string; status: number };
        expect({ name, status: res.status, type: problem.type, contentType: res.headers.get('content-type') }).toEqual({
          name,
          status: 401,
          type: 'https://errors.shop.local/unauthorized',
          contentType: 'application/problem+json; charset=utf-8',
        });
        expect(res.headers.get('www-authenticate'), name).toMatch(/^Bearer realm="shop", error="invalid_token", error_description="[^"]+"$/);
      }
    }
    // No credentials at all: 401 with a challenge that names no error (RFC 6750 §3.1).
    const none = await post('/orders', {}, order('mallory'));
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="shop"');
    expect(await writes()).toBe(before);
    // Nothing about a token reaches the logs.
    await new Promise((r) => setTimeout(r, 600)); // services flush their logs every 200 ms
    const log = await readFile(`${TEST_LOGS}/order-service-${stack.instances['order-service'][0].port}.log`, 'utf8');
    expect(log).toContain('bearer token refused');
    for (const token of Object.values(bad)) expect(log).not.toContain(token);
  });

  it('scopes a customer to their own orders: another customer gets 404, placing as another is 403', async () => {
    const alice = await as(`alice-${randomUUID().slice(0, 6)}`);
    const bob = await as(`bob-${randomUUID().slice(0, 6)}`);
    const aliceId = JSON.parse(Buffer.from(alice.authorization.split('.')[1], 'base64url').toString()).sub as string;
    const placed = await post('/orders', alice, order());
    expect(placed.status).toBe(201);
    const mine = (await placed.json()) as { orderId: string; customerId: string };
    expect(mine.customerId).toBe(aliceId); // the token's sub, with no customerId in the body
    expect((await post('/orders', alice, order(aliceId))).status).toBe(201); // naming oneself is fine

    const before = await writes();
    const asAlice = await post('/orders', bob, order(aliceId));
    expect(asAlice.status).toBe(403);
    expect(((await asAlice.json()) as { type: string }).type).toBe('https://errors.shop.local/forbidden');
    expect(await writes()).toBe(before);

    // Bob cannot see, wait on, stream or cancel Alice's order: 404, as for an order that does not exist.
    for (const path of [`/orders/${mine.orderId}`, `/orders/${mine.orderId}?waitFor=terminal&timeout=1s`, `/orders/${mine.orderId}/events`]) {
      const res = await get(path, bob);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
    }
    expect((await post(`/orders/${mine.orderId}/cancel`, bob)).status).toBe(404);
    expect((await get(`/orders?customerId=${aliceId}`, bob)).status).toBe(403);
    const bobsList = (await (await get('/orders', bob)).json()) as { items: unknown[] };
    expect(bobsList.items).toEqual([]);

    // Alice sees both of hers, and only hers; her order went on (Bob's cancel did nothing).
    const aliceList = (await (await get('/orders', alice)).json()) as { items: { customerId: string }[] };
    expect(aliceList.items.map((o) => o.customerId)).toEqual([aliceId, aliceId]);
    const ended = (await (await get(`/orders/${mine.orderId}?waitFor=terminal&timeout=20s`, alice)).json()) as { status: string };
    expect(ended.status).toBe('COMPLETED');
    // Her payments and notifications too: Bob (or nobody) cannot read them, nor probe for them.
    for (const service of ['payment-service', 'notification-service'] as const) {
      const path = `${stack.url(service)}/${service === 'payment-service' ? 'payments' : 'notifications'}?orderId=${mine.orderId}`;
      await waitFor(async () => (await fetch(path, { headers: alice })).status === 200, { what: `${service} has the order`, timeoutMs: 20_000 });
      const own = (await (await fetch(path, { headers: alice })).json()) as { charges?: { amountCents: number }[]; notifications?: unknown[] };
      expect(own.charges ?? own.notifications).toHaveLength(1);
      expect({
        service,
        bob: (await fetch(path, { headers: bob })).status,
        anonymous: (await fetch(path)).status,
        admin: (await fetch(path, { headers: ADMIN })).status,
      }).toEqual({
        service,
        bob: 404,
        anonymous: 401,
        admin: 200,
      });
      const unknown = path.replace(mine.orderId, randomUUID());
      expect((await fetch(unknown, { headers: bob })).status).toBe(404); // the same answer as for an order that is not Bob's
    }
    // An admin (JWT with the admin role, or the admin token) reads any customer's order.
    expect((await get(`/orders/${mine.orderId}`, await as('support-1', ['admin']))).status).toBe(200);
    expect((await get(`/orders?customerId=${aliceId}`, ADMIN)).status).toBe(200);
  });

  it("takes any identity provider's subject as the customer, as it is", async () => {
    for (const sub of [
      `auth0|5f7c8ec7c33c6c004bbafe82`,
      '109876543210987654321',
      '00u1abcd2EFGH3ijkl4',
      randomUUID(),
      'https://id.example.com/u/7',
      'ユーザー',
      '😀',
    ]) {
      const customer = await as(`${sub}-${randomUUID().slice(0, 4)}`);
      const placed = await post('/orders', customer, order());
      expect({ sub, status: placed.status }).toEqual({ sub, status: 201 });
      const { orderId, customerId } = (await placed.json()) as { orderId: string; customerId: string };
      expect(customerId.startsWith(sub)).toBe(true);
      expect((await get(`/orders/${orderId}`, customer)).status).toBe(200);
    }
    // A sub with a control character, or over 255 bytes, is no identity: the token is refused.
    for (const sub of ['nul\u0000x', 'é'.repeat(128)]) expect((await get('/orders', await as(sub))).status).toBe(401);
  });

  it('audits every admin write on orders, and the history names who acted', async () => {
    const support = await as('support-7', ['admin']);
    const carol = `carol-${randomUUID().slice(0, 6)}`;
    const audits = async (orderId: string) =>
      (
        await orders.query<{ actor: string; action: string; after: { reason?: string } }>(
          'select actor, action, after from admin_audit where subject = $1 order by id',
          [orderId],
        )
      ).rows;
    const history = async (orderId: string, who: Record<string, string>) =>
      ((await (await get(`/orders/${orderId}`, who)).json()) as { history: { status: string; reason: string | null; actor: string | null }[] }).history;

    // An admin places for Carol, then cancels: both audited in their transactions, both in the history.
    const placed = await post('/orders', support, { ...order(carol), paymentToken: 'tok_hang' });
    expect(placed.status).toBe(201);
    const { orderId, customerId } = (await placed.json()) as { orderId: string; customerId: string };
    expect(customerId).toBe(carol);
    const cancelled = await post(`/orders/${orderId}/cancel`, support);
    expect(await cancelled.json()).toMatchObject({ status: 'CANCELLED', reason: 'ADMIN_CANCELLED' });
    expect((await audits(orderId)).map((a) => `${a.actor} ${a.action} ${a.after.reason ?? ''}`.trim())).toEqual([
      'support-7 order.place',
      'support-7 order.cancel ADMIN_CANCELLED',
    ]);
    const byAdmin = await history(orderId, await as(carol));
    expect(byAdmin[0]).toMatchObject({ status: 'CREATED', actor: 'admin:support-7' });
    expect(byAdmin.at(-1)).toMatchObject({ status: 'CANCELLED', reason: 'ADMIN_CANCELLED', actor: 'admin:support-7' });

    // Carol's own cancellation is hers, and writes no audit row.
    const own = (await (await post('/orders', await as(carol), { ...order(), paymentToken: 'tok_hang' })).json()) as { orderId: string };
    expect(await (await post(`/orders/${own.orderId}/cancel`, await as(carol))).json()).toMatchObject({ reason: 'CUSTOMER_CANCELLED' });
    expect(await audits(own.orderId)).toEqual([]);
    expect((await history(own.orderId, ADMIN)).map((h) => h.actor)).toEqual([`customer:${carol}`, `customer:${carol}`]);
  });

  it('lets an admin JWT change stock, and audits each change in the same transaction', async () => {
    // A product of its own: no order moves it between the writes and their audit rows.
    const audited = uniqueSku('AUDIT');
    const url = `${stack.url('inventory-service')}/products/${audited}`;
    const put = (headers: Record<string, string>, onHand: number) =>
      fetch(url, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ name: 'audited', onHand, priceCents: 100, currency: 'EUR' }),
      });
    const audits = async () =>
      (
        await inventory.query<{ actor: string; action: string; before: { onHand: number } | null; after: { onHand: number }; xmin: string }>(
          'select actor, action, before, after, xmin::text from admin_audit where subject = $1 order by id',
          [audited],
        )
      ).rows;
    expect((await put(await as('eve'), 5)).status).toBe(403); // a customer's token
    const admin = await as('ops-anna', ['admin']);
    expect((await put(admin, 10)).status).toBe(201);
    expect((await put({ ...admin, 'if-match': '"0"' }, 60)).status).toBe(200);
    const adjust = await fetch(`${url}/adjustments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID(), ...ADMIN },
      body: JSON.stringify({ delta: -3, reason: 'damaged' }),
    });
    expect(adjust.status).toBe(200);
    // A refused change (at a version the product has left) leaves no audit row.
    expect((await put({ ...ADMIN, 'if-match': '"0"' }, 1)).status).toBe(412);

    const rows = await audits();
    expect(rows.map((r) => ({ actor: r.actor, action: r.action, before: r.before?.onHand ?? null, after: r.after.onHand }))).toEqual([
      { actor: 'ops-anna', action: 'stock.create', before: null, after: 10 },
      { actor: 'ops-anna', action: 'stock.set', before: 10, after: 60 },
      { actor: 'admin-token', action: 'stock.adjust', before: 60, after: 57 },
    ]);
    // The last row was written by the transaction that wrote the product as it is now.
    const product = await inventory.query<{ xmin: string }>('select xmin::text from products where sku = $1', [audited]);
    expect(rows.at(-1)!.xmin).toBe(product.rows[0].xmin);
  });

  it('refuses AUTH_MODE=off in production', async () => {
    const prod = await startProcess('payment-service', {
      env: { NODE_ENV: 'production', AUTH_MODE: 'off', ADMIN_TOKEN: 'a-production-admin-token' },
      waitReady: false,
      logName: 'payment-auth-off',
    });
    expect(await prod.exited).not.toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(await readFile(`${TEST_LOGS}/payment-auth-off-${prod.port}.log`, 'utf8')).toContain('AUTH_MODE=off is refused when NODE_ENV=production');
  });
});

/** A key set server that counts its fetches, serving whatever keys it holds now. */
async function keySet() {
  let keys: JWK[] = [];
  let fetches = 0;
  const server = http.createServer((_req, res) => {
    fetches++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`,
    serve: (k: JWK[]) => void (keys = k),
    get fetches() {
      return fetches;
    },
    close: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}

describe('a JWKS key source', { timeout: 120_000 }, () => {
  it('fetches a new key id once, refuses unknown ones without a fetch storm and HS256 made with a public key, and answers 503 while the key set is unreachable', async () => {
    const jwks = await keySet();
    const pair = async (kid: string) => {
      const { publicKey, privateKey } = await generateKeyPair('ES256');
      return { kid, privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
    };
    const [k1, k2, k3] = await Promise.all([pair('k1'), pair('k2'), pair('k3')]);
    jwks.serve([k1.jwk]);
    const cooldownMs = 2_000;
    let service: RunningProcess | undefined;
    try {
      service = await startProcess('order-service', {
        env: { AUTH_MODE: 'jwt', AUTH_JWKS_URL: jwks.url, AUTH_JWKS_COOLDOWN_MS: String(cooldownMs), AUTH_AUDIENCE: 'shop-api' },
        logName: 'order-service-jwks',
      });
      const now = Math.floor(Date.now() / 1000);
      const sign = (k: { kid: string; privateKey: CryptoKey }, sub: string) =>
        new SignJWT({})
          .setProtectedHeader({ alg: 'ES256', kid: k.kid })
          .setSubject(sub)
          .setAudience('shop-api')
          .setExpirationTime(now + 600)
          .sign(k.privateKey);
      const list = async (token: string) => (await fetch(`${service!.url}/orders`, { headers: bearer(token) })).status;

      expect(await list(await sign(k1, 'c-1'))).toBe(200);
      expect(jwks.fetches).toBe(1);
      expect(await list(await sign(k1, 'c-2'))).toBe(200); // a known key: no fetch
      expect(jwks.fetches).toBe(1);

      // Rotation: the provider publishes k2. The first k2 token after the cooldown fetches once.
      jwks.serve([k1.jwk, k2.jwk]);
      await new Promise((r) => setTimeout(r, cooldownMs + 200));
      expect(await list(await sign(k2, 'c-3'))).toBe(200);
      expect(jwks.fetches).toBe(2);

      // 40 tokens with an unknown kid at once, within the cooldown: all 401, not one fetch.
      const unknown = await Promise.all(Array.from({ length: 40 }, (_, i) => sign(k3, `c-u${i}`)));
      expect(await Promise.all(unknown.map(list))).toEqual(unknown.map(() => 401));
      expect(jwks.fetches).toBe(2);
      // After the cooldown the same burst costs one fetch (still 401: k3 is not published).
      await new Promise((r) => setTimeout(r, cooldownMs + 200));
      expect(await Promise.all(unknown.map(list))).toEqual(unknown.map(() => 401));
      expect(jwks.fetches).toBe(3);

      // HS/RS confusion: an HS256 token whose secret is the published public key.
      const pem = await exportSPKI(k1.publicKey);
      for (const secret of [pem, JSON.stringify(k1.jwk)]) {
        const forged = await new SignJWT({})
          .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
          .setSubject('c-1')
          .setAudience('shop-api')
          .setExpirationTime(now + 600)
          .sign(new TextEncoder().encode(secret));
        expect(await list(forged)).toBe(401);
      }
      // The right kid with another key's signature.
      expect(await list(await sign({ kid: 'k1', privateKey: k2.privateKey }, 'c-1'))).toBe(401);

      // The key set's server goes away: known keys still verify; a kid that needs a fetch is 503
      // (ours to fix, retry later), not 401.
      await jwks.close();
      await new Promise((r) => setTimeout(r, cooldownMs + 200));
      expect(await list(await sign(k2, 'c-4'))).toBe(200);
      const res = await fetch(`${service.url}/orders`, { headers: bearer(await sign(k3, 'c-5')) });
      expect({ status: res.status, type: ((await res.json()) as { type: string }).type }).toEqual({
        status: 503,
        type: 'https://errors.shop.local/temporarily_unavailable',
      });
    } finally {
      await service?.stop();
      await jwks.close().catch(() => undefined);
    }
  });
});
