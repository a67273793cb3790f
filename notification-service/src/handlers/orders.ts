// order.events → one notification per terminal status per order (unique key), handed to its
// delivery once committed. A fetched batch is one transaction: one read of which notifications
// exist, the notices decided in partition order, one insert of the new ones.
import { uuidv7 } from 'uuidv7';
import type { OrderEvent } from '@shop/lib/events/catalog';
import type { MessageHandler } from '@shop/lib/messaging/consumer';
import { batchDecider, LostRaceError } from '@shop/lib/messaging/transactional';
import type { SqlDatabase } from '@shop/lib/db/sql';
import { noticeOf, type Notice } from '../domain/message.ts';
import { loadNotified, recordNotifications } from '../db/notifications.ts';

export type Deliver = (notification: { id: string; orderId: string; status: string; message: string }) => void;

interface Book {
  /** `orderId:status` of every notification that exists, or is new in this batch. */
  notified: Set<string>;
  fresh: (Notice & { id: string })[];
}

export function orderEventsHandler(db: SqlDatabase, channel: string, deliver: Deliver): MessageHandler<OrderEvent> {
  return batchDecider<OrderEvent, Book>(db, {
    handles: (event) => noticeOf(event) !== undefined,
    load: async (tx, events) => ({ notified: await loadNotified(tx, [...new Set(events.map((e) => e.aggregateId))]), fresh: [] }),
    apply: (book, event) => {
      const notice = noticeOf(event)!;
      const key = `${notice.orderId}:${notice.status}`;
      if (book.notified.has(key)) return { summary: 'notification exists already' };
      book.notified.add(key);
      book.fresh.push({ ...notice, id: uuidv7() });
      return {
        events: [{ type: 'NotificationSent', payload: { orderId: notice.orderId, status: notice.status, channel } }],
        summary: `notification recorded (${notice.status}, ${channel}): ${notice.message}`,
      };
    },
    store: async (tx, book) => {
      // Another instance (a rebalance moved the partition) recorded one since the read: decide again.
      if ((await recordNotifications(tx, channel, book.fresh)) !== book.fresh.length) throw new LostRaceError('the notifications of an order');
    },
    committed: (book) => {
      for (const n of book.fresh) deliver(n);
    },
  });
}
