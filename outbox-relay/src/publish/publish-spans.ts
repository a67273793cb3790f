// The relay's part of a trace: for an event whose trace is sampled, a PRODUCER span from its
// decoding to Kafka's acknowledgement, which becomes the parent the consumers continue from. An
// unsampled (or untraced) event gets no span: its trace headers are copied as they are.
import { contextFrom, isSampled, SpanKind, startSpan, tracingEnabled, traceHeaders, type Span } from '@shop/lib/tracing/tracing';
import type { OutboundMessage } from './kafka-publisher.ts';

export class PublishSpans {
  // Keyed by the message object, which stays in this thread (the publisher threads get copies).
  readonly #open = new WeakMap<OutboundMessage, Span>();
  readonly #source: string;

  constructor(source: string) {
    this.#source = source;
  }

  /** Opens the span of a message about to be queued, and points its trace headers at it. */
  start(message: OutboundMessage): void {
    if (!tracingEnabled() || !isSampled(message.traceparent)) return;
    const { span, ctx } = startSpan(`publish ${message.topic}`, contextFrom(message), {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': 'kafka',
        'messaging.operation.type': 'send',
        'messaging.destination.name': message.topic,
        'messaging.kafka.message.key': message.key,
        'event.id': message.eventId,
        'event.type': message.eventType,
        'order.id': message.key,
        'db.system.name': 'postgresql',
        'db.namespace': this.#source,
        'outbox.lsn': message.lsn,
      },
    });
    Object.assign(message, traceHeaders(ctx));
    this.#open.set(message, span);
  }

  /** Kafka acknowledged these: their spans end. */
  acknowledged(batch: readonly OutboundMessage[]): void {
    for (const m of batch) {
      this.#open.get(m)?.end();
      this.#open.delete(m);
    }
  }
}
