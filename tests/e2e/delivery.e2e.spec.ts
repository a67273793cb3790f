// At-least-once delivery: duplicates, reordering, poison messages and dropped DB connections.
import { randomUUID } from 'node:crypto';
import { uuidv7 } from 'uuidv7';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVICE_DATABASES } from '@shop/lib/db/databases';
import { pool } from '../support/infra.ts';
import { Collector, produce, waitDrained } from '../support/kafka.ts';
import { waitFor } from '../support/processes.ts';
import {
  getOrder,
  netCharged,
  notifications,
  payments,
  placeOrder,
  product,
  setStock,
  startStack,
  uniqueSku,
  waitTerminal,
  type Stack,
} from '../support/stack.ts';

const GROUPS = {
  'order-service': ['inventory.events', 'payment.events'],
  'inventory-service': ['order.events'],
  'payment-service': ['order.events'],
  'notification-service': ['order.events'],
};
const pools = Object.fromEntries(SERVICE_DATABASES.map((db) => [db, pool(db, 2)]));
let stack: Stack;
beforeAll(async () => {
  // Batched consumers (CONSUMER_BATCH_MAX): every delivery guarantee must hold with them too.
  stack = await startStack({ env: { CONSUMER_BATCH_MAX: '200' } });
});
afterAll(() => Promise.all(Object.values(pools).map((p) => p.end())));

const byHand = (type: string, orderId: string, payload: Record<string, unknown>) =>
  JSON.stringify({
    id: uuidv7(),
    type,
    aggregateType: 'order',
    aggregateId: orderId,
    occurredAt: new Date().toISOString(),
    correlationId: orderId,
    causationId: null,
    version: 1,
    payload: { orderId, ...payload },
  });
/** An OrderCreated as order-service writes it: it is also inventory's reservation request. */
const created = (orderId: string, items: { sku: string; quantity: unknown }[]) => byHand('OrderCreated', orderId, { customerId: 'c', currency: 'EUR', items });

describe('delivery semantics', { timeout: 120_000 }, () => {
  it('applies every event once when every message of an order is delivered twice', async () => {
    const sku = uniqueSku();
    await setStock(stack, sku, 10);
    const { orderId } = await placeOrder(stack, { items: [{ sku, quantity: 3 }] });
    await waitTerminal(stack, orderId);
    await waitFor(async () => (await notifications(stack, orderId)).notifications.length === 1, { what: 'notification' });
    await waitDrained(GROUPS);

    // Re-publish, by hand, every event this order produced in every service, as the relay would.
    const events = [];
    for (const db of SERVICE_DATABASES) {
      const rows = await pools[db].query(
        'select id::text, aggregate_type, aggregate_id, type, payload, headers, created_at from outbox where aggregate_id = $1',
        [orderId],
      );
      events.push(...rows.rows);
    }
    expect(events.map((e) => e.type).sort()).toEqual(
      ['NotificationSent', 'OrderCompleted', 'OrderCreated', 'PaymentCaptured', 'PaymentRequested', 'StockCommitted', 'StockReserved'].sort(),
    );
    for (const e of events) {
      const value = JSON.stringify({
        id: e.id,
        type: e.type,
        aggregateType: e.aggregate_type,
        aggregateId: e.aggregate_id,
        occurredAt: e.created_at,
        correlationId: orderId,
        causationId: null,
        version: 1,
        payload: e.payload,
      });
      await produce(`${e.aggregate_type}.events`, [{ key: orderId, value, headers: { 'event-id': e.id } }]);
    }
    await waitDrained(GROUPS);

    const order = await getOrder(stack, orderId);
    expect(order.history.map((h) => h.status)).toEqual(['CREATED', 'PAYMENT_PENDING', 'COMPLETED']);
    expect(await product(stack, sku)).toMatchObject({ onHand: 7, reserved: 0 });
    expect((await payments(stack, orderId)).charges).toHaveLength(1);
    expect(await netCharged(stack, orderId)).toBe(order.totalCents);
    expect((await notifications(stack, orderId)).notifications).toHaveLength(1);
  });

  it('keeps stock unchanged when a release arrives before its reservation', async () => {
    const sku = uniqueSku();
    await setStock(stack, sku, 5);
    const orderId = randomUUID();
    await produce('order.events', [
      { key: orderId, value: byHand('StockReleaseRequested', orderId, {}) },
      { key: orderId, value: created(orderId, [{ sku, quantity: 2 }]) },
    ]);
    await waitDrained({ 'inventory-service': ['order.events'] });
    expect(await product(stack, sku)).toMatchObject({ onHand: 5, reserved: 0 });
    const reservation = await pools.inventory.query('select status from reservations where order_id = $1', [orderId]);
    expect(reservation.rows).toEqual([{ status: 'RELEASED' }]);
    const rejected = await pools.inventory.query("select payload->>'reason' as reason from outbox where aggregate_id = $1 and type = 'StockRejected'", [
      orderId,
    ]);
    expect(rejected.rows).toEqual([{ reason: 'ALREADY_RELEASED' }]);
  });

  it('dead-letters a poison message with its error headers and keeps processing the partition', async () => {
    const key = randomUUID();
    const dlq = await Collector.start(['order.events.dlq']);
    await produce('order.events', [
      { key, value: '{"this is": not json' },
      { key, value: byHand('StockReleaseRequested', key, {}) },
    ]);
    await waitFor(async () => (await pools.inventory.query('select 1 from reservations where order_id = $1', [key])).rowCount === 1, {
      what: 'later message processed',
    });
    await waitFor(() => dlq.messages.filter((m) => m.key === key).length >= 3, { what: 'poison on the DLQ (one per consuming group)' });
    const dead = dlq.messages.filter((m) => m.key === key);
    expect(new Set(dead.map((m) => m.headers['dlq-consumer-group']))).toEqual(new Set(['inventory-service', 'payment-service', 'notification-service']));
    expect(dead[0].headers).toMatchObject({ 'dlq-original-topic': 'order.events', 'dlq-error-code': 'poison_message', 'dlq-attempts': '1' });
    expect(Number(dead[0].headers['dlq-original-offset'])).toBeGreaterThanOrEqual(0);
    expect(dead[0].headers['dlq-original-partition']).toMatch(/^\d+$/);
  });

  it('checks every consumed payload against the catalog: a schema error or a newer version is dead-lettered, an added field is accepted', async () => {
    const [badPayload, newer, extended] = [randomUUID(), randomUUID(), randomUUID()];
    const dlq = await Collector.start(['order.events.dlq']);
    const sku = uniqueSku();
    await produce('order.events', [
      { key: badPayload, value: created(badPayload, [{ sku, quantity: '2' }]) },
      { key: newer, value: JSON.stringify({ ...JSON.parse(byHand('StockReleaseRequested', newer, {})), version: 2 }) },
      { key: extended, value: byHand('StockReleaseRequested', extended, { requestedBy: 'a field this consumer does not know' }) },
    ]);
    await waitFor(async () => (await pools.inventory.query('select 1 from reservations where order_id = $1', [extended])).rowCount === 1, {
      what: 'the event with an added field handled',
    });
    const fromInventory = (key: string) => dlq.messages.find((m) => m.key === key && m.headers['dlq-consumer-group'] === 'inventory-service');
    await waitFor(() => fromInventory(badPayload) && fromInventory(newer), { what: 'both refused events on the DLQ' });
    expect(fromInventory(badPayload)!.headers).toMatchObject({ 'dlq-error-code': 'poison_message', 'dlq-attempts': '1' });
    expect(fromInventory(badPayload)!.headers['dlq-error']).toMatch(/^invalid OrderCreated payload: \/items\/0\/quantity /);
    expect(fromInventory(newer)!.headers['dlq-error']).toBe('StockReleaseRequested version 2 is newer than this consumer understands (1)');
    expect(dlq.messages.filter((m) => m.key === extended)).toEqual([]);
    expect((await pools.inventory.query('select 1 from reservations where order_id = any($1::uuid[])', [[badPayload, newer]])).rowCount).toBe(0);
  });

  it('applies a fetched batch in one transaction, and one poison message in a batch of 100 sends exactly that one to the DLQ', async () => {
    const keys: string[] = Array.from({ length: 100 }, () => randomUUID());
    const poison = keys[50];
    const dlq = await Collector.start(['order.events.dlq']);
    // One partition, produced at once: the consumers fetch them together.
    await produce(
      'order.events',
      keys.map((key) => ({
        key,
        partition: 0,
        value: key === poison ? byHand('StockReleaseRequested', key, { orderId: 'not-a-uuid' }) : byHand('StockReleaseRequested', key, {}),
      })),
    );
    await waitDrained({ 'inventory-service': ['order.events'] });
    const released = await pools.inventory.query("select order_id::text from reservations where status = 'RELEASED' and order_id = any($1::uuid[])", [keys]);
    expect(released.rowCount).toBe(99);
    expect(released.rows.map((r: { order_id: string }) => r.order_id)).not.toContain(poison);
    await waitFor(() => dlq.messages.filter((m) => m.key === poison).length >= 3, { what: 'the poison on the DLQ, once per group' });
    expect(dlq.messages.filter((m) => keys.includes(m.key) && m.key !== poison)).toEqual([]);
    expect(dlq.messages.filter((m) => m.key === poison && m.headers['dlq-consumer-group'] === 'inventory-service')).toHaveLength(1);
    // The inventory consumer applied more than one message per transaction on average.
    const metrics = await (await fetch(`${stack.url('inventory-service')}/metrics`)).text();
    const sum = Number(/consumer_batch_messages_sum\{[^}]*\} (\d+)/.exec(metrics)?.[1]);
    const count = Number(/consumer_batch_messages_count\{[^}]*\} (\d+)/.exec(metrics)?.[1]);
    expect(sum / count).toBeGreaterThan(1);
  });

  it('keeps stock exact when inventory-service is SIGKILLed in the middle of a 200-message batch', async () => {
    const sku = uniqueSku('BATCH');
    await setStock(stack, sku, 1_000);
    const orders: string[] = Array.from({ length: 200 }, () => randomUUID());
    await produce(
      'order.events',
      orders.map((orderId) => ({ key: orderId, partition: 1, value: created(orderId, [{ sku, quantity: 2 }]) })),
    );
    // Kill it while it works through them: some batches committed, one maybe half-done (rolled back).
    await waitFor(
      async () => (await pools.inventory.query('select count(*)::int as n from reservations where order_id = any($1::uuid[])', [orders])).rows[0].n > 0,
      {
        what: 'the first reservations',
        intervalMs: 5,
      },
    );
    for (const p of stack.instances['inventory-service']) await p.kill();
    await stack.start('inventory-service');
    await waitDrained({ 'inventory-service': ['order.events'] });
    const reservations = await pools.inventory.query('select status, count(*)::int as n from reservations where order_id = any($1::uuid[]) group by 1', [
      orders,
    ]);
    expect(reservations.rows).toEqual([{ status: 'RESERVED', n: 200 }]);
    expect(await product(stack, sku)).toMatchObject({ onHand: 1_000, reserved: 400 });
    // Each order's reply exactly once in the outbox, however often its request was delivered.
    const replies = await pools.inventory.query(
      "select count(*)::int as n, count(distinct aggregate_id)::int as orders from outbox where type = 'StockReserved' and aggregate_id = any($1::text[])",
      [orders],
    );
    expect(replies.rows[0]).toEqual({ n: 200, orders: 200 });
  });

  it('retries, never dead-letters, when the consumer database connections are cut mid-handling', async () => {
    const sku = uniqueSku();
    await setStock(stack, sku, 100);
    const dlq = await Collector.start(['order.events.dlq']);
    const placing = Promise.all(Array.from({ length: 20 }, () => placeOrder(stack, { items: [{ sku, quantity: 1 }] })));
    let killed = 0;
    const deadline = Date.now() + 2_000;
    while (Date.now() < deadline) {
      const r = await pools.inventory.query(
        "select count(pg_terminate_backend(pid))::int as n from pg_stat_activity where datname = 'inventory' and pid <> pg_backend_pid() and backend_type = 'client backend' and usename = 'postgres'",
      );
      killed += r.rows[0]?.n ?? 0;
      await new Promise((res) => setTimeout(res, 100));
    }
    const placed = await placing;
    const finals = await Promise.all(placed.map((p) => waitTerminal(stack, p.orderId, 60_000)));
    expect(killed).toBeGreaterThan(0);
    expect(finals.map((o) => o.status)).toEqual(Array(20).fill('COMPLETED'));
    await waitFor(async () => (await product(stack, sku)).onHand === 80, { what: 'stock committed' });
    expect(await product(stack, sku)).toMatchObject({ onHand: 80, reserved: 0 });
    const ids = new Set(placed.map((p) => p.orderId));
    expect(dlq.messages.filter((m) => ids.has(m.key))).toEqual([]);
  });

  it('cancels on the deadline while payment-service is down, and no charge stands when it returns', async () => {
    const sku = uniqueSku();
    await setStock(stack, sku, 3);
    for (const p of stack.instances['payment-service']) await p.kill();
    const { orderId } = await placeOrder(stack, { items: [{ sku, quantity: 2 }] });
    const order = await waitTerminal(stack, orderId, 40_000);
    expect(order).toMatchObject({ status: 'CANCELLED', reason: 'TIMEOUT' });
    await waitFor(async () => (await product(stack, sku)).reserved === 0, { what: 'stock released' });
    expect(await product(stack, sku)).toMatchObject({ onHand: 3, reserved: 0 });

    await stack.start('payment-service');
    await waitDrained({ 'payment-service': ['order.events'] }, 90_000);
    expect(await netCharged(stack, orderId)).toBe(0);
  });
});
