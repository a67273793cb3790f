// Writes outbox rows straight into the service databases, as the services do: one transaction
// each, with a sequence number per key so Kafka order can be compared with commit order.
import { uuidv7 } from 'uuidv7';
import type pg from 'pg';

export interface WrittenRow {
  id: string;
  key: string;
  seq: number;
}

export async function writeTransactions(
  client: pg.Pool,
  opts: { aggregateType: string; transactions: number; rowsPerTransaction: number; keys: number; startSeq?: number; pauseMs?: number; rollback?: boolean },
): Promise<WrittenRow[]> {
  const written: WrittenRow[] = [];
  let seq = opts.startSeq ?? 0;
  for (let t = 0; t < opts.transactions; t++) {
    const rows: WrittenRow[] = [];
    for (let r = 0; r < opts.rowsPerTransaction; r++) {
      rows.push({ id: uuidv7(), key: `${opts.aggregateType}-k${seq % opts.keys}`, seq: seq++ });
    }
    const conn = await client.connect();
    try {
      await conn.query('BEGIN');
      await conn.query(
        `INSERT INTO outbox (id, aggregate_type, aggregate_id, type, payload, headers)
         SELECT (r->>'id')::uuid, $1, r->>'key', 'TestEvent', jsonb_build_object('seq', (r->>'seq')::int), '{}'::jsonb
           FROM jsonb_array_elements($2::jsonb) AS r`,
        [opts.aggregateType, JSON.stringify(rows)],
      );
      await conn.query(opts.rollback ? 'ROLLBACK' : 'COMMIT');
    } finally {
      conn.release();
    }
    if (!opts.rollback) written.push(...rows);
    if (opts.pauseMs) await new Promise((r) => setTimeout(r, opts.pauseMs));
  }
  return written;
}

/**
 * Per key, the first delivery of each event must follow commit order (later redeliveries after
 * a crash are allowed). Returns the keys where it does not.
 */
export function keysOutOfOrder(messages: { key: string; value: { id: string; payload: Record<string, unknown> } }[]): string[] {
  const seen = new Set<string>();
  const lastSeq = new Map<string, number>();
  const bad = new Set<string>();
  for (const m of messages) {
    if (seen.has(m.value.id)) continue;
    seen.add(m.value.id);
    const seq = Number(m.value.payload.seq);
    const prev = lastSeq.get(m.key);
    if (prev !== undefined && seq < prev) bad.add(m.key);
    lastSeq.set(m.key, seq);
  }
  return [...bad];
}
