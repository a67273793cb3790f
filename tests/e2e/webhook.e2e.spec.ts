// The notification webhook: every delivery signed (Standard Webhooks: id, timestamp, HMAC), a
// redirect never followed, retries capped and the rest dead-lettered.
import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pool } from '../support/infra.ts';
import { startProcess, TEST_LOGS, waitFor } from '../support/processes.ts';
import { placeOrder, setStock, startStack, uniqueSku, waitTerminal, type Stack } from '../support/stack.ts';

const SECRET = 'webhook-test-secret-0123456789abcdef0123';
interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}
const received: Received[] = [];
// /ok answers 204, /moved redirects to /stolen, /down answers 503.
const receiver = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString()));
  req.on('end', () => {
    received.push({ path: req.url ?? '', headers: req.headers, body });
    if (req.url === '/moved') res.writeHead(307, { location: '/stolen' }).end();
    else res.writeHead(req.url === '/down' ? 503 : 204).end();
  });
});
const notifications = pool('notifications', 1);
let stack: Stack;
let base: string;
beforeAll(async () => {
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  stack = await startStack({ env: { NOTIFY_WEBHOOK_URL: `${base}/ok`, NOTIFY_WEBHOOK_SECRET: SECRET, NOTIFY_WEBHOOK_ATTEMPTS: '3' } });
});
afterAll(async () => {
  receiver.close();
  await notifications.end();
});

/** What a receiver does to trust a delivery: recompute the HMAC over id.timestamp.body. */
function verify(r: Received): boolean {
  const [version, signature] = String(r.headers['webhook-signature']).split(',');
  const expected = createHmac('sha256', SECRET)
    .update(`${String(r.headers['webhook-id'])}.${String(r.headers['webhook-timestamp'])}.${r.body}`)
    .digest('base64');
  return version === 'v1' && signature === expected;
}

describe('notification webhook', { timeout: 120_000 }, () => {
  it('signs every delivery so the receiver can verify sender, content and freshness', async () => {
    const sku = uniqueSku('HOOK');
    await setStock(stack, sku, 5);
    const { orderId } = await placeOrder(stack, { items: [{ sku, quantity: 1 }] });
    await waitTerminal(stack, orderId);
    const delivery = await waitFor(async () => received.find((r) => r.body.includes(orderId)), { what: 'the delivery', timeoutMs: 20_000 });
    expect(verify(delivery)).toBe(true);
    expect(Math.abs(Number(delivery.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
    expect(verify({ ...delivery, body: delivery.body.replace('COMPLETED', 'CANCELLED') })).toBe(false); // tampered
  });

  it('follows no redirect, retries a failing receiver a bounded number of times, then dead-letters', async () => {
    for (const path of ['/moved', '/down']) {
      // The group's only member delivers to `path`: the stack's notification-service leaves first.
      await stack.instances['notification-service'][0].stop();
      const service = await startProcess('notification-service', {
        env: { NOTIFY_WEBHOOK_URL: `${base}${path}`, NOTIFY_WEBHOOK_SECRET: SECRET, NOTIFY_WEBHOOK_ATTEMPTS: '3' },
      });
      await waitFor(async () => (await fetch(`${service.url}/readyz`)).status === 200, { what: 'notification-service ready', timeoutMs: 30_000 });
      const sku = uniqueSku('HOOK');
      await setStock(stack, sku, 5);
      const { orderId } = await placeOrder(stack, { items: [{ sku, quantity: 1 }] });
      const row = await waitFor(
        async () => {
          const { rows } = await notifications.query<{ attempts: number; last_error: string; dead_lettered_at: Date | null }>(
            'select attempts, last_error, dead_lettered_at from notifications where order_id = $1',
            [orderId],
          );
          return rows[0]?.dead_lettered_at ? rows[0] : undefined;
        },
        { what: `${path}: the delivery to be given up`, timeoutMs: 30_000 },
      );
      expect(row.attempts).toBe(3);
      expect(received.filter((r) => r.body.includes(orderId) && r.path === path)).toHaveLength(3);
      expect(received.filter((r) => r.path === '/stolen')).toEqual([]);
      if (path === '/moved') expect(row.last_error).toMatch(/redirects are not followed/);
      const metrics = await (await fetch(`${service.url}/metrics`)).text();
      expect(Number(/^webhook_dead_letters_total(?:\{[^}]*\})? (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
      await service.stop();
      stack.instances['notification-service'][0] = await startProcess('notification-service', {
        env: { NOTIFY_WEBHOOK_URL: `${base}/ok`, NOTIFY_WEBHOOK_SECRET: SECRET },
      });
      await waitTerminal(stack, orderId);
    }
  });

  it('refuses a webhook without a signing secret, and plain http in production', async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ NOTIFY_WEBHOOK_URL: `${base}/ok` }, /NOTIFY_WEBHOOK_SECRET must be set/],
      [
        {
          NOTIFY_WEBHOOK_URL: `${base}/ok`,
          NOTIFY_WEBHOOK_SECRET: SECRET,
          NODE_ENV: 'production',
          ADMIN_TOKEN: randomUUID(),
          AUTH_MODE: 'jwt',
          AUTH_JWT_SECRET: SECRET,
        },
        /NOTIFY_WEBHOOK_URL must be https/,
      ],
    ];
    for (const [env, why] of cases) {
      const refused = await startProcess('notification-service', { env, waitReady: false });
      expect(await refused.exited).not.toBe(0);
      await new Promise((r) => setTimeout(r, 300)); // the log stream's last lines
      expect(readFileSync(join(TEST_LOGS, `notification-service-${refused.port}.log`), 'utf8')).toMatch(why);
    }
  });
});
