import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { SERVICE_DATABASES } from '@shop/lib/db/databases';
import { pool } from '../support/infra.ts';
import { Collector, createTopics, expectAllDelivered, kafka } from '../support/kafka.ts';
import { keysOutOfOrder, writeTransactions } from '../support/outbox-writer.ts';
import { waitFor } from '../support/processes.ts';
import { relayHarness, streamingRelay, waitActive } from '../support/relay.ts';

const pools = Object.fromEntries(SERVICE_DATABASES.map((db) => [db, pool(db, 2)]));
afterAll(() => Promise.all(Object.values(pools).map((p) => p.end())));

const typeFor = (run: string, db: string) => `${run}_${db}`;

/** Messages on a topic, from Kafka's end offsets. */
async function publishedTo(topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.offset), 0);
  } finally {
    await admin.disconnect();
  }
}

describe('outbox-relay delivery', { timeout: 180_000 }, () => {
  it('delivers 10,000 rows from 100 transactions across the four databases, per key in commit order', async () => {
    const run = `d${randomUUID().slice(0, 8)}`;
    const topics = SERVICE_DATABASES.map((db) => `${typeFor(run, db)}.events`);
    await createTopics(topics);
    // Transactions of 100 rows and a threshold of 150: a batch of one transaction goes out from
    // the main thread, a batch of several through the publisher threads, so per-key order is
    // checked across switches between the two routes.
    const harness = relayHarness({ RELAY_THREADED_BATCH_MIN: '150' });
    const relay = await harness.start();
    await waitActive(relay);
    const collector = await Collector.start(topics);

    const written = (
      await Promise.all(
        SERVICE_DATABASES.map((db) => writeTransactions(pools[db], { aggregateType: typeFor(run, db), transactions: 25, rowsPerTransaction: 100, keys: 40 })),
      )
    ).flat();
    expect(written).toHaveLength(10_000);
    await expectAllDelivered(collector, written);
    expect(keysOutOfOrder(collector.messages)).toEqual([]);

    const sample = collector.messages.find((m) => m.value.id === written[0].id)!;
    expect(sample.key).toBe(written[0].key);
    expect(sample.headers).toMatchObject({ 'event-id': written[0].id, 'event-type': 'TestEvent', 'correlation-id': written[0].key, source: 'orders' });
    expect(sample.headers.lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(sample.value).toMatchObject({
      id: written[0].id,
      type: 'TestEvent',
      aggregateType: typeFor(run, 'orders'),
      aggregateId: written[0].key,
      version: 1,
    });
    expect(sample.value.payload).toEqual({ seq: written[0].seq });

    // The relay copies the payload's jsonb text verbatim into the envelope: it must stay JSON.
    const tricky = { text: 'quote " backslash \\ newline \n émoji 🚀 \u0001', nested: { list: [1, 2.5, -3e-7, null, true], empty: {} }, big: 12345678901234 };
    const id = randomUUID();
    await pools.orders.query(`INSERT INTO outbox (id, aggregate_type, aggregate_id, type, payload) VALUES ($1, $2, 'tricky', 'TestEvent', $3::jsonb)`, [
      id,
      typeFor(run, 'orders'),
      JSON.stringify(tricky),
    ]);
    const delivered = await waitFor(() => collector.messages.find((m) => m.value.id === id), { what: 'tricky payload delivered' });
    expect(delivered.value.payload).toEqual(tricky);
  });

  it('loses nothing when the relay is SIGKILLed mid-stream and restarted (duplicates counted)', async () => {
    const run = `k${randomUUID().slice(0, 8)}`;
    const topics = SERVICE_DATABASES.map((db) => `${typeFor(run, db)}.events`);
    await createTopics(topics);
    // Small batches so the kill lands between Kafka acknowledgements; all through the threads.
    const harness = relayHarness({ RELAY_BATCH_MAX_MESSAGES: '50', RELAY_THREADED_BATCH_MIN: '1' });
    const relay = await harness.start();
    await waitActive(relay);
    const collector = await Collector.start(topics);

    const writing = Promise.all(
      SERVICE_DATABASES.map((db) =>
        writeTransactions(pools[db], { aggregateType: typeFor(run, db), transactions: 25, rowsPerTransaction: 100, keys: 40, pauseMs: 20 }),
      ),
    );
    await waitFor(() => collector.messages.length > 1_000, { what: 'first messages' });
    await relay.kill();
    const atKill = collector.messages.length;
    await harness.start();
    const written = (await writing).flat();
    await expectAllDelivered(collector, written);
    expect(keysOutOfOrder(collector.messages)).toEqual([]);
    console.info(`[relay SIGKILL] ${atKill} delivered before the kill, ${collector.duplicates()} duplicates after restart, 0 missing`);
  });

  it('replays a whole 5,000-row transaction when killed halfway through publishing it', async () => {
    const started = await streamingRelay('h', { RELAY_BATCH_MAX_MESSAGES: '10', RELAY_DATABASES: 'orders' });
    const { run, topic, harness, collector } = started;
    const relay = started.relay;
    // Big enough that the kill lands inside it: 500 acknowledged batches of 10.
    const written = await writeTransactions(pools.orders, { aggregateType: run, transactions: 1, rowsPerTransaction: 5_000, keys: 10 });
    await waitFor(() => collector.messages.length >= 50, { what: 'part of the transaction', intervalMs: 10 });
    await relay.kill();
    // What Kafka had when the relay died (the collector may lag behind it): the kill must have cut the transaction.
    const partial = await publishedTo(topic);
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(5_000);
    // The slot must not have moved past the half-published transaction.
    await harness.start();
    await expectAllDelivered(collector, written);
    // Everything before the kill came again: the transaction was replayed from its start.
    expect(collector.duplicates()).toBeGreaterThanOrEqual(partial);
    expect(keysOutOfOrder(collector.messages)).toEqual([]);
  });

  it('publishes nothing from a rolled-back transaction', async () => {
    const { run, collector } = await streamingRelay('r', { RELAY_DATABASES: 'orders' });
    await writeTransactions(pools.orders, { aggregateType: run, transactions: 3, rowsPerTransaction: 10, keys: 2, rollback: true });
    // A committed marker after the rollbacks: once it arrives, anything rolled back would have too.
    const marker = await writeTransactions(pools.orders, { aggregateType: run, transactions: 1, rowsPerTransaction: 1, keys: 1, startSeq: 1000 });
    await expectAllDelivered(collector, marker);
    expect(collector.messages.map((m) => m.value.id)).toEqual([marker[0].id]);
  });
});
