// What a newcomer sees on the first `npm run up`: a broker that never ran (fresh KRaft storage,
// no topics, no consumer groups), new databases, then one order through the README's flow and a
// stop. Runs beside the suite's own infrastructure: its own state folder, broker ports, database
// names, replication slots and HTTP ports, so nothing it does touches the other tests.
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@shop/lib/db/databases';
import { waitFor } from '@shop/testkit/wait';

const exec = promisify(execFile);
const STATE = join(REPO_ROOT, 'test-output', 'cold-start');
const PORTS = { order: 3101, inventory: 3102, payment: 3103, notification: 3104, relay: 3105, console: 3106 };
const env: NodeJS.ProcessEnv = {
  ...process.env,
  SHOP_STATE_DIR: STATE,
  KAFKA_PORT: '19092',
  KAFKA_CONTROLLER_PORT: '19093',
  KAFKA_BROKERS: '127.0.0.1:19092',
  ORDERS_DB: 'cold_orders',
  INVENTORY_DB: 'cold_inventory',
  PAYMENTS_DB: 'cold_payments',
  NOTIFICATIONS_DB: 'cold_notifications',
  RELAY_SLOT_PREFIX: 'cold_relay',
  RELAY_PUBLICATION: 'cold_relay_pub',
  ORDER_PORT: String(PORTS.order),
  INVENTORY_PORT: String(PORTS.inventory),
  PAYMENT_PORT: String(PORTS.payment),
  NOTIFICATION_PORT: String(PORTS.notification),
  RELAY_PORT: String(PORTS.relay),
  OPS_CONSOLE_PORT: String(PORTS.console),
  RELAY_URL: `http://127.0.0.1:${PORTS.relay}`,
  ORDER_SERVICE_URL: `http://127.0.0.1:${PORTS.order}`,
  INVENTORY_SERVICE_URL: `http://127.0.0.1:${PORTS.inventory}`,
  PAYMENT_SERVICE_URL: `http://127.0.0.1:${PORTS.payment}`,
  NOTIFICATION_SERVICE_URL: `http://127.0.0.1:${PORTS.notification}`,
  ADMIN_TOKEN: 'cold-admin-token',
  LOG_LEVEL: 'info',
};
const run = (file: string, ...args: string[]) => exec(file, args, { cwd: REPO_ROOT, env, timeout: 240_000 });
const stack = (cmd: string) => run(process.execPath, 'scripts/stack.mjs', cmd);
const infra = (cmd: string) => run('bash', 'scripts/infra.sh', cmd);

describe('a cold start', () => {
  afterAll(async () => {
    await stack('down').catch(() => undefined);
    await infra('reset').catch(() => undefined);
  });

  it('logs no warning and no stack trace from start through one order to stop, on Node >= 24', async () => {
    rmSync(STATE, { recursive: true, force: true });
    // The broker's jars are the suite's own (Maven fetched them already); everything else is new.
    mkdirSync(join(STATE, 'kafka'), { recursive: true });
    symlinkSync(join(REPO_ROOT, '.state', 'kafka', 'libs'), join(STATE, 'kafka', 'libs'));
    await infra('up');
    // `npm start` prints a customer's token (README, "Try it"): the order below is placed with it.
    const { stdout } = await stack('up');
    const token = /export TOKEN=(\S+)/.exec(stdout)?.[1];
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const customer = { authorization: `Bearer ${token}` };

    for (const port of Object.values(PORTS)) {
      const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { node: string };
      expect(Number(/^v(\d+)\./.exec(health.node)?.[1])).toBeGreaterThanOrEqual(24);
    }
    const admin = { authorization: 'Bearer cold-admin-token', 'content-type': 'application/json' };
    const put = await fetch(`http://127.0.0.1:${PORTS.inventory}/products/COLD-1`, {
      method: 'PUT',
      headers: admin,
      body: JSON.stringify({ name: 'Widget', onHand: 10, priceCents: 500, currency: 'EUR' }),
    });
    expect(put.status).toBeLessThan(300);
    const placed = await fetch(`http://127.0.0.1:${PORTS.order}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': `cold-${Date.now()}`, ...customer },
      body: JSON.stringify({ currency: 'EUR', paymentToken: 'tok_ok', items: [{ sku: 'COLD-1', quantity: 2, unitPriceCents: 500 }] }),
    });
    expect(placed.status).toBe(201);
    const { orderId, customerId } = (await placed.json()) as { orderId: string; customerId: string };
    expect(customerId).toBe('alice');
    expect((await fetch(`http://127.0.0.1:${PORTS.order}/orders/${orderId}`)).status).toBe(401);
    await waitFor(
      async () => {
        const order = (await (await fetch(`http://127.0.0.1:${PORTS.order}/orders/${orderId}`, { headers: customer })).json()) as { status: string };
        return order.status === 'COMPLETED';
      },
      { what: 'the first order to complete', timeoutMs: 60_000 },
    );
    await stack('down');

    const logs = join(STATE, 'logs');
    const files = readdirSync(logs).filter((f) => /^(order|inventory|payment|notification)-service\.log$|^outbox-relay\.log$|^ops-console\.log$/.test(f));
    expect(files).toHaveLength(6);
    const loud: string[] = [];
    for (const file of files) {
      for (const line of readFileSync(join(logs, file), 'utf8').split('\n').filter(Boolean)) {
        let level: number;
        try {
          level = (JSON.parse(line) as { level: number }).level;
        } catch {
          loud.push(`${file}: not JSON: ${line}`); // Node's own warnings, a crash's stack
          continue;
        }
        if (level >= 40 || /\bstack\b|\n\s+at /.test(line)) loud.push(`${file}: ${line}`);
      }
    }
    writeFileSync(join(STATE, 'loud-lines.txt'), loud.join('\n'));
    expect(loud).toEqual([]);
  });
});
