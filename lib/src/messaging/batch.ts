// A fetched partition batch, applied in chunks of at most `maxBatch` messages, each chunk in one
// call of the handler's batch mode (one transaction for the transactional runner). Per-key order
// holds: a chunk is handled in partition order, a poison message that cannot even be parsed is
// dead-lettered between chunks, and a chunk that fails for good is re-run one message at a time,
// so only the message that cannot succeed goes to the dead-letter topic and the rest commit.
import type { KafkaMessage } from 'kafkajs';
import { exponentialBackoff, sleep } from '../backoff.ts';
import { isTransient } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { RetryPolicy } from './consumer.ts';

export interface PartitionBatch<Item> {
  messages: KafkaMessage[];
  maxBatch: number;
  retry: RetryPolicy;
  logger: Logger;
  /** The item to handle, or the reason the message can never be handled. */
  parse(message: KafkaMessage): { item: Item } | { poison: Error };
  /** A key a chunk holds at most one item of (see below); undefined: no such limit for this item. */
  keyOf(item: Item): string | undefined;
  /** Handles every item of a chunk at once, or throws and has changed nothing. */
  batch(items: Item[]): Promise<void>;
  /** The one-message path with its own retries and dead-lettering. */
  one(message: KafkaMessage): Promise<void>;
  deadLetter(message: KafkaMessage, error: Error): Promise<void>;
  /** The message is done: the partition may move past it. */
  done(message: KafkaMessage): void;
  heartbeat(): Promise<void>;
  /** False once the consumer stops or the batch went stale (a rebalance): leave the rest. */
  running(): boolean;
  stopping(): boolean;
  onRetry(): void;
}

export async function runPartitionBatch<Item>(b: PartitionBatch<Item>): Promise<void> {
  let chunk: { message: KafkaMessage; item: Item }[] = [];
  let keys = new Set<string>();
  const flush = async () => {
    if (chunk.length > 0) {
      await applyChunk(b, chunk);
      // kafkajs heartbeats by itself only between eachBatch calls; a long batch must do it.
      await b.heartbeat().catch(() => undefined);
    }
    chunk = [];
    keys = new Set();
  };
  for (const message of b.messages) {
    if (!b.running()) return;
    const parsed = b.parse(message);
    if ('poison' in parsed) {
      await flush();
      await b.deadLetter(message, parsed.poison);
      b.done(message);
      continue;
    }
    // A second keyed message of the same order starts a new chunk: a handler that prepares every
    // item of a chunk before any of them is applied (a payment provider call) must not prepare a
    // later message of an order before the earlier one has been applied.
    const key = b.keyOf(parsed.item);
    if (key !== undefined && keys.has(key)) await flush();
    chunk.push({ message, item: parsed.item });
    if (key !== undefined) keys.add(key);
    if (chunk.length >= b.maxBatch) await flush();
  }
  if (b.running()) await flush();
}

async function applyChunk<Item>(b: PartitionBatch<Item>, chunk: { message: KafkaMessage; item: Item }[]): Promise<void> {
  const backoff = exponentialBackoff(b.retry.baseMs, b.retry.capMs);
  for (let attempt = 1; ; attempt++) {
    try {
      await b.batch(chunk.map((c) => c.item));
      for (const c of chunk) b.done(c.message);
      return;
    } catch (error) {
      const transient = isTransient(error);
      if (transient && b.stopping()) throw error; // leave it uncommitted for the next owner
      if (transient && attempt < b.retry.attempts) {
        b.onRetry();
        const wait = backoff.next();
        b.logger.warn({ err: (error as Error).message, attempt, messages: chunk.length, retryInMs: wait }, 'transient failure of a batch; retrying');
        await sleep(wait);
        await b.heartbeat().catch(() => undefined);
        continue;
      }
      // Permanent, or out of retries: find the message that cannot succeed, commit the others.
      if (chunk.length > 1) b.logger.warn({ err: (error as Error).message, messages: chunk.length }, 'batch failed; handling its messages one at a time');
      for (const c of chunk) {
        if (!b.running()) return;
        await b.one(c.message);
        b.done(c.message);
      }
      return;
    }
  }
}
