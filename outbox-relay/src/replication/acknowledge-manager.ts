import type { Lsn } from './lsn.ts';

/** One committed transaction's outbox rows, in commit order. */
export interface CommittedTransaction<M> {
  /** End of the commit record: the position a subscriber reports once the transaction is done. */
  commitEndLsn: Lsn;
  /** Commit time in ms since the epoch (for lag and event-age figures). */
  commitTimeMs: number;
  messages: M[];
}

interface Tracked<M> extends CommittedTransaction<M> {
  /** Messages of this transaction handed out for publishing. */
  taken: number;
  /** Messages of this transaction that Kafka acknowledged. */
  done: number;
}

/**
 * Decides which WAL position may be confirmed to the slot: the commit end of the newest
 * transaction such that it and every transaction before it were fully acknowledged by Kafka.
 * A transaction split across batches is confirmed only when its last message is acknowledged,
 * so a crash in the middle replays the whole transaction (duplicates, never loss).
 *
 * Pure bookkeeping, no I/O: the stream feeds it commits and Kafka results.
 */
export class AcknowledgeManager<M> {
  private readonly queue: Tracked<M>[] = [];
  private pendingMessages = 0;
  private confirmed: Lsn;

  constructor(startLsn: Lsn) {
    this.confirmed = startLsn;
  }

  /** The position that is safe to confirm to the slot. */
  get confirmedLsn(): Lsn {
    return this.confirmed;
  }

  /** Messages received (committed) but not yet acknowledged by Kafka. */
  get pending(): number {
    return this.pendingMessages;
  }

  get isIdle(): boolean {
    return this.queue.length === 0;
  }

  /** Commit time of the oldest transaction not yet fully published (undefined when idle). */
  get oldestPendingCommitTimeMs(): number | undefined {
    return this.queue[0]?.commitTimeMs;
  }

  committed(tx: CommittedTransaction<M>): void {
    if (tx.commitEndLsn <= this.confirmed) return; // replayed after a reconnect: already confirmed
    if (tx.messages.length === 0) {
      // A transaction with no outbox rows still moves the position, once everything before it is done.
      this.queue.push({ ...tx, taken: 0, done: 0 });
      this.advance();
      return;
    }
    this.queue.push({ ...tx, taken: 0, done: 0 });
    this.pendingMessages += tx.messages.length;
  }

  /**
   * Hands out up to `max` messages in commit order, each with the transaction it belongs to,
   * stopping before `maxBytes` (by `sizeOf`) would be exceeded — always at least one message.
   * Call `acknowledged(batch)` after Kafka accepted all of them.
   */
  take(max: number, maxBytes = Infinity, sizeOf: (message: M) => number = () => 0): { tx: Tracked<M>; message: M }[] {
    const batch: { tx: Tracked<M>; message: M }[] = [];
    let bytes = 0;
    for (const tx of this.queue) {
      while (tx.taken < tx.messages.length && batch.length < max) {
        const message = tx.messages[tx.taken];
        bytes += sizeOf(message);
        if (bytes > maxBytes && batch.length > 0) return batch;
        batch.push({ tx, message });
        tx.taken++;
      }
      if (batch.length >= max) break;
    }
    return batch;
  }

  /** Puts a failed batch back, so the next `take` hands the same messages out again. */
  failed(batch: { tx: Tracked<M> }[]): void {
    for (const { tx } of batch) tx.taken = tx.done;
  }

  acknowledged(batch: { tx: Tracked<M> }[]): void {
    for (const { tx } of batch) tx.done++;
    this.pendingMessages -= batch.length;
    this.advance();
  }

  /**
   * With nothing in flight, a keepalive position may be confirmed too, so an idle database's
   * slot does not hold back WAL that other databases generate.
   */
  idleAt(lsn: Lsn): boolean {
    if (!this.isIdle || lsn <= this.confirmed) return false;
    this.confirmed = lsn;
    return true;
  }

  private advance(): void {
    while (this.queue.length > 0 && this.queue[0].done === this.queue[0].messages.length) {
      this.confirmed = this.queue.shift()!.commitEndLsn;
    }
  }
}
