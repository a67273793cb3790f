// Regression guard for reports of interactive transactions on adapter-pg returning another
// transaction's results after a Postgres error. Prisma 7.10.1 passed this; an upgrade must too.
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createPrisma } from '@shop/lib/db/prisma';
import { serviceDatabaseUrl } from '@shop/lib/db/databases';
import { PrismaClient } from '../../order-service/src/generated/prisma/client.ts';

const prisma = createPrisma(PrismaClient, { url: serviceDatabaseUrl('orders'), poolSize: 10 });
afterAll(() => prisma.$disconnect());

describe('Prisma interactive transactions on adapter-pg', () => {
  it('never mixes up results across 400 concurrent transactions, a quarter failing on a unique violation', async () => {
    const run = randomUUID().slice(0, 8);
    const taken = `taken-${run}`;
    await prisma.order.create({ data: order(randomUUID(), taken, run) });

    const outcomes = await Promise.all(
      Array.from({ length: 400 }, async (_, i) => {
        const id = randomUUID();
        const failing = i % 4 === 0;
        try {
          return await prisma.$transaction(
            async (tx) => {
              await tx.order.create({ data: order(id, failing ? taken : `k-${run}-${i}`, run) });
              const back = await tx.order.findUnique({ where: { id }, select: { id: true, customerId: true } });
              return { i, failing, back };
            },
            { timeout: 30_000, maxWait: 30_000 },
          );
        } catch (error) {
          if (!failing) throw error;
          // Some callers go on after the error, in a new transaction: it must see its own data only.
          if (i % 8 === 0) {
            const again = await prisma.$transaction(async (tx) => {
              await tx.order.create({ data: order(id, `retry-${run}-${i}`, run) });
              return tx.order.findUnique({ where: { id }, select: { id: true, idempotencyKey: true } });
            });
            return { i, failing, retried: again };
          }
          return { i, failing, error: (error as { code?: string }).code ?? String(error) };
        }
      }),
    );

    for (const o of outcomes) {
      if (!o.failing) expect(o.back).toEqual({ id: expect.any(String), customerId: `c-${run}` });
      else if ('retried' in o) expect(o.retried).toEqual({ id: expect.any(String), idempotencyKey: `retry-${run}-${o.i}` });
      else expect((o as { error?: string }).error).toBe('P2002');
    }
    // Each successful transaction read back the row it wrote itself, not another one.
    const written = await prisma.order.count({ where: { customerId: `c-${run}` } });
    expect(written).toBe(1 + 300 + 50);
    await prisma.order.deleteMany({ where: { customerId: `c-${run}` } });
  });
});

function order(id: string, idempotencyKey: string, run: string) {
  return {
    id,
    customerId: `c-${run}`,
    currency: 'EUR',
    sealedPaymentToken: 'v1.sealed',
    status: 'CREATED',
    totalCents: 100n,
    idempotencyKey,
    deadlineAt: new Date(Date.now() + 60_000),
  };
}
