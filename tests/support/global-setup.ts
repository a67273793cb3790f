// Before a run: drop inactive replication slots and publications that earlier, interrupted
// test runs left behind (each would pin WAL, and the server allows only so many slots). The
// stack's own slots (`outbox_relay_*`, what `npm run up` streams from) go too when no relay
// holds them: the suite starts relays on them (bench smoke, soak), and a backlog written meanwhile
// by another checkout of the code (events of an older shape) would otherwise be published into
// this run's Kafka and dead-lettered there.
import pg from 'pg';
import { SERVICE_DATABASES, serviceDatabaseUrl } from '@shop/lib/db/databases';

const TEST_SLOT = String.raw`^(t[0-9a-f]{10}|bench[0-9a-f]{6})_`;

export default async function setup(): Promise<void> {
  for (const db of SERVICE_DATABASES) {
    const client = new pg.Client({ connectionString: serviceDatabaseUrl(db) });
    await client.connect();
    try {
      await client.query(`select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name ~ $1 and database = $2 and not active`, [
        TEST_SLOT,
        db,
      ]);
      const pubs = await client.query<{ pubname: string }>(`select pubname from pg_publication where pubname ~ '^(t[0-9a-f]{10}|bench[0-9a-f]{6})_pub$'`);
      for (const { pubname } of pubs.rows) await client.query(`drop publication if exists "${pubname}"`);
      const stack = await client.query(
        `select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = $1 and database = $2 and not active`,
        [`outbox_relay_${db}`, db],
      );
      // Its publication remembers the slot (a relay refuses to recreate a slot it made): it goes with it.
      if (stack.rowCount) await client.query('drop publication if exists outbox_relay_pub');
    } finally {
      await client.end();
    }
  }
}
