// The one mapping between an event envelope and an outbox row, used by both ends: services
// append rows (append.ts), the relay turns the rows the WAL brings back into envelopes.
import { ENVELOPE_VERSION, type EventEnvelope } from '../events/envelope.ts';

/** What the `headers` jsonb column holds: the envelope fields that have no column of their own. */
export interface OutboxHeaders {
  correlationId?: string;
  causationId?: string | null;
  version?: number;
  /** W3C trace context of the change that wrote the row (tracing/tracing.ts). */
  traceparent?: string;
  tracestate?: string;
}

/** An outbox row as its columns are named; `P` is the payload as the reader has it (object, or jsonb text). */
export interface OutboxRow<P = unknown> {
  id: string;
  aggregate_type: string;
  aggregate_id: string;
  type: string;
  payload: P;
  headers: OutboxHeaders | null;
  /** ISO timestamp (the envelope's occurredAt). */
  created_at: string;
}

export function toOutboxRow(e: EventEnvelope): OutboxRow {
  return {
    id: e.id,
    aggregate_type: e.aggregateType,
    aggregate_id: e.aggregateId,
    type: e.type,
    payload: e.payload,
    headers: { correlationId: e.correlationId, causationId: e.causationId, version: e.version, ...e.trace },
    created_at: e.occurredAt,
  };
}

/**
 * The envelope of a row, without its payload (the relay splices the payload's jsonb text in
 * as Postgres sent it) and without its trace (that travels as Kafka headers). A row written
 * before a header existed gets that header's default.
 */
export function envelopeOf(row: OutboxRow<unknown>, occurredAt = row.created_at): Omit<EventEnvelope, 'payload'> {
  const headers = row.headers ?? {};
  return {
    id: row.id,
    type: row.type,
    aggregateType: row.aggregate_type,
    aggregateId: row.aggregate_id,
    occurredAt,
    correlationId: headers.correlationId ?? row.aggregate_id,
    causationId: headers.causationId ?? null,
    version: headers.version ?? ENVELOPE_VERSION,
  };
}
