import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createPrisma } from '@shop/lib/db/prisma';
import { serviceDatabaseUrl } from '@shop/lib/db/databases';
import { envelope } from '@shop/lib/events/envelope';
import { appendToOutbox } from '@shop/lib/outbox/append';
import { PrismaClient } from '../../order-service/src/generated/prisma/client.ts';
import { pool } from '../support/infra.ts';
import { Collector, createTopics, expectAllDelivered } from '../support/kafka.ts';
import { writeTransactions } from '../support/outbox-writer.ts';
import { waitFor } from '../support/processes.ts';
import { relayHarness, waitActive } from '../support/relay.ts';

const orders = pool('orders', 2);
const prisma = createPrisma(PrismaClient, { url: serviceDatabaseUrl('orders'), poolSize: 2 });
afterAll(async () => {
  await orders.end();
  await prisma.$disconnect();
});

describe('outbox retention', { timeout: 120_000 }, () => {
  it('prunes published rows older than the retention window while active', async () => {
    const run = `ret${randomUUID().slice(0, 8)}`;
    await createTopics([`${run}.events`]);
    const harness = relayHarness({ RELAY_DATABASES: 'orders', OUTBOX_RETENTION_MS: '1000', OUTBOX_RETENTION_INTERVAL_MS: '300' });
    const relay = await harness.start();
    await waitActive(relay);
    const collector = await Collector.start([`${run}.events`]);
    const written = await writeTransactions(orders, { aggregateType: run, transactions: 2, rowsPerTransaction: 10, keys: 2 });
    await expectAllDelivered(collector, written);
    // A long-lived database may hold a large backlog of old rows that goes in the same DELETE first.
    await waitFor(async () => (await orders.query('select count(*)::int as n from outbox where aggregate_type = $1', [run])).rows[0].n === 0, {
      what: 'rows pruned',
      timeoutMs: 90_000,
    });
    const metrics = await (await fetch(`${relay.url}/metrics`)).text();
    expect(metrics).toMatch(/relay_outbox_rows_pruned_total\{[^}]*\} [1-9]/);
  });

  it('publishes rows deleted in the same transaction as their insert (delete-on-insert policy)', async () => {
    const run = `doi${randomUUID().slice(0, 8)}`;
    await createTopics([`${run}.events`]);
    const harness = relayHarness({ RELAY_DATABASES: 'orders' });
    const relay = await harness.start();
    await waitActive(relay);
    const collector = await Collector.start([`${run}.events`]);
    const events = [1, 2, 3].map((n) => envelope({ type: 'TestEvent', payload: { seq: n } }, { aggregateType: run, aggregateId: `${run}-k` }));
    await prisma.$transaction((tx) => appendToOutbox(tx, events, { deleteAfterInsert: true }));
    expect((await orders.query('select count(*)::int as n from outbox where aggregate_type = $1', [run])).rows[0].n).toBe(0);
    await expectAllDelivered(collector, events);
  });
});
