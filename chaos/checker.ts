// Jepsen-style invariant checker, run after the system drained: reads every database, the Kafka
// topics and the load generator's record, and lists every violation it finds.
import { toolKafka } from '@shop/testkit/kafka';
import pg from 'pg';
import { SERVICE_DATABASES, serviceDatabaseUrl, type ServiceDatabase } from '@shop/lib/db/databases';
import type { LoadRecord } from './load.ts';

export interface CheckInput {
  records: LoadRecord[];
  /** onHand of each SKU when the load started. */
  startStock: Record<string, number>;
  /** Keys of the poison messages injected (anything else on a DLQ is a violation). */
  poisonKeys: string[];
  since: Date;
}

export interface CheckReport {
  violations: string[];
  counts: Record<string, number>;
}

/** Which consumer (database) must have applied each event type, exactly once. */
const APPLIED_BY: Record<string, ServiceDatabase[]> = {
  OrderCreated: ['inventory'],
  StockReleaseRequested: ['inventory'],
  OrderCompleted: ['inventory', 'notifications'],
  OrderCancelled: ['notifications'],
  PaymentRequested: ['payments'],
  PaymentCancellationRequested: ['payments'],
  StockReserved: ['orders'],
  StockRejected: ['orders'],
  PaymentCaptured: ['orders'],
  PaymentDeclined: ['orders'],
};

export async function check(input: CheckInput): Promise<CheckReport> {
  const violations: string[] = [];
  const counts: Record<string, number> = {};
  const dbs = Object.fromEntries(SERVICE_DATABASES.map((db) => [db, new pg.Pool({ connectionString: serviceDatabaseUrl(db), max: 2 })])) as Record<
    ServiceDatabase,
    pg.Pool
  >;
  try {
    const acknowledged = input.records.filter((r) => r.status === 201 && r.orderId);
    const orderIds = acknowledged.map((r) => r.orderId!);
    counts.acknowledged = acknowledged.length;
    counts.notAcknowledged = input.records.length - acknowledged.length;

    // 1. every acknowledged order exists and is terminal; no two orders share a key
    const orders = await dbs.orders.query<{ id: string; status: string; total_cents: string; idempotency_key: string }>(
      'select id::text, status, total_cents, idempotency_key from orders where id = any($1::uuid[])',
      [orderIds],
    );
    const byId = new Map(orders.rows.map((o) => [o.id, o]));
    for (const r of acknowledged) {
      const o = byId.get(r.orderId!);
      if (!o) violations.push(`order ${r.orderId} was acknowledged (201) but does not exist`);
      else if (o.status !== 'COMPLETED' && o.status !== 'CANCELLED') violations.push(`order ${r.orderId} is not terminal (${o.status})`);
    }
    const keys = input.records.map((r) => r.key);
    const shared = await dbs.orders.query<{ idempotency_key: string; n: number }>(
      'select idempotency_key, count(*)::int as n from orders where idempotency_key = any($1) group by 1 having count(*) > 1',
      [keys],
    );
    for (const row of shared.rows) violations.push(`${row.n} orders share idempotency key ${row.idempotency_key}`);
    const completed = orders.rows.filter((o) => o.status === 'COMPLETED');
    counts.completed = completed.length;
    counts.cancelled = orders.rows.filter((o) => o.status === 'CANCELLED').length;

    // 2. stock: what left the shelf is what completed orders bought; nothing stays reserved
    const items = await dbs.orders.query<{ sku: string; sold: string }>(
      `select i.sku, sum(i.quantity)::bigint as sold from order_items i join orders o on o.id = i.order_id
        where o.status = 'COMPLETED' and i.sku = any($1) group by i.sku`,
      [Object.keys(input.startStock)],
    );
    const sold = new Map(items.rows.map((r) => [r.sku, Number(r.sold)]));
    const stock = await dbs.inventory.query<{ sku: string; on_hand: number; reserved: number }>(
      'select sku, on_hand, reserved from products where sku = any($1)',
      [Object.keys(input.startStock)],
    );
    for (const p of stock.rows) {
      const expected = input.startStock[p.sku] - (sold.get(p.sku) ?? 0);
      if (p.on_hand !== expected)
        violations.push(`${p.sku}: onHand ${p.on_hand}, expected ${expected} (start ${input.startStock[p.sku]} − sold ${sold.get(p.sku) ?? 0})`);
      if (p.reserved !== 0) violations.push(`${p.sku}: ${p.reserved} units still reserved`);
      if (p.on_hand < 0 || p.reserved < 0) violations.push(`${p.sku}: negative stock`);
    }

    // 3. payments: one standing capture per completed order, no net charge for a cancelled one
    const pay = await dbs.payments.query<{ order_id: string; captured: string; refunded: string; charges: number }>(
      `select p.order_id::text, sum(case when p.status = 'CAPTURED' then p.amount_cents else 0 end)::bigint as captured,
              coalesce(sum(r.amount_cents), 0)::bigint as refunded, count(*)::int as charges
         from payments p left join refunds r on r.payment_id = p.id where p.order_id = any($1::uuid[]) group by p.order_id`,
      [orderIds],
    );
    const payBy = new Map(pay.rows.map((p) => [p.order_id, p]));
    for (const o of orders.rows) {
      const p = payBy.get(o.id);
      const net = p ? Number(p.captured) - Number(p.refunded) : 0;
      if ((p?.charges ?? 0) > 1) violations.push(`order ${o.id}: ${p!.charges} payment rows`);
      if (o.status === 'COMPLETED' && net !== Number(o.total_cents)) violations.push(`order ${o.id}: COMPLETED but net charge ${net} ≠ total ${o.total_cents}`);
      if (o.status === 'CANCELLED' && net !== 0) violations.push(`order ${o.id}: CANCELLED but net charge ${net}`);
    }
    counts.refunds = pay.rows.filter((p) => Number(p.refunded) > 0).length;

    // 4. exactly one notification per terminal order
    const notes = await dbs.notifications.query<{ order_id: string; n: number }>(
      'select order_id::text, count(*)::int as n from notifications where order_id = any($1::uuid[]) group by 1',
      [orderIds],
    );
    const noteBy = new Map(notes.rows.map((n) => [n.order_id, n.n]));
    for (const o of orders.rows) if ((noteBy.get(o.id) ?? 0) !== 1) violations.push(`order ${o.id}: ${noteBy.get(o.id) ?? 0} notifications`);

    // 5. every outbox event reached Kafka; 6. every Kafka event was applied once by its consumers
    const outbox = new Map<string, { type: string; db: ServiceDatabase }>();
    for (const db of SERVICE_DATABASES) {
      const rows = await dbs[db].query<{ id: string; type: string }>('select id::text, type from outbox where aggregate_id = any($1)', [orderIds]);
      for (const r of rows.rows) outbox.set(r.id, { type: r.type, db });
    }
    const onKafka = await readTopics(['order.events', 'inventory.events', 'payment.events', 'notification.events'], new Set(orderIds));
    counts.outboxEvents = outbox.size;
    counts.kafkaMessages = onKafka.messages;
    counts.kafkaDuplicates = onKafka.messages - onKafka.ids.size;
    for (const [id, e] of outbox) if (!onKafka.ids.has(id)) violations.push(`event ${id} (${e.type}) is in the ${e.db} outbox but never reached Kafka`);
    // One query per consumer database, not one per event.
    for (const db of SERVICE_DATABASES) {
      const expected = [...onKafka.ids].filter(([, type]) => (APPLIED_BY[type] ?? []).includes(db));
      const applied = await dbs[db].query<{ id: string; n: number }>(
        'select event_id::text as id, count(*)::int as n from processed_events where event_id = any($1::uuid[]) group by event_id',
        [expected.map(([id]) => id)],
      );
      const times = new Map(applied.rows.map((r) => [r.id, r.n]));
      for (const [id, type] of expected) {
        const n = times.get(id) ?? 0;
        if (n !== 1) violations.push(`event ${id} (${type}) applied ${n} times by the ${db} consumer`);
      }
    }

    // 7. the dead-letter topics hold only the poison that was injected
    const dead = await readDeadLetters(input.since);
    counts.deadLetters = dead.length;
    for (const d of dead) if (!input.poisonKeys.includes(d.key)) violations.push(`unexpected dead letter on ${d.topic} (key ${d.key}): ${d.error}`);
  } finally {
    await Promise.all(Object.values(dbs).map((p) => p.end()));
  }
  return { violations, counts };
}

const kafka = () => toolKafka('chaos-checker');

/** Reads topics from the beginning up to their current end, keeping messages keyed by the given orders. */
async function readTopics(topics: string[], keys: Set<string>): Promise<{ ids: Map<string, string>; messages: number }> {
  const ids = new Map<string, string>();
  let messages = 0;
  await scan(topics, (topic, key, value, headers) => {
    void topic;
    if (!keys.has(key)) return;
    messages++;
    const id = headers['event-id'] ?? (JSON.parse(value) as { id: string }).id;
    ids.set(id, headers['event-type'] ?? (JSON.parse(value) as { type: string }).type);
  });
  return { ids, messages };
}

async function readDeadLetters(since: Date): Promise<{ topic: string; key: string; error: string }[]> {
  const admin = kafka().admin();
  await admin.connect();
  const dlqs = (await admin.listTopics()).filter((t) => t.endsWith('.dlq'));
  await admin.disconnect();
  const dead: { topic: string; key: string; error: string }[] = [];
  await scan(dlqs, (topic, key, _value, headers) => {
    if (headers['dlq-at'] && new Date(headers['dlq-at']) >= since) dead.push({ topic, key, error: headers['dlq-error'] ?? '' });
  });
  return dead;
}

async function scan(topics: string[], onMessage: (topic: string, key: string, value: string, headers: Record<string, string>) => void): Promise<void> {
  if (topics.length === 0) return;
  const client = kafka();
  const admin = client.admin();
  await admin.connect();
  const remaining = new Map<string, number>();
  for (const t of topics)
    for (const p of await admin.fetchTopicOffsets(t)) if (Number(p.high) > Number(p.low)) remaining.set(`${t}:${p.partition}`, Number(p.high));
  await admin.disconnect();
  if (remaining.size === 0) return;
  const consumer = client.consumer({ groupId: `checker-${Date.now()}-${Math.random()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachBatch: async ({ batch }) => {
        const id = `${batch.topic}:${batch.partition}`;
        const end = remaining.get(id);
        for (const m of batch.messages) {
          if (end === undefined || Number(m.offset) >= end) continue;
          const headers = Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, String(v)]));
          onMessage(batch.topic, m.key?.toString() ?? '', m.value?.toString() ?? '', headers);
          if (Number(m.offset) === end - 1) remaining.delete(id);
        }
        if (remaining.size === 0) resolve();
      },
    });
  });
  await consumer.disconnect();
}
