// Main-thread side of the publisher threads. kafkajs encodes a batch only when it sends it, and
// the idempotent producer allows one request in flight, so one producer alternates between
// encoding and waiting for the broker. Each database's batches are therefore split by key over
// several threads, each with its own producer: a key always goes to the same thread, and a
// stream sends its next batch only when every part of the previous one is acknowledged, so
// per-key order holds. A worker that dies fails what was in flight (the stream retries the batch,
// as after any failed send) and is replaced.
import { Worker } from 'node:worker_threads';
import type { Logger } from '@shop/lib/logger';
import type { OutboundMessage, Publisher } from './kafka-publisher.ts';

export interface PublisherThreadOptions {
  brokers: string[];
  partitions: number;
  /** One publisher per database, in this order (their names go into the `source` header). */
  sources: string[];
  logLevel: string;
}

export type PublisherRequest =
  { id: number; op: 'publish'; index: number; messages: OutboundMessage[] } | { id: number; op: 'reachable'; index: number } | { id: number; op: 'close' };

type Reply = { id: number; ok: true } | { id: number; ok: false; message: string; name: string };

/** Distributes the union over its members, so each request keeps its own fields. */
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/** FNV-1a: a cheap, stable spread of keys over the threads. */
function threadOf(key: string, threads: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % threads;
}

/**
 * Small batches go out from the main thread, big ones through the threads. A hop to a thread and
 * back (structured clone, two event-loop turns, one produce request per thread) costs more than
 * it saves when the WAL brings a few dozen rows at a time: at 5,000 events/s, sending those from
 * the main thread took the lag p99 from 64–70 to 36–50 ms (BENCHMARKS.md). Safe for per-key
 * order because a stream sends its next batch only after every message of the previous one is
 * acknowledged, whichever producer sent it.
 */
export function sizeRouted(inline: Publisher, threaded: Publisher, threadedFrom: number): Publisher {
  return {
    publish: (messages) => (messages.length >= threadedFrom ? threaded : inline).publish(messages),
    isReachable: () => inline.isReachable(),
    close: async () => {
      await Promise.all([inline.close(), threaded.close()]);
    },
  };
}

/** RELAY_PUBLISH_THREADS worker threads, each with one producer per database. */
export class PublisherThreads {
  private readonly threads: PublisherThread[];

  constructor(options: PublisherThreadOptions, count: number, logger: Logger) {
    this.threads = Array.from({ length: count }, (_, i) => new PublisherThread(options, logger.child({ publisherThread: i })));
  }

  publisher(index: number): Publisher {
    const parts = this.threads.map((t) => t.publisher(index));
    return {
      publish: async (messages) => {
        if (parts.length === 1) return parts[0].publish(messages);
        const split = parts.map(() => [] as OutboundMessage[]);
        for (const m of messages) split[threadOf(m.key, parts.length)].push(m);
        // allSettled: a part that failed must not leave another still running when we retry.
        const results = await Promise.allSettled(split.map((list, i) => (list.length > 0 ? parts[i].publish(list) : Promise.resolve())));
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
      },
      isReachable: () => parts[0].isReachable(),
      close: () => this.close(),
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.close()));
  }
}

class PublisherThread {
  private worker!: Worker;
  private nextId = 0;
  private closing = false;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();

  private readonly options: PublisherThreadOptions;
  private readonly logger: Logger;

  constructor(options: PublisherThreadOptions, logger: Logger) {
    this.options = options;
    this.logger = logger;
    this.spawn();
  }

  private spawn(): void {
    const worker = new Worker(new URL('./publisher-thread.ts', import.meta.url), { workerData: this.options });
    worker.on('message', (reply: Reply) => {
      const waiter = this.waiting.get(reply.id);
      if (!waiter) return;
      this.waiting.delete(reply.id);
      if (reply.ok) waiter.resolve();
      else waiter.reject(Object.assign(new Error(reply.message), { name: reply.name }));
    });
    worker.on('error', (error: Error) => this.logger.error({ err: error.message }, 'publisher thread failed'));
    worker.on('exit', (code) => {
      const lost = new Error(`publisher thread exited (${code})`);
      for (const waiter of this.waiting.values()) waiter.reject(lost);
      this.waiting.clear();
      if (!this.closing) {
        this.logger.error({ code }, 'publisher thread exited; starting a new one');
        this.spawn();
      }
    });
    this.worker = worker;
  }

  private call(request: WithoutId<PublisherRequest>): Promise<void> {
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ ...request, id });
    });
  }

  publisher(index: number): Publisher {
    return {
      publish: (messages) => this.call({ op: 'publish', index, messages }),
      isReachable: () => this.call({ op: 'reachable', index }),
      close: () => this.close(),
    };
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.call({ op: 'close' }).catch(() => undefined);
    await this.worker.terminate();
  }
}
