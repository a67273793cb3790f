import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { SERVICE_DATABASES } from '@shop/lib/db/databases';
import { infra, pool } from '../support/infra.ts';
import { Collector, createTopics, expectAllDelivered } from '../support/kafka.ts';
import { keysOutOfOrder, writeTransactions } from '../support/outbox-writer.ts';
import { waitFor } from '../support/processes.ts';
import { relayHarness, streamingRelay, waitActive } from '../support/relay.ts';

const pools = Object.fromEntries(SERVICE_DATABASES.map((db) => [db, pool(db, 2)]));
afterAll(async () => {
  await infra('kafka-start');
  await Promise.all(Object.values(pools).map((p) => p.end()));
});

describe('outbox-relay under infrastructure faults', { timeout: 240_000 }, () => {
  it('loses nothing when Kafka is down for 20 s and the relay is SIGKILLed during the outage', async () => {
    const run = `kd${randomUUID().slice(0, 8)}`;
    const topic = `${run}.events`;
    await createTopics([topic]);
    const harness = relayHarness({ RELAY_DATABASES: 'orders' });
    const relay = await harness.start();
    await waitActive(relay);
    const before = await writeTransactions(pools.orders, { aggregateType: run, transactions: 5, rowsPerTransaction: 10, keys: 5 });
    const collector = await Collector.start([topic]);
    await expectAllDelivered(collector, before);
    await collector.stop();

    await infra('kafka-stop');
    const started = Date.now();
    const during = await writeTransactions(pools.orders, {
      aggregateType: run,
      transactions: 20,
      rowsPerTransaction: 10,
      keys: 5,
      startSeq: 1000,
      pauseMs: 200,
    });
    // Longer than the library's old 10 s acknowledgement timer, which confirmed unpublished rows.
    await new Promise((r) => setTimeout(r, Math.max(0, 14_000 - (Date.now() - started))));
    await relay.kill();
    const slot = await harness.slotState('orders');
    expect(slot?.active).toBe(false);
    await new Promise((r) => setTimeout(r, Math.max(0, 20_000 - (Date.now() - started))));
    await infra('kafka-start');
    await harness.start();

    const after = await Collector.start([topic]);
    await expectAllDelivered(after, [...before, ...during], 90_000);
    expect(keysOutOfOrder(after.messages)).toEqual([]);
  });

  it('pauses while Kafka is down and resumes by itself, with the same process, losing nothing', async () => {
    const run = `ko${randomUUID().slice(0, 8)}`;
    const topic = `${run}.events`;
    await createTopics([topic]);
    const harness = relayHarness({ RELAY_DATABASES: 'orders,payments' });
    const relay = await harness.start();
    await waitActive(relay);
    const collector = await Collector.start([topic]);
    const before = await writeTransactions(pools.payments, { aggregateType: run, transactions: 5, rowsPerTransaction: 10, keys: 5 });
    await expectAllDelivered(collector, before);
    await collector.stop();
    // Kafka goes down while batches are in flight: the idempotent producer's sequence numbers
    // for unacknowledged batches are then out of step with the broker's.
    const writing = writeTransactions(pools.payments, { aggregateType: run, transactions: 150, rowsPerTransaction: 20, keys: 5, startSeq: 1000, pauseMs: 20 });
    await new Promise((r) => setTimeout(r, 500));
    await infra('kafka-stop');
    const during = await writing;
    await infra('kafka-start');
    const after = await writeTransactions(pools.payments, { aggregateType: run, transactions: 5, rowsPerTransaction: 10, keys: 5, startSeq: 10_000 });
    const again = await Collector.start([topic]);
    await expectAllDelivered(again, [...before, ...during, ...after], 90_000);
    expect(keysOutOfOrder(again.messages)).toEqual([]);
    expect(relay.child.exitCode).toBeNull();
  });

  it('reconnects by itself after Postgres restarts (immediate) mid-stream, losing nothing', async () => {
    const { run, relay, collector } = await streamingRelay('pr', { RELAY_DATABASES: 'orders', RELAY_RECONNECT_MAX_MS: '1000' });
    const first = await writeTransactions(pools.orders, { aggregateType: run, transactions: 10, rowsPerTransaction: 20, keys: 5 });
    await infra('pg-restart');
    // The pool's old connections died with the server; a fresh pool writes the rest.
    const fresh = pool('orders', 1);
    const second = await waitFor(() => writeTransactions(fresh, { aggregateType: run, transactions: 10, rowsPerTransaction: 20, keys: 5, startSeq: 1000 }), {
      what: 'postgres back',
      timeoutMs: 30_000,
    });
    await fresh.end();
    await expectAllDelivered(collector, [...first, ...second], 60_000);
    expect(keysOutOfOrder(collector.messages)).toEqual([]);
    const metrics = await (await fetch(`${relay.url}/metrics`)).text();
    expect(metrics).toMatch(/relay_reconnects_total\{[^}]*database="orders"[^}]*\} [1-9]/);
  });

  it('reconnects after its walsender is terminated, losing nothing', async () => {
    const { run, harness, collector } = await streamingRelay('wt', { RELAY_DATABASES: 'orders', RELAY_RECONNECT_MAX_MS: '1000' });
    const p = pool('orders', 1);
    const writing = writeTransactions(p, { aggregateType: run, transactions: 40, rowsPerTransaction: 10, keys: 5, pauseMs: 25 });
    await new Promise((r) => setTimeout(r, 300));
    const killed = await pools.orders.query('select pg_terminate_backend(active_pid) as ok from pg_replication_slots where slot_name = $1 and active', [
      `${harness.prefix}_orders`,
    ]);
    expect(killed.rows).toEqual([{ ok: true }]);
    const written = await writing;
    await p.end();
    await expectAllDelivered(collector, written, 60_000);
    expect(keysOutOfOrder(collector.messages)).toEqual([]);
  });
});
