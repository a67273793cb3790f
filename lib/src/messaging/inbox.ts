import type { SqlTransaction } from '../db/prisma.ts';
import type { MessageMeta } from './types.ts';

export type { MessageMeta } from './types.ts';

/**
 * Records the event id in `processed_events` inside the handler's transaction.
 * Returns false when it was already there: the effect was applied before, skip it.
 */
export async function markProcessed(tx: SqlTransaction, event: { id: string; type: string }, meta: MessageMeta): Promise<boolean> {
  return (await markProcessedMany(tx, [{ event, meta }])).size === 1;
}

/**
 * Records many event ids in one statement inside the batch's transaction; returns the ids that
 * were new (an id already there, or twice in the list, is returned at most once: skip the rest).
 */
export async function markProcessedMany(tx: SqlTransaction, items: { event: { id: string; type: string }; meta: MessageMeta }[]): Promise<Set<string>> {
  if (items.length === 0) return new Set();
  const rows = await tx.$queryRawUnsafe<{ event_id: string }[]>(
    `INSERT INTO processed_events (consumer, event_id, event_type, topic, partition, "offset")
     SELECT $1, e.id, e.type, e.topic, e.partition, e.off
       FROM unnest($2::uuid[], $3::text[], $4::text[], $5::int[], $6::bigint[]) AS e(id, type, topic, partition, off)
     ON CONFLICT DO NOTHING RETURNING event_id::text`,
    items[0].meta.consumer,
    items.map((i) => i.event.id),
    items.map((i) => i.event.type),
    items.map((i) => i.meta.topic),
    items.map((i) => i.meta.partition),
    items.map((i) => i.meta.offset),
  );
  return new Set(rows.map((r) => r.event_id));
}
