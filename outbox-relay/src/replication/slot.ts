import pg from 'pg';
import { AppError } from '@shop/lib/errors';
import type { DatabaseSource } from '../config.ts';
import { parseLsn, type Lsn } from './lsn.ts';

/** A slot that is gone or unusable: starting anyway would silently skip events. Never retried. */
export class SlotUnusableError extends AppError {
  constructor(message: string) {
    super('slot_unusable', message, { canRetry: false, status: 500 });
  }
}

// The publication's comment records which slot was created with it, so a slot that disappears
// later is told apart from a first start.
const marker = (slot: string) => `outbox-relay slot ${slot}`;

export interface SlotState {
  confirmedFlushLsn: Lsn;
  active: boolean;
  activePid: number | null;
}

export async function withClient<T>(source: DatabaseSource, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: source.connectionString, connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Creates the publication (inserts on `outbox` only) and the slot on first start; afterwards
 * checks the slot still exists with a usable position, and refuses loudly otherwise.
 */
export async function prepareSlot(source: DatabaseSource, opts: { recreateMissing: boolean }): Promise<SlotState> {
  return withClient(source, async (client) => {
    const pub = await client.query<{ comment: string | null }>(
      "SELECT obj_description(oid, 'pg_publication') AS comment FROM pg_publication WHERE pubname = $1",
      [source.publicationName],
    );
    if (pub.rowCount === 0) {
      await client.query(`CREATE PUBLICATION "${source.publicationName}" FOR TABLE outbox WITH (publish = 'insert')`).catch(ignoreDuplicate);
    }
    const comment = pub.rows[0]?.comment ?? '';
    let slot = await readSlot(client, source.slotName);
    if (!slot) {
      if (comment.includes(marker(source.slotName)) && !opts.recreateMissing) {
        throw new SlotUnusableError(
          `replication slot "${source.slotName}" on database ${source.name} is missing, but this relay created it before: ` +
            'events committed since it was dropped cannot be recovered from the WAL. Refusing to start. ' +
            'Republish from the outbox table if needed, then set RELAY_RECREATE_MISSING_SLOT=true once to start a new slot.',
        );
      }
      await client.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [source.slotName]).catch(ignoreDuplicate);
      const existing = (comment ? `${comment}; ` : '') + marker(source.slotName);
      if (!comment.includes(marker(source.slotName))) {
        await client.query(`COMMENT ON PUBLICATION "${source.publicationName}" IS ${pg.escapeLiteral(existing)}`);
      }
      slot = await readSlot(client, source.slotName);
    }
    if (!slot) throw new SlotUnusableError(`replication slot "${source.slotName}" could not be created on ${source.name}`);
    return slot;
  });
}

async function readSlot(client: pg.Client, slotName: string): Promise<SlotState | undefined> {
  const res = await client.query<{ plugin: string; confirmed_flush_lsn: string | null; wal_status: string | null; active: boolean; active_pid: number | null }>(
    `SELECT plugin, confirmed_flush_lsn::text, wal_status, active, active_pid
       FROM pg_replication_slots WHERE slot_name = $1 AND database = current_database()`,
    [slotName],
  );
  const row = res.rows[0];
  if (!row) return undefined;
  if (row.plugin !== 'pgoutput') throw new SlotUnusableError(`replication slot "${slotName}" uses plugin ${row.plugin}, not pgoutput`);
  if (row.wal_status === 'lost' || row.confirmed_flush_lsn === null) {
    throw new SlotUnusableError(
      `replication slot "${slotName}" has lost the WAL it needs (wal_status=${row.wal_status}); events may be gone. Refusing to start.`,
    );
  }
  return { confirmedFlushLsn: parseLsn(row.confirmed_flush_lsn), active: row.active, activePid: row.active_pid };
}

function ignoreDuplicate(error: Error & { code?: string }): void {
  if (error.code !== '42710') throw error; // duplicate_object: another relay created it first
}

export interface SlotLag {
  slot: string;
  lagBytes: number;
  restartLsn: string | null;
  confirmedFlushLsn: string | null;
  active: boolean;
}

export async function readLag(client: pg.Pool, slotName: string): Promise<SlotLag | undefined> {
  const res = await client.query<{ lag: string | null; restart_lsn: string | null; confirmed_flush_lsn: string | null; active: boolean }>(
    `SELECT pg_current_wal_lsn() - confirmed_flush_lsn AS lag, restart_lsn::text, confirmed_flush_lsn::text, active
       FROM pg_replication_slots WHERE slot_name = $1`,
    [slotName],
  );
  const row = res.rows[0];
  if (!row) return undefined;
  return {
    slot: slotName,
    lagBytes: Math.max(0, Number(row.lag ?? 0)),
    restartLsn: row.restart_lsn,
    confirmedFlushLsn: row.confirmed_flush_lsn,
    active: row.active,
  };
}
