// order.events → reserve, release or commit stock. The runner (transactional) owns the
// transaction, the inbox mark, the outbox and the retry after a lost race.
import { assertNever, type InventoryEvent, type OrderEvent } from '@shop/lib/events/catalog';
import type { MessageHandler } from '@shop/lib/messaging/consumer';
import { transactional, type Work } from '@shop/lib/messaging/transactional';
import type { SqlDatabase } from '@shop/lib/db/sql';
import { canSettle, decideReservation, type Line } from '../domain/stock.ts';
import { commitStock, holdStock, markReleased, recordRejection, releaseStock, reservationStatus, stockLevels } from '../db/stock.ts';

const published = (summary: string, event: InventoryEvent) => ({ events: [event], summary });

/** All lines or none (the catalog's schema checked the lines on arrival). */
const reserve =
  (orderId: string, lines: Line[]): Work =>
  async (tx) => {
    const existing = await reservationStatus(tx, orderId);
    const decision = decideReservation(orderId, lines, await stockLevels(tx, lines), existing);
    switch (decision.outcome) {
      case 'ignore':
        return { summary: `reservation ignored: ${decision.why}` };
      case 'reject':
        if (!existing) await recordRejection(tx, orderId);
        return published(`stock rejected: ${decision.event.payload.reason}`, decision.event);
      case 'reserve':
        await holdStock(tx, orderId, decision.lines);
        return published('stock reserved', { type: 'StockReserved', payload: { orderId } });
      default:
        return assertNever(decision);
    }
  };

const release =
  (orderId: string): Work =>
  async (tx) => {
    await markReleased(tx, orderId);
    if (!canSettle(await reservationStatus(tx, orderId))) return { summary: 'nothing reserved to release' };
    await releaseStock(tx, orderId);
    return published('stock released', { type: 'StockReleased', payload: { orderId } });
  };

const commit =
  (orderId: string): Work =>
  async (tx) => {
    if (!canSettle(await reservationStatus(tx, orderId))) return { summary: 'nothing reserved to commit' };
    await commitStock(tx, orderId);
    return published('stock committed', { type: 'StockCommitted', payload: { orderId } });
  };

export function orderEventsHandler(db: SqlDatabase): MessageHandler<OrderEvent> {
  return transactional<OrderEvent>(db, (event) => {
    const { orderId } = event.payload;
    switch (event.type) {
      case 'StockReservationRequested':
        return reserve(orderId, event.payload.items);
      case 'StockReleaseRequested':
        return release(orderId);
      case 'OrderCompleted':
        return commit(orderId);
      case 'OrderCreated':
      case 'PaymentRequested':
      case 'OrderCancelled':
      case 'PaymentCancellationRequested':
        return undefined;
      default:
        return assertNever(event);
    }
  });
}
