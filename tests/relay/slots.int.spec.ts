import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { SERVICE_DATABASES } from '@shop/lib/db/databases';
import { parseLsn } from '../../outbox-relay/src/replication/lsn.ts';
import { infra, pool } from '../support/infra.ts';
import { Collector, createTopics, expectAllDelivered } from '../support/kafka.ts';
import { writeTransactions } from '../support/outbox-writer.ts';
import { startProcess, waitFor } from '../support/processes.ts';
import { relayHarness, waitActive } from '../support/relay.ts';

const pools = Object.fromEntries(SERVICE_DATABASES.map((db) => [db, pool(db, 2)]));
afterAll(() => Promise.all(Object.values(pools).map((p) => p.end())));

describe('outbox-relay slots', { timeout: 120_000 }, () => {
  it("advances an idle database's slot while only another database has traffic", async () => {
    const run = `id${randomUUID().slice(0, 8)}`;
    await createTopics([`${run}.events`]);
    const harness = relayHarness({ RELAY_DATABASES: 'orders,notifications', RELAY_STATUS_INTERVAL_MS: '200' });
    const relay = await harness.start();
    await waitActive(relay);
    const idleBefore = (await harness.slotState('notifications'))!;
    // Traffic on orders only: WAL is shared by the cluster, so notifications' slot falls behind unless advanced.
    for (let i = 0; i < 6; i++) {
      await writeTransactions(pools.orders, { aggregateType: run, transactions: 20, rowsPerTransaction: 20, keys: 5, startSeq: i * 1000 });
      await pools.orders.query('select pg_switch_wal()');
      await new Promise((r) => setTimeout(r, 300));
    }
    const advanced = await waitFor(
      async () => {
        const now = (await harness.slotState('notifications'))!;
        return parseLsn(now.restart_lsn) > parseLsn(idleBefore.restart_lsn) && parseLsn(now.confirmed_flush_lsn) > parseLsn(idleBefore.confirmed_flush_lsn)
          ? now
          : undefined;
      },
      { timeoutMs: 30_000, what: 'idle slot to advance' },
    );
    expect(parseLsn(advanced.confirmed_flush_lsn)).toBeGreaterThan(parseLsn(idleBefore.confirmed_flush_lsn));
  });

  it('fails over: with two relays, the standby publishes within 5 s after the active one is killed', async () => {
    const run = `fo${randomUUID().slice(0, 8)}`;
    const topic = `${run}.events`;
    await createTopics([topic]);
    const harness = relayHarness({ RELAY_DATABASES: 'orders', RELAY_STANDBY_RETRY_MS: '500' });
    const first = await harness.start();
    await waitActive(first);
    const second = await harness.start();
    const lagOf = async (r: typeof first) => ((await (await fetch(`${r.url}/lag`)).json()) as { slots: { state: string }[] }).slots[0].state;
    await waitFor(async () => (await lagOf(second)) === 'standby', { what: 'second relay standby' });
    expect(await lagOf(first)).toBe('active');
    const collector = await Collector.start([topic]);
    const before = await writeTransactions(pools.orders, { aggregateType: run, transactions: 3, rowsPerTransaction: 5, keys: 2 });
    await expectAllDelivered(collector, before);

    await first.kill();
    const killedAt = Date.now();
    const after = await writeTransactions(pools.orders, { aggregateType: run, transactions: 1, rowsPerTransaction: 5, keys: 2, startSeq: 100 });
    await waitFor(() => after.every((w) => collector.ids().has(w.id)), { timeoutMs: 15_000, intervalMs: 50, what: 'standby to publish' });
    const takeoverMs = Date.now() - killedAt;
    console.info(`[failover] standby published the next rows ${takeoverMs} ms after the active relay was killed`);
    expect(takeoverMs).toBeLessThanOrEqual(5_000);
    expect(await lagOf(second)).toBe('active');
  });

  it('reports nothing pending once it lost its slot to another relay, which publishes what it held', async () => {
    const run = `sb${randomUUID().slice(0, 8)}`;
    const topic = `${run}.events`;
    await createTopics([topic]);
    // The first relay waits 5 s before it reconnects, so the standby takes the slot first.
    const harness = relayHarness({ RELAY_DATABASES: 'orders', RELAY_STANDBY_RETRY_MS: '300' });
    const first = await harness.start({ RELAY_RECONNECT_BASE_MS: '5000' });
    await waitActive(first);
    const second = await harness.start();
    type Slot = { state: string; pendingMessages: number };
    const slotOf = async (r: typeof first) => ((await (await fetch(`${r.url}/lag`)).json()) as { slots: Slot[] }).slots[0];
    await waitFor(async () => (await slotOf(second)).state === 'standby', { what: 'second relay standby' });
    await infra('kafka-stop');
    try {
      const held = await writeTransactions(pools.orders, { aggregateType: run, transactions: 4, rowsPerTransaction: 5, keys: 2 });
      await waitFor(async () => (await slotOf(first)).pendingMessages === 20, { what: 'the first relay to hold the rows' });
      await pools.orders.query('select pg_terminate_backend(active_pid) from pg_replication_slots where slot_name = $1', [`${harness.prefix}_orders`]);
      await waitFor(async () => (await slotOf(second)).state === 'active', { what: 'the standby to take the slot' });
      const lost = await waitFor(async () => ((await slotOf(first)).state === 'standby' ? slotOf(first) : undefined), { what: 'first relay standby' });
      expect(lost.pendingMessages).toBe(0);
      await infra('kafka-start');
      const collector = await Collector.start([topic]);
      await expectAllDelivered(collector, held, 60_000);
    } finally {
      await infra('kafka-start');
    }
  });

  it('refuses to start, loudly, when its slot was dropped while it was stopped', async () => {
    const harness = relayHarness({ RELAY_DATABASES: 'orders' });
    const relay = await harness.start();
    await waitActive(relay);
    expect(await relay.stop()).toBe(0);
    await pools.orders.query('select pg_drop_replication_slot($1)', [`${harness.prefix}_orders`]);

    const again = await startProcess('outbox-relay', { env: harness.env, waitReady: false, logName: `relay-${harness.prefix}-refused` });
    let stderr = '';
    again.child.stderr!.on('data', (chunk) => (stderr += chunk));
    const code = await again.exited;
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/replication slot "[a-z0-9_]+_orders" on database orders is missing/);
    // And it did not quietly create a new one.
    expect(await harness.slotState('orders')).toBeUndefined();
  });
});
