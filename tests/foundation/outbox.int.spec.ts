import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createPrisma } from '@shop/lib/db/prisma';
import { serviceDatabaseUrl } from '@shop/lib/db/databases';
import { envelope } from '@shop/lib/events/envelope';
import { appendToOutbox } from '@shop/lib/outbox/append';
import { PrismaClient } from '../../order-service/src/generated/prisma/client.ts';

const prisma = createPrisma(PrismaClient, { url: serviceDatabaseUrl('orders'), poolSize: 4 });
afterAll(() => prisma.$disconnect());

const event = (aggregateId: string) => envelope({ type: 'FoundationProbe', payload: { n: 1 } }, { aggregateType: 'test', aggregateId, causationId: null });

describe('appendToOutbox', () => {
  it('refuses the root client: outbox rows only exist inside a state change transaction', async () => {
    const e = event(randomUUID());
    await expect(appendToOutbox(prisma, e)).rejects.toMatchObject({ code: 'outbox_outside_transaction' });
    expect(await prisma.outbox.count({ where: { id: e.id } })).toBe(0);
  });

  it('leaves no row when the transaction rolls back', async () => {
    const e = event(randomUUID());
    await expect(
      prisma.$transaction(async (tx) => {
        await appendToOutbox(tx, e);
        expect(await tx.outbox.count({ where: { id: e.id } })).toBe(1);
        throw new Error('business rule failed after the append');
      }),
    ).rejects.toThrow('business rule failed');
    expect(await prisma.outbox.count({ where: { id: e.id } })).toBe(0);
  });

  it('writes the envelope fields and headers when the transaction commits', async () => {
    const orderId = randomUUID();
    const events = [event(orderId), event(orderId)];
    await prisma.$transaction(async (tx) => appendToOutbox(tx, events));
    const rows = await prisma.outbox.findMany({ where: { aggregateId: orderId }, orderBy: { id: 'asc' } });
    expect(rows.map((r) => r.id)).toEqual(events.map((e) => e.id).sort());
    expect(rows[0]).toMatchObject({
      aggregateType: 'test',
      type: 'FoundationProbe',
      payload: { n: 1 },
      headers: { correlationId: orderId, causationId: null, version: 1 },
    });
    await prisma.outbox.deleteMany({ where: { aggregateId: orderId } });
  });
});
