// The consumer's part of a trace. Each delivery gets a CONSUMER span, child of the context its
// Kafka headers carry, so one order's trace runs on through every service; the events it causes
// carry that span's context on. A batch applied in one transaction also gets a span of its own,
// linked to each message (and each message's span links back to it); the transaction is its
// child, or the message's when the batch is one message.
import type { AnyEvent } from '../events/catalog.ts';
import { contextFrom, failed, linkTo, logFields, ROOT_CONTEXT, SpanKind, startSpan, traceHeaders, type TraceHeaders } from '../tracing/tracing.ts';
import type { BatchItem, MessageHandler, MessageMeta } from './types.ts';

const messageAttributes = (event: BatchItem['event'], meta: MessageMeta) => ({
  'messaging.system': 'kafka',
  'messaging.operation.type': 'process',
  'messaging.destination.name': meta.topic,
  'messaging.destination.partition.id': String(meta.partition),
  'messaging.kafka.offset': Number(meta.offset),
  'messaging.consumer.group.name': meta.consumer,
  'messaging.message.id': event.id,
  'event.id': event.id,
  'event.type': event.type,
  'order.id': event.aggregateId,
});

/** Opens the spans of one attempt at `items`; `end` closes them (after the outcome is known). */
function open(items: BatchItem[]): { end(error?: unknown): void } {
  const parents = items.map((i) => contextFrom(i.event.trace));
  const batch =
    items.length > 1
      ? startSpan(`${items[0].meta.topic} process`, ROOT_CONTEXT, {
          kind: SpanKind.CONSUMER,
          attributes: { 'messaging.system': 'kafka', 'messaging.operation.type': 'process', 'messaging.batch.message_count': items.length },
          links: parents.flatMap((p) => {
            const l = linkTo(p);
            return l ? [l] : [];
          }),
        })
      : undefined;
  const batchLink = batch ? linkTo(batch.ctx) : undefined;
  items.forEach((item, n) => {
    const { span, ctx } = startSpan(`${item.event.type} process`, parents[n], {
      kind: SpanKind.CONSUMER,
      attributes: messageAttributes(item.event, item.meta),
      links: batchLink ? [batchLink] : [],
    });
    item.meta.trace = { span, ctx, transaction: batch?.ctx ?? ctx };
    const ids = logFields(span);
    if (ids.trace_id) item.log = item.log.child(ids);
  });
  return {
    end(error) {
      for (const item of items) {
        const span = item.meta.trace?.span;
        if (!span) continue;
        if (error !== undefined) failed(span, error);
        span.end();
      }
      if (batch) {
        if (error !== undefined) failed(batch.span, error);
        batch.span.end();
      }
    },
  };
}

/** Every call of `handler` (one message or a batch) inside the spans of its deliveries. */
export function traced<E extends AnyEvent>(handler: MessageHandler<E>): MessageHandler<E> {
  const around = async (items: BatchItem<E>[], run: () => Promise<void>) => {
    const spans = open(items);
    try {
      await run();
      spans.end();
    } catch (error) {
      spans.end(error);
      throw error;
    }
  };
  const one: MessageHandler<E> = (event, meta, log) => {
    const item = { event, meta, log };
    return around([item], () => handler(event, meta, item.log));
  };
  const batch = handler.batch;
  if (batch) one.batch = (items) => around(items, () => batch(items));
  one.batchKey = handler.batchKey;
  return one;
}

/** The trace headers of the events a delivery causes. */
export const causedTrace = (meta: MessageMeta): TraceHeaders | undefined => (meta.trace ? traceHeaders(meta.trace.ctx) : undefined);

/** Marks a delivery that the inbox had seen already: its span says `duplicate`. */
export const markDuplicate = (meta: MessageMeta): void => void meta.trace?.span.setAttribute('duplicate', true);
