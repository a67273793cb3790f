import type { Tx } from '@shop/lib/db/prisma';

/** Records one notification per order and status; false when that one exists already (the unique key). */
export async function recordNotification(tx: Tx, n: { id: string; orderId: string; status: string; channel: string; message: string }): Promise<boolean> {
  const inserted = await tx.$executeRawUnsafe(
    `INSERT INTO notifications (id, order_id, status, channel, message) VALUES ($1::uuid, $2::uuid, $3, $4, $5) ON CONFLICT (order_id, status) DO NOTHING`,
    n.id,
    n.orderId,
    n.status,
    n.channel,
    n.message,
  );
  return inserted === 1;
}
