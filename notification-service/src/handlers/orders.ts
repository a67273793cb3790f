// order.events → one notification per terminal status per order (unique key), handed to its
// delivery once committed. The runner owns the transaction, the inbox mark and the outbox.
import { uuidv7 } from 'uuidv7';
import { assertNever, type OrderEvent } from '@shop/lib/events/catalog';
import type { MessageHandler } from '@shop/lib/messaging/consumer';
import { transactional, type Work } from '@shop/lib/messaging/transactional';
import type { SqlDatabase } from '@shop/lib/db/sql';
import { cancelledMessage, completedMessage } from '../domain/message.ts';
import { recordNotification } from '../db/notifications.ts';

export type Deliver = (notification: { id: string; orderId: string; status: string; message: string }) => void;

export function orderEventsHandler(db: SqlDatabase, channel: string, deliver: Deliver): MessageHandler<OrderEvent> {
  const notify =
    (orderId: string, status: string, message: string): Work =>
    async (tx) => {
      const id = uuidv7();
      if (!(await recordNotification(tx, { id, orderId, status, channel, message }))) return { summary: 'notification exists already' };
      return {
        events: [{ type: 'NotificationSent', payload: { orderId, status, channel } }],
        summary: `notification recorded (${status}, ${channel}): ${message}`,
        afterCommit: () => deliver({ id, orderId, status, message }),
      };
    };
  return transactional<OrderEvent>(db, (event) => {
    switch (event.type) {
      case 'OrderCompleted':
        return notify(event.payload.orderId, 'COMPLETED', completedMessage(event.payload.orderId, event.payload.totalCents));
      case 'OrderCancelled':
        return notify(event.payload.orderId, 'CANCELLED', cancelledMessage(event.payload.orderId, event.payload.reason));
      case 'OrderCreated':
      case 'PaymentRequested':
      case 'StockReleaseRequested':
      case 'PaymentCancellationRequested':
        return undefined;
      default:
        return assertNever(event);
    }
  });
}
