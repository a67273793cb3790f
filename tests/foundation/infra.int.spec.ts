import { afterAll, describe, expect, it } from 'vitest';
import { migrationsDir, SERVICE_DATABASES } from '@shop/lib/db/databases';
import { listMigrations } from '@shop/lib/db/migrate';
import { infra, pool } from '../support/infra.ts';

describe('infra script', () => {
  const admin = pool('orders', 2);
  afterAll(() => admin.end());

  it('is idempotent: a second `up` finds everything in place and changes nothing', async () => {
    await infra('up');
    const second = await infra('up');
    // Every state-changing step logs what it does; a second run must log none of them.
    expect(second.stderr).not.toMatch(/installing|generating|restarting|creating|formatting|starting|fetching|: applied/);
    expect(second.stderr).toMatch(/infrastructure ready/);
    const status = await infra('status');
    expect(status.stdout).toMatch(/postgres\s+up \(wal_level=logical\)/);
    expect(status.stdout).toMatch(/redis\s+up/);
    expect(status.stdout).toMatch(/kafka\s+up/);
  });

  it('runs Postgres with wal_level=logical, room for slots, and a replication login', async () => {
    const settings = await admin.query<{ name: string; setting: string }>(
      "select name, setting from pg_settings where name in ('wal_level', 'max_replication_slots', 'max_wal_senders')",
    );
    const byName = Object.fromEntries(settings.rows.map((r) => [r.name, r.setting]));
    expect(byName.wal_level).toBe('logical');
    expect(Number(byName.max_replication_slots)).toBeGreaterThanOrEqual(32);
    expect(Number(byName.max_wal_senders)).toBeGreaterThanOrEqual(32);
    const role = await admin.query('select rolreplication, rolcanlogin from pg_roles where rolname = $1', ['outbox_relay']);
    expect(role.rows).toEqual([{ rolreplication: true, rolcanlogin: true }]);
  });

  const expectedTables: Record<string, string[]> = {
    orders: ['orders', 'order_items', 'order_history'],
    inventory: ['products', 'reservations', 'reservation_lines'],
    payments: ['payments', 'refunds'],
    notifications: ['notifications'],
  };

  it.each(SERVICE_DATABASES)('database %s exists with its tables, outbox, inbox and migration record', async (db) => {
    const p = pool(db, 1);
    try {
      const tables = await p.query<{ table_name: string }>("select table_name from information_schema.tables where table_schema = 'public'");
      const names = tables.rows.map((r) => r.table_name);
      expect(names).toEqual(expect.arrayContaining([...expectedTables[db], 'outbox', 'processed_events', '_prisma_migrations']));
      const outboxColumns = await p.query<{ column_name: string; data_type: string }>(
        "select column_name, data_type from information_schema.columns where table_name = 'outbox' order by ordinal_position",
      );
      expect(outboxColumns.rows).toEqual([
        { column_name: 'id', data_type: 'uuid' },
        { column_name: 'aggregate_type', data_type: 'text' },
        { column_name: 'aggregate_id', data_type: 'text' },
        { column_name: 'type', data_type: 'text' },
        { column_name: 'payload', data_type: 'jsonb' },
        { column_name: 'headers', data_type: 'jsonb' },
        { column_name: 'created_at', data_type: 'timestamp with time zone' },
      ]);
      const migrations = await p.query('select migration_name, finished_at is not null as done, checksum from _prisma_migrations order by migration_name');
      const onDisk = await listMigrations(migrationsDir(db));
      expect(migrations.rows).toEqual(onDisk.map((m) => ({ migration_name: m.name, done: true, checksum: m.checksum })));
    } finally {
      await p.end();
    }
  });

  it('keeps stock from going negative at the database level', async () => {
    const p = pool('inventory', 1);
    try {
      const sku = `CHK-${Date.now()}`;
      await expect(p.query('insert into products (sku, name, on_hand) values ($1, $2, -1)', [sku, 'x'])).rejects.toThrow(/products_on_hand_check/);
      await p.query('insert into products (sku, name, on_hand) values ($1, $2, 1)', [sku, 'x']);
      await expect(p.query('update products set reserved = 2 where sku = $1', [sku])).rejects.toThrow(/products_reserved_check/);
      await p.query('delete from products where sku = $1', [sku]);
    } finally {
      await p.end();
    }
  });
});
