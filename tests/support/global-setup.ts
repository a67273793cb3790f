// Before a run: drop inactive replication slots and publications that earlier, interrupted
// test runs left behind (each would pin WAL, and the server allows only so many slots).
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
    } finally {
      await client.end();
    }
  }
}
