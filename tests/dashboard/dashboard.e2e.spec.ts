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
  it('shows throughput, warns while Kafka is down, recovers, replays dead letters with the token only', async () => {
    await page.goto(`${opsConsole.url}/`);
    await page.waitForSelector('#slots tbody tr');
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
    await page.waitForFunction(() => (document.querySelector('#replay-result')?.textContent ?? '').includes('Refused (401)'), undefined, { timeout: 10_000 });
    await page.fill('#admin-token', 'test-admin-token');
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
