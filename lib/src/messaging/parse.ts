// What a consumed Kafka message must be before any handler sees it: JSON, an envelope of a known
// event type on its own topic, of a version this consumer understands, with a payload that
// matches the catalog's schema. Anything else can never succeed and is dead-lettered.
import type { KafkaMessage } from 'kafkajs';
import { AppError } from '../errors.ts';
import { ENVELOPE_VERSION, HEADERS } from '../events/envelope.ts';
import { isKnownEventType, payloadProblem, topicOf } from '../events/catalog.ts';
import type { Envelope } from './consumer.ts';

/** A message that can never succeed (bad JSON, unknown type, invalid payload): dead-letter it. */
export class PoisonMessageError extends AppError {
  constructor(message: string) {
    super('poison_message', message, { canRetry: false });
  }
}

export function parseEnvelope(message: KafkaMessage, topic: string): Envelope {
  let value: Partial<Envelope>;
  try {
    value = JSON.parse(message.value?.toString() ?? '') as Partial<Envelope>;
  } catch {
    throw new PoisonMessageError('message value is not JSON');
  }
  if (!value || typeof value !== 'object') throw new PoisonMessageError('message value is not an object');
  if (typeof value.id !== 'string' || !/^[0-9a-f-]{36}$/i.test(value.id)) throw new PoisonMessageError('envelope has no valid id');
  if (typeof value.type !== 'string' || !isKnownEventType(value.type)) throw new PoisonMessageError(`unknown event type ${JSON.stringify(value.type)}`);
  if (topicOf(value.type) !== topic) throw new PoisonMessageError(`${value.type} does not belong on ${topic}`);
  if (typeof value.version !== 'number' || !Number.isInteger(value.version) || value.version < 1) throw new PoisonMessageError('envelope has no valid version');
  if (value.version > ENVELOPE_VERSION)
    throw new PoisonMessageError(`${value.type} version ${value.version} is newer than this consumer understands (${ENVELOPE_VERSION})`);
  if (typeof value.aggregateId !== 'string') throw new PoisonMessageError('envelope has no aggregateId');
  const problem = payloadProblem(value.type, value.payload);
  if (problem) throw new PoisonMessageError(`invalid ${value.type} payload: ${problem}`);
  // The trace travels in the Kafka headers (the relay's copy of the outbox row's), never in the value.
  const traceparent = message.headers?.[HEADERS.traceparent];
  if (traceparent !== undefined) {
    const tracestate = message.headers?.[HEADERS.tracestate];
    value.trace = { traceparent: String(traceparent), ...(tracestate !== undefined ? { tracestate: String(tracestate) } : {}) };
  } else delete value.trace;
  return value as Envelope;
}
