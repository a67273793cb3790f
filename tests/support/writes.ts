// "Nothing was written": a fingerprint of everything a write route could change (outbox rows, orders
// and their status, products and their versions, Kafka topic ends, Redis keys), taken once the
// stack has settled, so that a refused request can be shown to leave it as it was.
import { Redis } from 'ioredis';
import { afterAll, expect } from 'vitest';
import { SERVICE_DATABASES } from '@shop/lib/db/databases';
import { pool } from './infra.ts';
import { kafka } from './kafka.ts';

const TOPICS = ['order.events', 'inventory.events', 'payment.events'];

export interface Snapshot {
  /** Row counts, versions and topic ends. */
  rows: string;
  /** Redis keys (one that expires later is not a write; one that appears is). */
  keys: Set<string>;
}

export interface WriteProbe {
  /** The snapshot now. */
  state(): Promise<Snapshot>;
  /** The snapshot once nothing changed for a second (workflows in flight settle first). */
  settled(): Promise<Snapshot>;
  /** Fails unless every row count and topic end is as in `before`, and no Redis key is new. */
  expectUnchanged(before: Snapshot): Promise<void>;
}

export function writeProbe(): WriteProbe {
  const pools = Object.fromEntries(SERVICE_DATABASES.map((db) => [db, pool(db, 2)]));
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true });
  afterAll(async () => {
    await Promise.all(Object.values(pools).map((p) => p.end()));
    redis.disconnect();
  });
  // Outbox rows written since the probe was made: the relay's retention pruning deletes hour-old
  // rows meanwhile (a long-lived database has some, e.g. a bench's), which is not a write of a test.
  const since = new Date(Date.now() - 60_000);

  const redisKeys = async () => {
    const keys = new Set<string>();
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'COUNT', 1000);
      for (const k of batch) keys.add(k);
      cursor = next;
    } while (cursor !== '0');
    return keys;
  };

  const rows = async () => {
    const parts = await Promise.all([
      ...SERVICE_DATABASES.map(
        async (db) => `${db}.outbox=${(await pools[db].query('select count(*) from outbox where created_at > $1', [since])).rows[0].count}`,
      ),
      pools.orders
        .query(`select count(*), count(*) filter (where status = 'CANCELLED') as c from orders`)
        .then((r) => `orders=${r.rows[0].count}/${r.rows[0].c}`),
      pools.inventory.query('select count(*), coalesce(sum(version), 0) as v from products').then((r) => `products=${r.rows[0].count}/${r.rows[0].v}`),
    ]);
    const admin = kafka.admin();
    await admin.connect();
    try {
      for (const t of TOPICS) parts.push(`${t}:${(await admin.fetchTopicOffsets(t)).map((p) => p.offset).join(',')}`);
    } finally {
      await admin.disconnect();
    }
    return parts.join(' ');
  };

  const state = async (): Promise<Snapshot> => {
    const [r, keys] = await Promise.all([rows(), redisKeys()]);
    return { rows: r, keys };
  };

  return {
    state,
    async settled() {
      let last = '';
      for (;;) {
        const now = await state();
        const seen = `${now.rows} keys=${[...now.keys].sort().join(',')}`;
        if (seen === last) return now;
        last = seen;
        await new Promise((r) => setTimeout(r, 1_000));
      }
    },
    async expectUnchanged(before) {
      const after = await state();
      expect(after.rows).toBe(before.rows);
      expect([...after.keys].filter((k) => !before.keys.has(k))).toEqual([]);
    },
  };
}
