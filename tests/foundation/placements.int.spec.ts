// Group commit of placements (order-service/src/handlers/placements.ts) against the real orders
// database: orders that arrive together share one statement, yet each keeps its own answer.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { Registry } from 'prom-client';
import { uuidv7 } from 'uuidv7';
import { afterAll, describe, expect, it } from 'vitest';
import { createPool } from '@shop/lib/db/prisma';
import { SqlDatabase } from '@shop/lib/db/sql';
import { serviceDatabaseUrl } from '@shop/lib/db/databases';
import { placeOrder, type OrderStatus } from '../../order-service/src/domain/order.ts';
import type { NewOrder } from '../../order-service/src/db/orders.ts';
import { Placements, type PlacementOptions } from '../../order-service/src/handlers/placements.ts';

const url = serviceDatabaseUrl('orders');
const pool = createPool({ url, poolSize: 4 });
const db = new SqlDatabase(pool);
const admin = new pg.Pool({ connectionString: url, max: 2 });
afterAll(async () => {
  await pool.end();
  await admin.end();
});

const items = [
  { sku: 'PLACEMENTS-TEST-A', quantity: 2, unitPriceCents: 150 },
  { sku: 'PLACEMENTS-TEST-B', quantity: 1, unitPriceCents: 700 },
];
const newOrder = (key: string | null, fingerprint = 'f1'): NewOrder => {
  const placed = placeOrder({ id: uuidv7(), placedAt: new Date(), customerId: 'placements-test', currency: 'EUR', sealedPaymentToken: 'v1.sealed', items });
  return {
    state: placed.state,
    items,
    actor: 'customer:placements-test',
    idempotency: key ? { key, fingerprint, expiresAt: new Date(Date.now() + 60_000) } : null,
    deadlineAt: new Date(Date.now() + 30_000),
    events: placed.events,
  };
};

const placements = (opts: Partial<PlacementOptions> = {}) => {
  const registry = new Registry();
  return { registry, placements: new Placements(db, registry, { statements: 1, maxBatch: 64, lingerMs: 0, ...opts }) };
};

/** A metric's values by series name (a histogram has `<name>_count`, `<name>_sum`, its buckets). */
async function metric(registry: Registry, name: string): Promise<Map<string, number>> {
  const { values } = await registry.getSingleMetric(name)!.get();
  return new Map(values.map((v) => [(v as { metricName?: string }).metricName ?? name, v.value]));
}

/** What the database holds of each order: lines, history entries, outbox events. */
async function stored(ids: string[]) {
  const count = async (sql: string) => {
    const { rows } = await admin.query<{ id: string; n: number }>(sql, [ids]);
    return new Map(rows.map((r) => [r.id, r.n]));
  };
  const [orders, lines, history, events] = await Promise.all([
    count('SELECT id::text AS id, 1 AS n FROM orders WHERE id = ANY($1::uuid[])'),
    count('SELECT order_id::text AS id, count(*)::int AS n FROM order_items WHERE order_id = ANY($1::uuid[]) GROUP BY order_id'),
    count('SELECT order_id::text AS id, count(*)::int AS n FROM order_history WHERE order_id = ANY($1::uuid[]) GROUP BY order_id'),
    count("SELECT aggregate_id AS id, count(*)::int AS n FROM outbox WHERE aggregate_id = ANY($1::text[]) AND type = 'OrderCreated' GROUP BY aggregate_id"),
  ]);
  return ids.map((id) => ({ order: orders.get(id) ?? 0, lines: lines.get(id) ?? 0, history: history.get(id) ?? 0, events: events.get(id) ?? 0 }));
}
const whole = { order: 1, lines: 2, history: 1, events: 1 };
const absent = { order: 0, lines: 0, history: 0, events: 0 };

describe('placements', () => {
  it('writes 60 concurrent placements in fewer statements than orders, each one whole', async () => {
    const { registry, placements: p } = placements();
    const orders = Array.from({ length: 60 }, () => newOrder(`placements-${randomUUID()}`));
    const results = await Promise.all(orders.map((o) => p.insert(o)));
    for (const r of results) expect(r).toMatchObject({ createdAt: expect.any(Date) as Date });
    expect(await stored(orders.map((o) => o.state.id))).toEqual(orders.map(() => whole));
    const sizes = await metric(registry, 'order_placement_batch_size');
    const statements = sizes.get('order_placement_batch_size_count')!;
    expect(sizes.get('order_placement_batch_size_sum')).toBe(60);
    // One statement in flight at a time: all that arrived meanwhile went in the next one.
    expect(statements).toBeLessThan(60);
    expect(statements).toBeGreaterThanOrEqual(2);
  });

  it('answers key_taken to the second of two placements with one Idempotency-Key in one statement, and writes nothing of it', async () => {
    const { placements: p } = placements({ statements: 1, lingerMs: 5 });
    const key = `placements-${randomUUID()}`;
    const [first, second, other] = [newOrder(key), newOrder(key, 'f2'), newOrder(null)];
    const results = await Promise.all([p.insert(first), p.insert(second), p.insert(other)]);
    expect(results[0]).toMatchObject({ createdAt: expect.any(Date) as Date });
    expect(results[1]).toBe('key_taken');
    expect(results[2]).toMatchObject({ createdAt: expect.any(Date) as Date });
    expect(await stored([first.state.id, second.state.id, other.state.id])).toEqual([whole, absent, whole]);
    // A later placement with the key is refused by the committed holder too.
    expect(await p.insert(newOrder(key))).toBe('key_taken');
  });

  it('writes the others when one order of a statement is refused, and gives that one its own error', async () => {
    const { registry, placements: p } = placements({ statements: 1, lingerMs: 5 });
    const orders = Array.from({ length: 10 }, () => newOrder(`placements-${randomUUID()}`));
    const bad = orders[4];
    bad.state = { ...bad.state, status: 'SHIPPED' as OrderStatus }; // the status CHECK refuses it
    const results = await Promise.allSettled(orders.map((o) => p.insert(o)));
    results.forEach((r, n) => expect(r.status).toBe(n === 4 ? 'rejected' : 'fulfilled'));
    expect((results[4] as PromiseRejectedResult).reason).toMatchObject({ code: '23514' });
    const rows = await stored(orders.map((o) => o.state.id));
    expect(rows).toEqual(orders.map((_, n) => (n === 4 ? absent : whole)));
    expect((await metric(registry, 'order_placement_batch_size')).get('order_placement_batch_size_count')).toBe(1); // the ten went as one statement first
    expect((await metric(registry, 'order_placement_retried_alone_total')).get('order_placement_retried_alone_total')).toBe(10);
  });
});
