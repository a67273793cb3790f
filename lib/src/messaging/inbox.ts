import type { SqlTransaction } from '../db/prisma.ts';

export interface MessageMeta {
  consumer: string;
  topic: string;
  partition: number;
  offset: string;
}

/**
 * Records the event id in `processed_events` inside the handler's transaction.
 * Returns false when it was already there: the effect was applied before, skip it.
 */
export async function markProcessed(tx: SqlTransaction, event: { id: string; type: string }, meta: MessageMeta): Promise<boolean> {
  const inserted = await tx.$executeRawUnsafe(
    `INSERT INTO processed_events (consumer, event_id, event_type, topic, partition, "offset")
     VALUES ($1, $2::uuid, $3, $4, $5, $6::bigint) ON CONFLICT DO NOTHING`,
    meta.consumer,
    event.id,
    event.type,
    meta.topic,
    meta.partition,
    meta.offset,
  );
  return inserted === 1;
}
