// Distributed tracing (OpenTelemetry) through the outbox: a context travels as W3C trace
// headers from the HTTP request into the outbox row (same transaction as the event), from the
// row to the Kafka message (the relay), and from the message into the consumer's spans and the
// events it causes. Contexts are passed explicitly, not through async-local storage: every span
// here has an obvious parent (the request, the message, the batch), and nothing pays for
// context tracking on paths that create no span.
//
// Off unless an OTLP endpoint is configured: the API's tracer is then a no-op whose spans carry
// their parent's context on, so an incoming trace still reaches the next service's spans.
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type TextMapGetter,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, TracerProvider } from '@opentelemetry/sdk-trace';
import type { TracingOptions } from './options.ts';

export { ROOT_CONTEXT, SpanKind, SpanStatusCode, type Context, type Span };

/** The W3C headers a context travels in: in outbox rows' `headers`, in Kafka message headers, in HTTP. */
export interface TraceHeaders {
  traceparent?: string;
  tracestate?: string;
}

const propagator = new W3CTraceContextPropagator();
let provider: TracerProvider | undefined;

/** Starts the SDK when an endpoint is configured; returns what flushes and stops it on shutdown. */
export function startTracing(options: TracingOptions): () => Promise<void> {
  if (!options.tracesUrl || provider) return async () => undefined;
  provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.ratio) }),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url: options.tracesUrl, headers: options.headers }),
        scheduledDelayMillis: options.scheduleDelayMs,
        maxQueueSize: 8_192,
      }),
    ],
  });
  trace.setGlobalTracerProvider(provider);
  const started = provider;
  return () => started.shutdown();
}

/** Whether spans are recorded and exported by this process. */
export const tracingEnabled = (): boolean => provider !== undefined;

export const tracer = (): Tracer => trace.getTracer('shop');

type Carrier = Record<string, unknown>;
const getter: TextMapGetter<Carrier> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const v = carrier[key];
    if (v === undefined || v === null) return undefined;
    const first: unknown = Array.isArray(v) ? v[0] : v;
    return Buffer.isBuffer(first) ? first.toString() : typeof first === 'string' ? first : undefined;
  },
};

/** The context in a carrier (HTTP or Kafka headers, an outbox row's headers); the root context without one. */
export function contextFrom(carrier: object | undefined | null): Context {
  if (!carrier || (carrier as Carrier).traceparent === undefined) return ROOT_CONTEXT;
  return propagator.extract(ROOT_CONTEXT, carrier, getter);
}

/** The headers of a context's span, or undefined when it has none. */
export function traceHeaders(ctx: Context): TraceHeaders | undefined {
  const out: Record<string, string> = {};
  propagator.inject(ctx, out, { set: (_carrier, k, v) => (out[k] = v) });
  return out.traceparent ? { traceparent: out.traceparent, tracestate: out.tracestate } : undefined;
}

/** Whether a traceparent asks for recording (its sampled flag). */
export const isSampled = (traceparent: string | undefined): boolean => traceparent !== undefined && (parseInt(traceparent.slice(-2), 16) & 1) === 1;

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  links?: Link[];
}

/** A span child of `parent`, and the context that has it as parent for what follows. */
export function startSpan(name: string, parent: Context, options: SpanOptions = {}): { span: Span; ctx: Context } {
  const span = tracer().startSpan(name, options, parent);
  return { span, ctx: trace.setSpan(parent, span) };
}

/** Runs `fn` inside a child span of `parent`: an error marks the span and is rethrown. */
export async function inSpan<T>(name: string, parent: Context, options: SpanOptions, fn: (ctx: Context, span: Span) => Promise<T>): Promise<T> {
  const { span, ctx } = startSpan(name, parent, options);
  try {
    return await fn(ctx, span);
  } catch (error) {
    failed(span, error);
    throw error;
  } finally {
    span.end();
  }
}

export function failed(span: Span, error: unknown): void {
  span.recordException(error as Error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
}

/** `trace_id` and `span_id` for a log line, when the span is recorded. */
export function logFields(span: Span): { trace_id?: string; span_id?: string } {
  if (!span.isRecording()) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

/** A link to the span of a context (a batch span links each message it applied). */
export function linkTo(ctx: Context, attributes?: Attributes): Link | undefined {
  const sc = trace.getSpanContext(ctx);
  return sc ? { context: sc, attributes } : undefined;
}
