import { AppError } from '../errors.ts';
import type { SqlTransaction } from '../db/prisma.ts';
import type { EventEnvelope } from '../events/envelope.ts';
import { toOutboxRow } from './row.ts';

/**
 * Appends events to the outbox inside the caller's transaction, so the events exist if and only
 * if the state change commits. The relay reads these inserts from the WAL.
 *
 * Refuses a non-transactional client: an outbox row written outside the state change's
 * transaction is exactly the dual write this pattern exists to prevent.
 */
export interface AppendOptions {
  /**
   * Delete the rows again in the same transaction (Debezium users know this policy): the WAL
   * still carries the inserts, so the relay publishes them, and the table never grows.
   * Default: OUTBOX_DELETE_ON_INSERT=true|false (false; the relay prunes by age instead).
   */
  deleteAfterInsert?: boolean;
}

/** Whether appended rows are deleted again in their transaction (AppendOptions.deleteAfterInsert). */
export const DELETE_ON_INSERT = process.env.OUTBOX_DELETE_ON_INSERT === 'true';

/**
 * The outbox insert as SQL taking the rows (outboxRows) as parameter `$param`: a caller may put
 * it in a CTE beside its own state change, and the one statement commits both or neither.
 * `where` (a condition on the rows, `e`) keeps only the events of the changes that took place.
 */
export function outboxInsert(param: number, where?: string): string {
  const filter = where ? `\n      WHERE ${where}` : '';
  return `INSERT INTO outbox (id, aggregate_type, aggregate_id, type, payload, headers, created_at)
     SELECT e.id, e.aggregate_type, e.aggregate_id, e.type, e.payload, e.headers, e.created_at
       FROM jsonb_to_recordset($${param}::jsonb) AS e(id uuid, aggregate_type text, aggregate_id text, type text,
                                                     payload jsonb, headers jsonb, created_at timestamptz)${filter}`;
}

export const outboxRows = (events: readonly EventEnvelope[]) => JSON.stringify(events.map(toOutboxRow));

export async function appendToOutbox(tx: SqlTransaction, events: EventEnvelope | EventEnvelope[], options: AppendOptions = {}): Promise<void> {
  assertTransaction(tx);
  const list = Array.isArray(events) ? events : [events];
  if (list.length === 0) return;
  // One statement for the whole batch keeps the per-transaction cost flat.
  await tx.$executeRawUnsafe(outboxInsert(1), outboxRows(list));
  if (options.deleteAfterInsert ?? DELETE_ON_INSERT) await deleteFromOutbox(tx, list);
}

export async function deleteFromOutbox(tx: SqlTransaction, events: readonly EventEnvelope[]): Promise<void> {
  await tx.$executeRawUnsafe(
    'DELETE FROM outbox WHERE id = ANY($1::uuid[])',
    events.map((e) => e.id),
  );
}

/**
 * Prisma's interactive-transaction client has no `$connect`/`$disconnect` (they make no sense
 * inside a transaction), the root client has them: that is how we tell them apart at run time.
 */
export function assertTransaction(tx: unknown): void {
  if (typeof (tx as { $disconnect?: unknown }).$disconnect === 'function') {
    throw new AppError(
      'outbox_outside_transaction',
      'appendToOutbox needs the transaction client of the state change (prisma.$transaction(async (tx) => ...))',
    );
  }
}
