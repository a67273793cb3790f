// order.events → reserve, release or commit stock, a fetched batch at a time: one load of every
// reservation and product the batch names, the rules applied event by event over that state
// (domain/stock.ts), one set-based write. The runner (batchDecider) owns the transaction, the
// inbox mark, the outbox and the retry after a lost race.
import { assertNever, type OrderEvent } from '@shop/lib/events/catalog';
import type { Envelope, MessageHandler } from '@shop/lib/messaging/consumer';
import { batchDecider, outcomeOf } from '@shop/lib/messaging/transactional';
import type { SqlDatabase } from '@shop/lib/db/sql';
import { commit, release, reserve, type Step, type StockBook } from '../domain/stock.ts';
import { loadBook, storeBook } from '../db/stock.ts';

/** The step an event means for the stock, or undefined when inventory does nothing with it. */
function stepOf(event: Envelope<OrderEvent>): ((book: StockBook) => Step) | undefined {
  const { orderId } = event.payload;
  switch (event.type) {
    case 'OrderCreated':
      return (book) => reserve(book, orderId, event.payload);
    case 'StockReleaseRequested':
      return (book) => release(book, orderId);
    case 'OrderCompleted':
      return (book) => commit(book, orderId);
    case 'PaymentRequested':
    case 'OrderCancelled':
    case 'PaymentCancellationRequested':
      return undefined;
    default:
      return assertNever(event);
  }
}

/**
 * `stockMoved` hears, after each commit, the products it changed and their new versions (the
 * product cache is fenced with them).
 */
export function orderEventsHandler(
  db: SqlDatabase,
  stockMoved: (products: { key: string; version: number }[]) => Promise<void>,
  onLostRace?: () => void,
): MessageHandler<OrderEvent> {
  return batchDecider<OrderEvent, StockBook>(
    db,
    {
      handles: (event) => stepOf(event) !== undefined,
      load: (tx, events) =>
        loadBook(
          tx,
          events.map((e) => e.payload.orderId),
          events.flatMap((e) => (e.type === 'OrderCreated' ? e.payload.items.map((l) => l.sku) : [])),
        ),
      apply: (book, event) => outcomeOf(stepOf(event)!(book)),
      store: storeBook,
      // storeBook wrote each changed product at the version it was loaded at + 1.
      committed: (book) => stockMoved([...book.changedProducts].map((sku) => ({ key: sku, version: book.products.get(sku)!.version + 1 }))),
    },
    { onLostRace },
  );
}
