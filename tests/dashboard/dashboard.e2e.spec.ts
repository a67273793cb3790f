// The operations page (ops-console) in a real browser (Debian's chromium driven by playwright-core).
import { mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, SERVICE_DATABASES } from '@shop/lib/db/databases';
import { infra, pool } from '../support/infra.ts';
import { produce } from '../support/kafka.ts';
import { startProcess, type RunningProcess } from '../support/processes.ts';
import { placeOrder, setStock, startStack, uniqueSku, waitTerminal, type Stack } from '../support/stack.ts';

let stack: Stack;
let opsConsole: RunningProcess;
let browser: Browser;
let page: Page;
const OUT = `${REPO_ROOT}test-output`;

beforeAll(async () => {
  stack = await startStack();
  opsConsole = await startProcess('ops-console', {
    env: {
      RELAY_URL: stack.relay.url,
      ORDER_SERVICE_URL: stack.url('order-service'),
      INVENTORY_SERVICE_URL: stack.url('inventory-service'),
      PAYMENT_SERVICE_URL: stack.url('payment-service'),
      NOTIFICATION_SERVICE_URL: stack.url('notification-service'),
      CONSOLE_POLL_MS: '500',
    },
  });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
});
afterAll(async () => {
  await infra('kafka-start');
  await browser?.close();
});

describe('operations page', { timeout: 180_000 }, () => {
  it('lets only a signed-in admin in: 401 without a session, a strict HttpOnly cookie, CSRF on writes', async () => {
    for (const path of ['/api/overview', `/api/orders/${crypto.randomUUID()}`, '/api/me'])
      expect({ path, status: (await fetch(`${opsConsole.url}${path}`)).status }).toEqual({ path, status: 401 });
    // An offset no dead letter has: a request let through answers 404 and replays nothing.
    const replay = { topic: 'order.events.dlq', partition: 0, offset: '999999999' };
    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${opsConsole.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    expect((await post('/api/dlq/replay', replay)).status).toBe(401);
    const home = await fetch(`${opsConsole.url}/`, { redirect: 'manual' });
    expect({ status: home.status, location: home.headers.get('location') }).toEqual({ status: 303, location: '/login' });
    expect((await post('/login', { token: 'not-the-admin-token' })).status).toBe(401);

    const signedIn = await post('/login', { token: 'test-admin-token' });
    expect(signedIn.status).toBe(200);
    const cookie = signedIn.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^shop_console=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
    const { csrfToken } = (await signedIn.json()) as { csrfToken: string };
    const session = { cookie: cookie.split(';')[0] };
    expect((await fetch(`${opsConsole.url}/api/overview`, { headers: session })).status).toBe(200);
    // A write with the cookie alone (what a form on another site could send) is refused.
    expect((await post('/api/dlq/replay', replay, session)).status).toBe(403);
    expect((await post('/api/dlq/replay', replay, { ...session, 'x-csrf-token': 'forged' })).status).toBe(403);
    expect((await post('/api/dlq/replay', replay, { ...session, 'x-csrf-token': csrfToken })).status).toBe(404); // let through: no such letter
    // A cookie signed with another secret, or tampered with, is no session.
    const tampered = session.cookie.replace(/\.[^.]+$/, '.AAAA');
    expect((await fetch(`${opsConsole.url}/api/overview`, { headers: { cookie: tampered } })).status).toBe(401);
  });

  it('shows throughput, warns while Kafka is down, recovers, replays dead letters as the signed-in admin', async () => {
    await page.goto(`${opsConsole.url}/`);
    await page.waitForURL(/\/login$/);
    await page.fill('#token', 'test-admin-token');
    await page.click('#login button');
    await page.waitForSelector('#slots tbody tr');
    expect(await page.textContent('#actor')).toBe('admin-token');
    expect(await page.textContent('#slots')).toContain('orders');

    const sku = uniqueSku('DASH');
    await setStock(stack, sku, 1000);
    const placed = await Promise.all(Array.from({ length: 30 }, () => placeOrder(stack, { items: [{ sku, quantity: 1 }] })));
    await page.waitForFunction(() => Number(document.querySelector('#throughput-value')?.textContent) > 0, undefined, { timeout: 20_000 });
    expect(await page.locator('#chart-rate canvas').count()).toBeGreaterThan(0);

    // Order lookup: its timeline across services.
    const done = await waitTerminal(stack, placed[0].orderId);
    await page.fill('#order-id', done.orderId);
    await page.click('#order-form button');
    await page.waitForSelector('#order-status');
    expect(await page.textContent('#order-status')).toBe(done.status);
    expect(await page.textContent('#order-events')).toContain('OrderCreated');
    // The customer's payment token is nowhere: not in the outbox (sealed), not on the console (hidden).
    const shown = await page.evaluate(async (id) => (await fetch(`/api/orders/${id}`)).text(), done.orderId);
    expect(shown).toContain('PaymentRequested');
    expect(shown).not.toMatch(/tok_ok|v1\./);
    const orders = pool('orders', 1);
    try {
      const { rows } = await orders.query<{ payload: string; token: string }>(
        `select o.payload::text, r.sealed_payment_token as token from outbox o join orders r on r.id::text = o.aggregate_id where o.aggregate_id = $1`,
        [done.orderId],
      );
      expect(rows.length).toBeGreaterThan(0);
      for (const r of rows) expect(`${r.payload} ${r.token}`).not.toContain('tok_ok');
    } finally {
      await orders.end();
    }

    // Kafka down: the oldest unpublished event ages and the page says why.
    await infra('kafka-stop');
    await placeOrder(stack, { items: [{ sku, quantity: 1 }] });
    await page.waitForFunction(() => (document.querySelector('#warning')?.textContent ?? '').includes('Kafka down'), undefined, { timeout: 30_000 });
    await page.waitForFunction(() => Number(document.querySelector('#max-age-value')?.textContent) > 3000, undefined, { timeout: 30_000 });
    expect(await page.isVisible('#warning')).toBe(true);
    mkdirSync(OUT, { recursive: true });
    await page.screenshot({ path: `${OUT}/dashboard-kafka-down.png`, fullPage: true });

    await infra('kafka-start');
    await page.waitForFunction(
      () => Number(document.querySelector('#max-age-value')?.textContent) === 0 && !document.querySelector('#warning')?.classList.contains('show'),
      undefined,
      { timeout: 60_000 },
    );

    // Dead letters: a poison message shows up with its error; replay needs the admin token.
    const key = `dash-poison-${Date.now()}`;
    await produce('order.events', [{ key, value: 'not json at all' }]);
    const row = page.locator('#dlq tbody tr', { hasText: key }).first();
    await row.waitFor({ timeout: 60_000 });
    expect(await row.textContent()).toContain('poison_message');
    await row.locator('button.replay').click();
    await page.waitForFunction(() => (document.querySelector('#replay-result')?.textContent ?? '').includes('Replayed to order.events'), undefined, {
      timeout: 10_000,
    });
    // The replay is audited in the database of the service whose consumer dead-lettered it.
    const audited = await Promise.all(
      SERVICE_DATABASES.map(async (db) => {
        const p = pool(db, 1);
        try {
          const { rows } = await p.query("select actor, subject from admin_audit where action = 'dlq.replay' and after->>'key' = $1", [key]);
          return rows.map((r) => ({ db, ...r }));
        } finally {
          await p.end();
        }
      }),
    );
    expect(audited.flat()).toEqual([{ db: expect.any(String), actor: 'admin-token', subject: expect.stringMatching(/^order\.events\.dlq\/\d+\/\d+$/) }]);
    await page.screenshot({ path: `${OUT}/dashboard.png`, fullPage: true });
  });

  it('says so, instead of a blank page, when the relay is down', async () => {
    await stack.relay.kill();
    await page.waitForFunction(() => (document.querySelector('#warning')?.textContent ?? '').includes('Relay down'), undefined, { timeout: 10_000 });
  });
});
