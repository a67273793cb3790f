// The transaction runner of the event-carrying write paths, against the real orders database.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createPool } from '@shop/lib/db/prisma';
import { DatabaseBusyError, SqlDatabase } from '@shop/lib/db/sql';
import { serviceDatabaseUrl } from '@shop/lib/db/databases';
import { envelope } from '@shop/lib/events/envelope';
import { isTransient } from '@shop/lib/errors';
import { markProcessed } from '@shop/lib/messaging/inbox';
import { appendToOutbox } from '@shop/lib/outbox/append';

const url = serviceDatabaseUrl('orders');
const pools: pg.Pool[] = [];
const database = (poolSize: number, acquireTimeoutMs?: number) => {
  const pool = createPool({ url, poolSize, acquireTimeoutMs });
  pools.push(pool);
  return { pool, db: new SqlDatabase(pool) };
};
const admin = new pg.Pool({ connectionString: url, max: 2 });
afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
  await admin.end();
});

const probe = (aggregateId: string) => envelope({ type: 'FoundationProbe', payload: { n: 1 } }, { aggregateType: 'test', aggregateId, causationId: null });
const outboxRows = async (aggregateId: string) => (await admin.query('SELECT id FROM outbox WHERE aggregate_id = $1', [aggregateId])).rowCount;

describe('SqlDatabase', () => {
  it('commits the state change, its inbox row and its outbox rows together, or none of them', async () => {
    const { db } = database(2);
    const committed = randomUUID();
    await db.transaction(async (tx) => {
      expect(await markProcessed(tx, { id: committed, type: 'FoundationProbe' }, { consumer: 'sql-test', topic: 't', partition: 0, offset: '1' })).toBe(true);
      await appendToOutbox(tx, [probe(committed), probe(committed)]);
    });
    expect(await outboxRows(committed)).toBe(2);
    // The same event again is a duplicate, inside a new transaction.
    expect(
      await db.transaction((tx) =>
        markProcessed(tx, { id: committed, type: 'FoundationProbe' }, { consumer: 'sql-test', topic: 't', partition: 0, offset: '1' }),
      ),
    ).toBe(false);

    const rolledBack = randomUUID();
    await expect(
      db.transaction(async (tx) => {
        await markProcessed(tx, { id: rolledBack, type: 'FoundationProbe' }, { consumer: 'sql-test', topic: 't', partition: 0, offset: '2' });
        await appendToOutbox(tx, probe(rolledBack));
        throw new Error('business rule failed after the append');
      }),
    ).rejects.toThrow('business rule failed');
    expect(await outboxRows(rolledBack)).toBe(0);
    expect((await admin.query('SELECT 1 FROM processed_events WHERE event_id = $1', [rolledBack])).rowCount).toBe(0);
    await admin.query('DELETE FROM outbox WHERE aggregate_id = $1', [committed]);
    await admin.query("DELETE FROM processed_events WHERE consumer = 'sql-test'");
  });

  it('returns int8 as bigint and keeps 200 concurrent transactions apart (named statements on 4 connections)', async () => {
    const { db } = database(4);
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        db
          .transaction(async (tx) => {
            const [row] = await tx.$queryRawUnsafe<{ n: bigint; tag: string }[]>('SELECT $1::int8 * 2 AS n, $2::text AS tag', i, `t${i}`);
            if (i % 5 === 0) await tx.$queryRawUnsafe('SELECT 1 / 0'); // a failing statement, rolled back
            return row;
          })
          .catch((error: { code?: string }) => error.code),
      ),
    );
    results.forEach((r, i) => expect(r).toEqual(i % 5 === 0 ? '22012' : { n: BigInt(i * 2), tag: `t${i}` }));
  });

  it('answers a retryable DatabaseBusyError when no connection frees up in time', async () => {
    const { db } = database(1, 200);
    let release!: () => void;
    const holding = db.transaction(() => new Promise<void>((r) => (release = r)));
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    const error = await db.transaction(async () => 'never').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseBusyError);
    expect(isTransient(error)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    release();
    await holding;
    expect(await db.transaction(async () => 'served after the wait')).toBe('served after the wait');
  });

  it('runs a single statement outside a transaction, keeping the connection after a statement error', async () => {
    const { db, pool } = database(1);
    const [first] = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    await expect(db.query('SELECT 1 / 0')).rejects.toMatchObject({ code: '22012' });
    const [again] = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    expect(again.pid).toBe(first.pid);
    // A connection terminated by the server is not handed out again.
    await admin.query('SELECT pg_terminate_backend($1)', [first.pid]);
    await new Promise((r) => setTimeout(r, 100));
    const [fresh] = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    expect(fresh.pid).not.toBe(first.pid);
    expect(pool.totalCount).toBe(1);
  });

  it('drops a connection killed mid-transaction and serves the next transaction on a new one', async () => {
    const { db, pool } = database(1);
    const error = await db
      .transaction(async (tx) => {
        const [me] = await tx.$queryRawUnsafe<{ pid: number }[]>('SELECT pg_backend_pid() AS pid');
        await admin.query('SELECT pg_terminate_backend($1)', [me.pid]);
        await tx.$queryRawUnsafe('SELECT 1');
      })
      .catch((e: unknown) => e);
    expect(isTransient(error)).toBe(true);
    const [row] = await db.transaction((tx) => tx.$queryRawUnsafe<{ ok: number }[]>('SELECT 1 AS ok'));
    expect(row).toEqual({ ok: 1 });
    expect(pool.totalCount).toBe(1);
  });
});
