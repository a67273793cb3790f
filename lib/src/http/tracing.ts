// A SERVER span per request, child of the caller's `traceparent` when it sends one. Handlers
// reach it as `request.trace` (a context) and hand it to what they write: the outbox rows of
// the request's transaction carry it on, so the consumers' spans join the caller's trace.
import type { FastifyInstance } from 'fastify';
import { contextFrom, logFields, SpanKind, SpanStatusCode, startSpan, type Context, type Span } from '../tracing/tracing.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The context of this request's span: the parent of whatever the request causes. */
    trace: Context;
    traceSpan: Span;
  }
}

const UNTRACED = new Set(['/metrics', '/healthz', '/readyz']);

export function traceRequests(app: FastifyInstance): void {
  app.decorateRequest('trace', null as unknown as Context);
  app.decorateRequest('traceSpan', null as unknown as Span);
  app.addHook('onRequest', async (request) => {
    const route = request.routeOptions.url ?? 'unknown';
    const parent = contextFrom(request.headers);
    if (UNTRACED.has(route)) {
      request.trace = parent;
      return;
    }
    const { span, ctx } = startSpan(`${request.method} ${route}`, parent, {
      kind: SpanKind.SERVER,
      attributes: { 'http.request.method': request.method, 'http.route': route, 'url.path': request.url.split('?')[0] },
    });
    request.trace = ctx;
    request.traceSpan = span;
    const ids = logFields(span);
    if (ids.trace_id) request.log = request.log.child(ids);
  });
  app.addHook('onResponse', async (request, reply) => {
    const span = request.traceSpan;
    if (!span) return;
    span.setAttribute('http.response.status_code', reply.statusCode);
    if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  });
}
