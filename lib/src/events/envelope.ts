import { uuidv7 } from 'uuidv7';
import type { TraceHeaders } from '../tracing/tracing.ts';

/** What travels as the Kafka message value (JSON). Consumers dedupe on `id`. */
export interface EventEnvelope<Type extends string = string, Payload = unknown> {
  id: string;
  type: Type;
  aggregateType: string;
  aggregateId: string;
  occurredAt: string;
  correlationId: string;
  causationId: string | null;
  version: number;
  payload: Payload;
  /**
   * The trace this event belongs to (W3C headers): written to the outbox row's headers, sent as
   * Kafka headers, never in the message value. Absent when nothing traced the change.
   */
  trace?: TraceHeaders;
}

/** A domain event as `decide` returns it: what happened, without transport details. */
export interface DomainEvent<Type extends string = string, Payload = unknown> {
  type: Type;
  payload: Payload;
}

/**
 * The version every producer writes today, and the newest a consumer understands: a message of a
 * newer version is dead-lettered (its meaning may have changed), never guessed at. An added
 * optional payload field needs no new version; consumers accept fields they do not know.
 */
export const ENVELOPE_VERSION = 1;

export const newEventId = (): string => uuidv7();

/**
 * Wraps a domain event for the outbox. The aggregate is the order for every event of an order's
 * life, so the Kafka key (aggregateId) keeps them in order on one partition.
 */
export function envelope<E extends DomainEvent>(
  event: E,
  meta: { aggregateType: string; aggregateId: string; correlationId?: string; causationId?: string | null; now?: Date; trace?: TraceHeaders },
): EventEnvelope<E['type'], E['payload']> {
  return {
    id: newEventId(),
    type: event.type,
    aggregateType: meta.aggregateType,
    aggregateId: meta.aggregateId,
    occurredAt: (meta.now ?? new Date()).toISOString(),
    correlationId: meta.correlationId ?? meta.aggregateId,
    causationId: meta.causationId ?? null,
    version: ENVELOPE_VERSION,
    payload: event.payload,
    ...(meta.trace ? { trace: meta.trace } : {}),
  };
}

/** Kafka header names set by the relay. */
export const HEADERS = {
  eventId: 'event-id',
  eventType: 'event-type',
  correlationId: 'correlation-id',
  source: 'source',
  lsn: 'lsn',
  traceparent: 'traceparent',
  tracestate: 'tracestate',
} as const;
