// Consumer runner shared by every service: parses the envelope, runs the handler with a
// retry policy, dead-letters what cannot succeed, and only then lets the partition move on.
import type { Consumer, EachBatchPayload, EachMessagePayload, Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { Registry } from 'prom-client';
import { exponentialBackoff, sleep } from '../backoff.ts';
import { AppError, isTransient } from '../errors.ts';
import type { Topic } from '../events/catalog.ts';
import { counter, histogram } from '../http/metrics.ts';
import { runPartitionBatch } from './batch.ts';
import { parseEnvelope } from './parse.ts';
import type { Logger } from '../logger.ts';
import type { BatchItem, MessageHandler, MessageMeta } from './types.ts';
import { dlqFor, ensureTopics } from './kafka.ts';
import { OffsetCommitter } from './offset-committer.ts';
import { traced } from './tracing.ts';

export type { BatchItem, Envelope, HandlerFor, MessageHandler } from './types.ts';

/** Retry policy: transient errors back off exponentially (with jitter) up to `attempts`. */
export interface RetryPolicy {
  baseMs: number;
  capMs: number;
  attempts: number;
}

export interface ConsumerOptions {
  kafka: Kafka;
  groupId: string;
  topics: readonly Topic[];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the service's consume() ties topics to handler; the runner only routes
  handler: MessageHandler<any>;
  logger: Logger;
  registry: Registry;
  retry: RetryPolicy;
  partitions: number;
  partitionsConsumedConcurrently?: number;
  /** How long a dead instance keeps its partitions before the group moves them (broker minimum 6 s). */
  sessionTimeoutMs?: number;
  /** At most this many messages of a partition batch in one call of the handler's batch mode (CONSUMER_BATCH_MAX, 1). */
  maxBatch?: number;
  /** How often handled offsets are committed (CONSUMER_COMMIT_INTERVAL_MS, default 250). */
  commitIntervalMs?: number;
  /**
   * How long the broker holds an empty fetch (CONSUMER_MAX_WAIT_MS, default 1000). It answers as
   * soon as a message arrives, so this costs no latency; it only sets how often an idle consumer
   * asks again (at 50 ms, four idle consumers and the broker burned ~0.7 of a core).
   */
  maxWaitMs?: number;
}

export function readRetryPolicy(env: { int(name: string, fallback: number, o?: { min?: number; max?: number }): number }): RetryPolicy {
  return {
    baseMs: env.int('RETRY_BASE_MS', 100, { min: 1, max: 60_000 }),
    capMs: env.int('RETRY_CAP_MS', 5_000, { min: 1, max: 600_000 }),
    // ~75 s of retries at the defaults: rides out a Postgres restart or a short outage.
    attempts: env.int('RETRY_ATTEMPTS', 20, { min: 1, max: 1_000 }),
  };
}

export interface RunningConsumer {
  stop(): Promise<void>;
}

export async function runConsumer(opts: ConsumerOptions): Promise<RunningConsumer> {
  const { kafka, groupId, logger } = opts;
  const labels = { group: groupId };
  const handled = counter(opts.registry, { name: 'consumer_messages_total', help: 'Messages handled, by outcome', labelNames: ['group', 'outcome'] });
  const retries = counter(opts.registry, { name: 'consumer_retries_total', help: 'Handler retries after transient errors', labelNames: ['group'] });
  const batchSizes = histogram(opts.registry, {
    name: 'consumer_batch_messages',
    help: 'Messages applied together in one call of a batch handler',
    labelNames: ['group'],
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
  });
  // Batches of one are the per-message path kafkajs has for that (eachMessage), not a batch layer around it.
  const maxBatch = opts.maxBatch ?? 1;
  // Every delivery in its spans (a no-op tracer's, unless tracing is configured).
  const handler = traced(opts.handler);
  const batchMode = maxBatch > 1 ? handler.batch : undefined;

  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, [...opts.topics, ...opts.topics.map(dlqFor)], opts.partitions);
  } finally {
    await admin.disconnect();
  }

  const dlq: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await dlq.connect();
  let consumer: Consumer;
  let stopping = false;
  const committer = new OffsetCommitter(() => consumer, opts.commitIntervalMs ?? 250, logger);

  const parse = (topic: string, partition: number, message: KafkaMessage): { item: BatchItem } | { poison: Error } => {
    try {
      const event = parseEnvelope(message, topic);
      const meta: MessageMeta = { consumer: groupId, topic, partition, offset: message.offset };
      const log = logger.child({ correlationId: event.correlationId, eventId: event.id, eventType: event.type, topic, partition, offset: message.offset });
      return { item: { event, meta, log } };
    } catch (error) {
      return { poison: error as Error };
    }
  };

  const handleOne = async (topic: string, partition: number, message: KafkaMessage, heartbeat: () => Promise<void>) => {
    const parsed = parse(topic, partition, message);
    if ('poison' in parsed) {
      await deadLetter(topic, partition, message, parsed.poison, 1);
      return;
    }
    const { event, meta, log } = parsed.item;
    const backoff = exponentialBackoff(opts.retry.baseMs, opts.retry.capMs);
    for (let attempt = 1; ; attempt++) {
      try {
        await handler(event, meta, log);
        handled.inc({ ...labels, outcome: 'ok' });
        return;
      } catch (error) {
        const canRetry = isTransient(error) && attempt < opts.retry.attempts && !stopping;
        if (!canRetry) {
          if (stopping && isTransient(error)) throw error; // leave it uncommitted for the next owner
          await deadLetter(topic, partition, message, error as Error, attempt);
          log.error({ err: (error as Error).message, attempt }, 'message dead-lettered');
          return;
        }
        retries.inc(labels);
        const wait = backoff.next();
        log.warn({ err: (error as Error).message, attempt, retryInMs: wait }, 'transient failure; retrying');
        await sleep(wait);
        await heartbeat().catch(() => undefined);
      }
    }
  };

  const deadLetter = async (topic: string, partition: number, message: KafkaMessage, error: Error, attempts: number) => {
    handled.inc({ ...labels, outcome: 'dead_lettered' });
    await dlq.send({
      topic: dlqFor(topic),
      acks: -1,
      messages: [
        {
          key: message.key,
          value: message.value,
          headers: {
            ...message.headers,
            'dlq-error': error.message.slice(0, 1000),
            'dlq-error-code': error instanceof AppError ? error.code : ((error as { code?: string }).code ?? 'error'),
            'dlq-original-topic': topic,
            'dlq-original-partition': String(partition),
            'dlq-original-offset': message.offset,
            'dlq-attempts': String(attempts),
            'dlq-consumer-group': groupId,
            'dlq-at': new Date().toISOString(),
          },
        },
      ],
    });
  };

  const start = async () => {
    consumer = kafka.consumer({
      groupId,
      sessionTimeout: opts.sessionTimeoutMs ?? 10_000,
      heartbeatInterval: 1_000,
      maxWaitTimeInMs: opts.maxWaitMs ?? 1_000,
      retry: { retries: 10 },
    });
    // kafkajs restarts itself after most failures, but not after all of them (e.g. a broker
    // still down when its own restart runs): then we build a new consumer, until we stop.
    // A crash before the first join is the broker still starting (its group coordinator loading):
    // we or kafkajs restart the consumer, nothing to report. After a join it is an outage worth a line.
    let joined = false;
    consumer.on(consumer.events.GROUP_JOIN, () => (joined = true));
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (stopping) return;
      if (payload.restart) {
        if (joined) logger.warn({ err: payload.error?.message, groupId }, 'consumer crashed; kafkajs restarts it');
        else logger.debug({ err: payload.error?.message, groupId }, 'consumer crashed while joining; kafkajs restarts it');
        return;
      }
      // Before the first join this is the broker still starting (no group coordinator yet): said at debug.
      logger[joined ? 'error' : 'debug']({ err: payload.error?.message, groupId }, 'consumer crashed for good; starting a new one');
      void consumer.disconnect().catch(() => undefined);
      setTimeout(() => void startWithRetry(), 1_000);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [...opts.topics], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      // One partition's in-place retries (e.g. a flaky provider) must not stall the others.
      partitionsConsumedConcurrently: opts.partitionsConsumedConcurrently ?? opts.partitions,
      ...(batchMode
        ? {
            eachBatchAutoResolve: false,
            eachBatch: async (payload: EachBatchPayload) => {
              const { topic, partition } = payload.batch;
              const heartbeat = () => payload.heartbeat();
              await runPartitionBatch({
                messages: payload.batch.messages,
                maxBatch,
                retry: opts.retry,
                logger: logger.child({ topic, partition }),
                parse: (message) => parse(topic, partition, message),
                keyOf: (item) => handler.batchKey?.(item.event),
                batch: async (items) => {
                  await batchMode(items);
                  handled.inc({ ...labels, outcome: 'ok' }, items.length);
                  batchSizes.observe(labels, items.length);
                },
                one: (message) => handleOne(topic, partition, message, heartbeat),
                deadLetter: (message, error) => deadLetter(topic, partition, message, error, 1),
                done: (message) => {
                  payload.resolveOffset(message.offset);
                  committer.done(topic, partition, message.offset);
                },
                heartbeat,
                running: () => payload.isRunning() && !payload.isStale(),
                stopping: () => stopping,
                onRetry: () => retries.inc(labels),
              });
            },
          }
        : {
            eachMessage: async (payload: EachMessagePayload) => {
              const { topic, partition, message } = payload;
              await handleOne(topic, partition, message, () => payload.heartbeat());
              committer.done(topic, partition, message.offset);
            },
          }),
    });
    committer.start();
    logger.info({ groupId, topics: opts.topics }, 'consumer running');
  };
  const startWithRetry = async (): Promise<void> => {
    if (stopping) return;
    await start().catch((error: Error) => {
      logger.warn({ err: error.message, groupId }, 'consumer could not start; retrying');
      setTimeout(() => void startWithRetry(), 2_000);
    });
  };
  try {
    await start();
  } catch (error) {
    // The caller may try again with a new runConsumer: leave nothing connected behind.
    stopping = true;
    await consumer!.disconnect().catch(() => undefined);
    await dlq.disconnect().catch(() => undefined);
    throw error;
  }

  return {
    async stop() {
      stopping = true;
      await committer.stop();
      await consumer.disconnect().catch(() => undefined);
      await dlq.disconnect().catch(() => undefined);
    },
  };
}
