// An order as clients read it: from the Redis cache when it holds the order's current version,
// from the database otherwise (then cached, fenced by version: lib/cache.ts). Waiting for an
// order to end listens to the status feed first and reads second, so no change is missed.
import type { FencedCache } from '@shop/lib/cache';
import type { Counter } from 'prom-client';
import type { PrismaClient as Db } from '../generated/prisma/client.ts';
import { loadOrderView } from '../db/orders.ts';
import { isTerminal, type OrderStatus } from '../domain/order.ts';
import type { StatusFeed } from './status-feed.ts';

type Row = NonNullable<Awaited<ReturnType<typeof loadOrderView>>>;

/** What an order's HTTP view is made of: a loaded row, or a just-placed order held in memory. */
export type ViewSource = Pick<Row, 'id' | 'customerId' | 'status' | 'cancelReason' | 'currency' | 'createdAt' | 'updatedAt'> & {
  totalCents: bigint | number | null;
  items: { sku: string; quantity: number; unitPriceCents?: bigint | number | null }[];
  history?: Row['history'];
};

export function toView(o: ViewSource) {
  return {
    orderId: o.id,
    customerId: o.customerId,
    status: o.status,
    reason: o.cancelReason,
    currency: o.currency,
    // Null until inventory priced the order (when it reserved the stock).
    totalCents: o.totalCents === null ? null : Number(o.totalCents),
    items: o.items.map((i) => ({ sku: i.sku, quantity: i.quantity, unitPriceCents: i.unitPriceCents == null ? null : Number(i.unitPriceCents) })),
    history: o.history?.map((h) => ({
      status: h.status,
      reason: h.reason,
      cause: h.causeType,
      causeEventId: h.causeEventId,
      actor: h.actor,
      at: h.at.toISOString(),
    })),
    createdAt: o.createdAt.toISOString(),
    updatedAt: o.updatedAt.toISOString(),
  };
}

export type OrderView = ReturnType<typeof toView>;
/** A cached order: its view and the row version it was read at. */
export interface VersionedView {
  version: number;
  view: OrderView;
}

export interface OrderReaderOptions {
  prisma: Db;
  cache: FencedCache<VersionedView>;
  feed: StatusFeed;
  /** How long an open order's entry may live (bounds a missed fence); a terminal order never changes again. */
  openTtlSeconds: number;
  terminalTtlSeconds: number;
  /** Counts the reads that reached the database. */
  databaseReads: Counter;
}

export class OrderReader {
  readonly #o: OrderReaderOptions;

  constructor(options: OrderReaderOptions) {
    this.#o = options;
  }

  async read(id: string): Promise<VersionedView | undefined> {
    const hit = await this.#o.cache.get(id);
    if (hit) return hit;
    this.#o.databaseReads.inc();
    const row = await loadOrderView(this.#o.prisma, id);
    if (!row) return undefined;
    const entry = { version: row.version, view: toView(row) };
    await this.put(id, entry);
    return entry;
  }

  /** Caches what a writer knows to be the order at `version` (a placed order: version 0), unless the cache is newer. */
  put(id: string, entry: VersionedView): Promise<void> {
    const ttl = isTerminal(entry.view.status as OrderStatus) ? this.#o.terminalTtlSeconds : this.#o.openTtlSeconds;
    return this.#o.cache.fill(id, entry.version, entry, ttl);
  }

  /**
   * The order once it is terminal, or as it is when `timeoutMs` runs out. Rechecks every
   * `recheckMs` as well, so a status push lost while Redis was down delays the answer, never loses it.
   */
  async waitTerminal(id: string, timeoutMs: number, recheckMs: number, signal?: AbortSignal): Promise<VersionedView | undefined> {
    // A terminal push that lands while a read is in flight is remembered, not lost to the recheck.
    let ended = false;
    let wake: () => void = () => undefined;
    const stop = this.#o.feed.watch(id, (n) => {
      if (!isTerminal(n.status)) return;
      ended = true;
      wake();
    });
    // The client went away: stop waiting now, not when the timeout runs out.
    const onAbort = () => wake();
    signal?.addEventListener('abort', onAbort);
    try {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const entry = await this.read(id);
        if (!entry || isTerminal(entry.view.status as OrderStatus) || Date.now() >= deadline || signal?.aborted) return entry;
        if (ended) {
          ended = false; // the push came during the read: read again now (the entry is fenced), once
          continue;
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(recheckMs, deadline - Date.now()));
          wake = () => (clearTimeout(timer), resolve());
        });
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      stop();
    }
  }
}
