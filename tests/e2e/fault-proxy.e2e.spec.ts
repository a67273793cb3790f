// Network faults between one service and its Postgres or Kafka, through the fault proxy
// (chaos/proxy): added latency, a partition longer than the consumer's session timeout, and cut
// connections. Orders wait out each fault and then complete, stock is exact, nobody is charged twice.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@shop/lib/db/databases';
import { healFaults, injectFault, proxyRoutes, proxyRunning } from '../../chaos/proxy/control.ts';
import { proxyLayout } from '../../chaos/proxy/routes.ts';
import { kafka } from '../support/kafka.ts';
import { TEST_LOGS, waitFor } from '../support/processes.ts';
import { getOrder, netCharged, placeOrder, product, setStock, startStack, uniqueSku, waitTerminal, type Stack } from '../support/stack.ts';

let proxy: ChildProcess;
let stack: Stack;
beforeAll(async () => {
  mkdirSync(TEST_LOGS, { recursive: true });
  const log = createWriteStream(join(TEST_LOGS, 'fault-proxy.log'), { flags: 'a' });
  proxy = spawn(process.execPath, [join(REPO_ROOT, 'chaos/proxy/main.ts')], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  proxy.stdout!.pipe(log);
  proxy.stderr!.pipe(log);
  await waitFor(proxyRunning, { timeoutMs: 15_000, what: 'fault proxy ready', abortIf: () => proxy.exitCode !== null });
  // Deadlines far beyond the faults: every order here must complete, none may time out.
  stack = await startStack({
    behindProxy: true,
    env: { ORDER_DEADLINE_MS: '90000', ORDER_RESERVATION_DEADLINE_MS: '60000', ORDER_PAYMENT_DEADLINE_MS: '60000' },
  });
}, 120_000);
afterAll(() => {
  proxy?.kill('SIGKILL');
});

async function groupMembers(groupId: string): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    return groups[0].members.map((m) => m.memberId);
  } finally {
    await admin.disconnect();
  }
}

const route = async (name: string) => (await proxyRoutes()).find((r) => r.name === name)!;
const placeMany = async (sku: string, n: number) =>
  Promise.all(Array.from({ length: n }, () => placeOrder(stack, { items: [{ sku, quantity: 1 }] }).then((o) => o.orderId)));

/**
 * Places an order as a careful client does: a 503 (its connection was cut under the request) is
 * retried after Retry-After with the same Idempotency-Key; anything but 201 or 503 fails.
 */
async function placeRetrying(sku: string): Promise<string> {
  const key = randomUUID();
  const body = JSON.stringify({ customerId: 'customer-1', currency: 'EUR', paymentToken: 'tok_ok', items: [{ sku, quantity: 1 }] });
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(`${stack.url('order-service')}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body,
    });
    if (res.status === 201) return ((await res.json()) as { orderId: string }).orderId;
    expect({ status: res.status, attempt: Math.min(attempt, 10) }).toEqual({ status: 503, attempt });
    await new Promise((r) => setTimeout(r, Number(res.headers.get('retry-after') ?? 1) * 1000));
  }
}

describe('network faults through the fault proxy', { timeout: 180_000 }, () => {
  it("carries every connection of every process, Kafka's after the metadata too", async () => {
    const sku = uniqueSku('NET');
    await setStock(stack, sku, 5);
    const { orderId } = await placeOrder(stack, { items: [{ sku, quantity: 1 }] });
    expect((await waitTerminal(stack, orderId)).status).toBe('COMPLETED');
    for (const r of await proxyRoutes()) {
      // The relay and the four services each hold connections through their own two routes.
      expect(r.accepted, r.name).toBeGreaterThan(0);
      expect(r.openBytes.toClient, r.name).toBeGreaterThan(0);
    }
  });

  it('adds latency to each direction of one route, and heals', async () => {
    const { listen } = await route('payment-service/postgres');
    const client = new pg.Client({ connectionString: `postgresql://postgres@127.0.0.1:${listen}/payments` });
    await client.connect();
    const roundTrip = async () => {
      const t = performance.now();
      await client.query('select 1');
      return performance.now() - t;
    };
    try {
      expect(await injectFault({ kind: 'latency', process: 'payment-service', target: 'postgres', ms: 150 })).toEqual(['payment-service/postgres']);
      expect(await roundTrip()).toBeGreaterThanOrEqual(300); // 150 ms there and 150 ms back
      const sku = uniqueSku('LAT');
      await setStock(stack, sku, 5);
      const { orderId } = await placeOrder(stack, { items: [{ sku, quantity: 1 }] });
      expect((await waitTerminal(stack, orderId, 60_000)).status).toBe('COMPLETED');
      await healFaults({ process: 'payment-service' });
      expect(await roundTrip()).toBeLessThan(150);
    } finally {
      await client.end();
    }
  });

  it('holds the payments while payment-service is cut off from Postgres, and completes them once the partition heals', async () => {
    const sku = uniqueSku('PART');
    await setStock(stack, sku, 20);
    await injectFault({ kind: 'partition', process: 'payment-service', target: 'postgres', seconds: 8 });
    const cutAt = Date.now();
    const placed = await placeMany(sku, 6);
    await new Promise((r) => setTimeout(r, 4_000));
    // Stock is reserved (inventory is unaffected) but no payment can be recorded yet.
    for (const id of placed) expect((await getOrder(stack, id)).status).not.toBe('COMPLETED');
    for (const id of placed) expect((await waitTerminal(stack, id, 60_000)).status).toBe('COMPLETED');
    expect(Date.now() - cutAt).toBeGreaterThanOrEqual(8_000);
    for (const id of placed) expect(await netCharged(stack, id)).toBe(1000);
    expect(await product(stack, sku)).toMatchObject({ onHand: 14, reserved: 0 });
  });

  it("survives inventory-service's Kafka link stalling past the group session timeout (a rebalance on return)", async () => {
    const sku = uniqueSku('KPART');
    await setStock(stack, sku, 20);
    const before = await groupMembers('inventory-service');
    expect(before).toHaveLength(1);
    await injectFault({ kind: 'partition', process: 'inventory-service', target: 'kafka', seconds: 13 });
    const placed = await placeMany(sku, 6);
    for (const id of placed) expect((await waitTerminal(stack, id, 90_000)).status).toBe('COMPLETED');
    // The broker expired the silent member and it joined again under a new member id.
    const after = await groupMembers('inventory-service');
    expect(after).toHaveLength(1);
    expect(before).not.toContain(after[0]);
    for (const id of placed) expect(await netCharged(stack, id)).toBe(1000);
    expect(await product(stack, sku)).toMatchObject({ onHand: 14, reserved: 0 });
  });

  it('recovers when every Postgres connection is cut (RST) under load', async () => {
    const sku = uniqueSku('RST');
    await setStock(stack, sku, 40);
    const first = Promise.all(Array.from({ length: 10 }, () => placeRetrying(sku)));
    await new Promise((r) => setTimeout(r, 100));
    const cut = await injectFault({ kind: 'reset', target: 'postgres' });
    expect(cut).toHaveLength(proxyLayout().routes.filter((r) => r.target === 'postgres').length);
    const placed = [...(await first), ...(await Promise.all(Array.from({ length: 10 }, () => placeRetrying(sku))))];
    expect(new Set(placed).size).toBe(20);
    for (const id of placed) expect((await waitTerminal(stack, id, 60_000)).status).toBe('COMPLETED');
    for (const id of placed) expect(await netCharged(stack, id)).toBe(1000);
    expect(await product(stack, sku)).toMatchObject({ onHand: 20, reserved: 0 });
  });
});
