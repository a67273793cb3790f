// Offsets are committed on a timer, not by kafkajs after each batch: its runner awaits an
// OffsetCommit round trip after every non-empty partition batch (whatever autoCommitInterval
// says), which added tens of milliseconds to every hop of the workflow. What was handled is in
// the inbox, so a crash between two commits only redelivers messages that are then skipped.
import type { Consumer } from 'kafkajs';
import type { Logger } from '../logger.ts';

interface TopicPartitionOffset {
  topic: string;
  partition: number;
  offset: string;
}

export class OffsetCommitter {
  private readonly pending = new Map<string, TopicPartitionOffset>();
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;

  /** The consumer to commit through (it is rebuilt after a fatal crash). */
  private readonly consumer: () => Consumer;
  private readonly intervalMs: number;
  private readonly logger: Logger;

  constructor(consumer: () => Consumer, intervalMs: number, logger: Logger) {
    this.consumer = consumer;
    this.intervalMs = intervalMs;
    this.logger = logger;
  }

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.intervalMs);
  }

  /** The message at `offset` is done (handled or dead-lettered): the partition may move past it. */
  done(topic: string, partition: number, offset: string): void {
    this.pending.set(`${topic}\0${partition}`, { topic, partition, offset: (BigInt(offset) + 1n).toString() });
  }

  async flush(): Promise<void> {
    await this.flushing;
    if (this.pending.size === 0) return;
    const batch = [...this.pending.values()];
    this.pending.clear();
    this.flushing = this.consumer()
      .commitOffsets(batch)
      .catch((error: Error) => {
        // Put them back unless a newer offset of the same partition arrived meanwhile.
        for (const o of batch) if (!this.pending.has(`${o.topic}\0${o.partition}`)) this.pending.set(`${o.topic}\0${o.partition}`, o);
        this.logger.warn({ err: error.message, partitions: batch.length }, 'offset commit failed; will retry');
      })
      .finally(() => (this.flushing = undefined));
    await this.flushing;
  }

  /** Last commit before the consumer leaves its group. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}
