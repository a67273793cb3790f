// order.events → one notification per terminal status per order (unique key), then delivery.
import { uuidv7 } from 'uuidv7';
import { assertNever, eventEnvelope, type OrderEvent } from '@shop/lib/events/catalog';
import { markProcessed } from '@shop/lib/messaging/inbox';
import type { MessageHandler } from '@shop/lib/messaging/consumer';
import { appendToOutbox } from '@shop/lib/outbox/append';
import { cancelledMessage, completedMessage } from '../domain/message.ts';
import type { SqlDatabase } from '@shop/lib/db/sql';

export type Deliver = (notification: { id: string; orderId: string; status: string; message: string }) => void;

export function orderEventsHandler(db: SqlDatabase, channel: string, deliver: Deliver): MessageHandler<OrderEvent> {
  return async (event, meta, log) => {
    let status: string;
    let message: string;
    switch (event.type) {
      case 'OrderCompleted':
        status = 'COMPLETED';
        message = completedMessage(event.payload.orderId, event.payload.totalCents);
        break;
      case 'OrderCancelled':
        status = 'CANCELLED';
        message = cancelledMessage(event.payload.orderId, event.payload.reason);
        break;
      case 'OrderCreated':
      case 'StockReservationRequested':
      case 'PaymentRequested':
      case 'StockReleaseRequested':
      case 'PaymentCancellationRequested':
        return;
      default:
        return assertNever(event);
    }
    const { orderId } = event.payload;
    const id = uuidv7();
    const created = await db.transaction(async (tx) => {
      if (!(await markProcessed(tx, event, meta))) return false;
      const inserted = await tx.$executeRawUnsafe(
        `INSERT INTO notifications (id, order_id, status, channel, message) VALUES ($1::uuid, $2::uuid, $3, $4, $5) ON CONFLICT (order_id, status) DO NOTHING`,
        id,
        orderId,
        status,
        channel,
        message,
      );
      if (inserted !== 1) return false;
      await appendToOutbox(
        tx,
        eventEnvelope({ type: 'NotificationSent', payload: { orderId, status, channel } }, { aggregateId: orderId, causationId: event.id }),
      );
      return true;
    });
    if (!created) return;
    log.info({ status, channel, message }, 'notification recorded');
    deliver({ id, orderId, status, message });
  };
}
