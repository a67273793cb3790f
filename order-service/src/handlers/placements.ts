// Group commit for POST /orders: the placements that arrive while earlier ones are being
// written go to the database together, as one statement and one commit (db/orders.ts,
// insertOrders), as Postgres' own group commit does for WAL flushes. At low load a placement
// finds nothing in flight and is written at once, alone: no added latency. Each request still
// gets its own answer: an order whose Idempotency-Key is taken is answered `key_taken` alone,
// and when a grouped statement fails, every order of it is written again alone, so one bad
// order never fails the others and each gets the error that is its own.
import type { Registry } from 'prom-client';
import type { SqlDatabase } from '@shop/lib/db/sql';
import { counter, prom } from '@shop/lib/http/metrics';
import { insertOrders, type Inserted, type NewOrder } from '../db/orders.ts';

export interface PlacementOptions {
  /** Statements in flight at once; the placements that arrive meanwhile wait and go together. */
  statements: number;
  /** Orders per statement at most. */
  maxBatch: number;
  /** How long a placement that finds a statement free waits for others to join it (0: not at all). */
  lingerMs: number;
}

interface Pending {
  order: NewOrder;
  resolve: (inserted: Inserted) => void;
  reject: (error: unknown) => void;
}

export class Placements {
  readonly #db: SqlDatabase;
  readonly #opts: PlacementOptions;
  readonly #batchSize: prom.Histogram;
  readonly #alone: prom.Counter;
  #queue: Pending[] = [];
  #inFlight = 0;
  #lingering: NodeJS.Timeout | undefined;

  constructor(db: SqlDatabase, registry: Registry, opts: PlacementOptions) {
    this.#db = db;
    this.#opts = opts;
    this.#batchSize = new prom.Histogram({
      name: 'order_placement_batch_size',
      help: 'Orders written by one placement statement',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128],
      registers: [registry],
    });
    this.#alone = counter(registry, {
      name: 'order_placement_retried_alone_total',
      help: 'Orders written again on their own after the grouped statement they were in failed',
      labelNames: [],
    });
  }

  /** Inserts one order (with the others waiting beside it): its timestamps, or `key_taken`. */
  insert(order: NewOrder): Promise<Inserted> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ order, resolve, reject });
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#inFlight < this.#opts.statements && this.#queue.length > 0) {
      if (this.#opts.lingerMs > 0 && this.#queue.length < this.#opts.maxBatch) {
        this.#lingering ??= setTimeout(() => {
          this.#lingering = undefined;
          this.#send();
          this.#pump();
        }, this.#opts.lingerMs);
        return;
      }
      this.#send();
    }
  }

  // Called with a placement waiting: only #send takes from the queue, and it clears the timer.
  #send(): void {
    clearTimeout(this.#lingering);
    this.#lingering = undefined;
    const batch = this.#queue.splice(0, this.#opts.maxBatch);
    this.#inFlight++;
    void this.#write(batch).finally(() => {
      this.#inFlight--;
      this.#pump();
    });
  }

  async #write(batch: Pending[]): Promise<void> {
    this.#batchSize.observe(batch.length);
    try {
      const results = await insertOrders(
        this.#db,
        batch.map((p) => p.order),
      );
      batch.forEach((p, n) => p.resolve(results[n]));
    } catch (error) {
      if (batch.length === 1) return batch[0].reject(error);
      this.#alone.inc(batch.length);
      await Promise.all(batch.map((p) => insertOrders(this.#db, [p.order]).then(([inserted]) => p.resolve(inserted), p.reject)));
    }
  }
}
