// What clients waiting on an order hear, and what keeps the order cache honest. After every
// transaction that changes orders commits, `committed` fences the cached views of those orders
// at their new versions (lib/cache.ts) and publishes each new status on one Redis channel. Every
// instance subscribes to that channel, so a client connected to instance A hears a change made
// by instance B (its consumer, its sweeper or its cancel route).
import type { Redis } from 'ioredis';
import type { FencedCache } from '@shop/lib/cache';
import type { Logger } from '@shop/lib/logger';
import type { StoredStatus } from '../db/orders.ts';

const CHANNEL = 'order-status';

export type StatusNotice = StoredStatus;
type Listener = (notice: StatusNotice) => void;

export class StatusFeed {
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #cache: Pick<FencedCache<unknown>, 'fence'>;
  readonly #logger: Logger;
  readonly #listeners = new Map<string, Set<Listener>>();

  constructor(redis: Redis, cache: Pick<FencedCache<unknown>, 'fence'>, logger: Logger) {
    this.#publisher = redis;
    this.#cache = cache;
    this.#logger = logger;
    // A connection in subscriber mode can do nothing else: its own, with an offline queue so the
    // subscription is made again after a reconnect.
    this.#subscriber = redis.duplicate({ enableOfflineQueue: true });
    this.#subscriber.on('error', () => undefined); // the publisher's connection logs Redis being down
    this.#subscriber.on('message', (_channel: string, text: string) => this.#dispatch(text));
    // On every (re)connect: ioredis restores only subscriptions that once succeeded, so one that
    // failed while Redis was down at start would otherwise never be made.
    const subscribe = () =>
      void this.#subscriber.subscribe(CHANNEL).catch((error: Error) => logger.warn({ err: error.message }, 'status feed: cannot subscribe yet'));
    this.#subscriber.on('ready', subscribe);
  }

  /** After the commit of a transaction that changed these orders. Never throws: Redis down loses only the push. */
  async committed(stored: readonly StoredStatus[]): Promise<void> {
    if (stored.length === 0) return;
    await this.#cache.fence(stored.map((s) => ({ key: s.orderId, version: s.version })));
    const pipeline = this.#publisher.pipeline();
    for (const s of stored) pipeline.publish(CHANNEL, JSON.stringify(s));
    await pipeline.exec().catch((error: Error) => this.#logger.warn({ err: error.message }, 'status feed: publish failed'));
  }

  /** Calls `listener` with every status change of the order, from now on, until the returned function is called. */
  watch(orderId: string, listener: Listener): () => void {
    let set = this.#listeners.get(orderId);
    if (!set) this.#listeners.set(orderId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.#listeners.delete(orderId);
    };
  }

  /** How many clients wait on some order on this instance (a gauge). */
  get watchers(): number {
    let n = 0;
    for (const set of this.#listeners.values()) n += set.size;
    return n;
  }

  async close(): Promise<void> {
    await this.#subscriber.quit().catch(() => this.#subscriber.disconnect());
  }

  #dispatch(text: string): void {
    let notice: StatusNotice;
    try {
      notice = JSON.parse(text) as StatusNotice;
    } catch {
      return;
    }
    for (const listener of this.#listeners.get(notice.orderId) ?? []) listener(notice);
  }
}
