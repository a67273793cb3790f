// The types a consumer, its handlers and its runner share (one module, so none of them imports another for a type).
import type { AnyEvent, EventOnTopic, Topic } from '../events/catalog.ts';
import type { EventEnvelope } from '../events/envelope.ts';
import type { Logger } from '../logger.ts';
import type { Context, Span } from '../tracing/tracing.ts';

export interface MessageMeta {
  consumer: string;
  topic: string;
  partition: number;
  offset: string;
  /** This delivery's spans (messaging/tracing.ts): set by the runner before a handler sees it. */
  trace?: MessageTrace;
}

export interface MessageTrace {
  /** The delivery's span… */
  span: Span;
  /** …and its context: the parent of the work for this message (a provider call) and of the events it causes. */
  ctx: Context;
  /** The parent of the transaction this message is applied in (the batch's span, or the message's own). */
  transaction: Context;
}

/** An event as consumers see it: the envelope, narrowed by `type` to one of the events E. */
export type Envelope<E extends AnyEvent = AnyEvent> = EventEnvelope<E['type'], E['payload']> & E;

/** One consumed message of a batch, parsed and checked, with its position and log context. */
export interface BatchItem<E extends AnyEvent = AnyEvent> {
  event: Envelope<E>;
  meta: MessageMeta;
  log: Logger;
}

/**
 * A handler sees only the events of the topics it consumes (the runner checks the topic). One
 * with a `batch` mode gets what a partition fetch brought, in chunks, to apply all at once (or
 * throw having changed nothing); the one-message call remains for isolating a failure.
 */
export type MessageHandler<E extends AnyEvent = AnyEvent> = ((event: Envelope<E>, meta: MessageMeta, log: Logger) => Promise<void>) & {
  batch?: (items: BatchItem<E>[]) => Promise<void>;
  /** For a batch mode that must not see two of these events of one key at once: the key (see runPartitionBatch). */
  batchKey?: (event: Envelope<E>) => string | undefined;
};

/** The handler a consumer of `topics` must supply: one that takes every event those topics carry. */
export type HandlerFor<T extends readonly Topic[]> = MessageHandler<EventOnTopic<T[number]>>;
