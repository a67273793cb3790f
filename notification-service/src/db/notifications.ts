import type { Tx } from '@shop/lib/db/prisma';
import type { Notice } from '../domain/message.ts';

/** The (order, status) pairs of `orderIds` that have a notification already, as `orderId:status`. */
export async function loadNotified(tx: Tx, orderIds: string[]): Promise<Set<string>> {
  const rows = await tx.$queryRawUnsafe<{ order_id: string; status: string }[]>(
    'SELECT order_id::text, status FROM notifications WHERE order_id = ANY($1::uuid[])',
    orderIds,
  );
  return new Set(rows.map((r) => `${r.order_id}:${r.status}`));
}

/**
 * Records the notifications of a batch in one statement, unless one exists already per order
 * and status (the unique key). Returns how many were new.
 */
export async function recordNotifications(tx: Tx, channel: string, notices: readonly (Notice & { id: string })[]): Promise<number> {
  if (notices.length === 0) return 0;
  return tx.$executeRawUnsafe(
    `INSERT INTO notifications (id, order_id, customer_id, status, channel, message)
     SELECT n.id, n.order_id, n.customer_id, n.status, $1, n.message
       FROM unnest($2::uuid[], $3::uuid[], $6::text[], $4::text[], $5::text[]) AS n(id, order_id, customer_id, status, message)
     ON CONFLICT (order_id, status) DO NOTHING`,
    channel,
    notices.map((n) => n.id),
    notices.map((n) => n.orderId),
    notices.map((n) => n.status),
    notices.map((n) => n.message),
    notices.map((n) => n.customerId),
  );
}
