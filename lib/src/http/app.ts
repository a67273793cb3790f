import swagger from '@fastify/swagger';
import { AjvCompiler } from '@fastify/ajv-compiler';
import type { AnySchema } from 'ajv';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifySchemaCompiler } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Registry } from 'prom-client';
import type { Logger } from '../logger.ts';
import { prom } from './metrics.ts';
import { errorHandler, sendProblem } from './problem.ts';
import { traceRequests } from './tracing.ts';
import { withTimeout } from '../timeout.ts';
import { AppError } from '../errors.ts';
import { AUTH_KINDS } from './auth.ts';
import { parseJsonBody, UNHOLDABLE_MESSAGE, unholdableField } from './strict-json.ts';

export type ReadinessCheck = () => Promise<void>;

export interface AppOptions {
  service: string;
  logger: Logger;
  registry: Registry;
  /** Named dependencies; /readyz is 200 only when every check resolves in time. */
  readiness?: Record<string, ReadinessCheck>;
  bodyLimit?: number;
  /** HTTP_HEADERS_TIMEOUT_MS / HTTP_REQUEST_TIMEOUT_MS: how long a client may take to send a request. */
  timeouts: { headersTimeoutMs: number; requestTimeoutMs: number };
}

const READINESS_TIMEOUT_MS = 2_000;
const CORRELATION_ID = /^[A-Za-z0-9._:-]{1,64}$/;
/** Routes that probes (/healthz, /readyz), scrapers (/metrics) and the console (/lag, its overview) poll. */
const POLLED_ROUTES = new Set(['/metrics', '/healthz', '/readyz', '/lag', '/api/overview']);

/**
 * Two validators. A JSON body is checked as sent: no coercion ("2" is not 2), no defaults filled
 * in, nothing removed, so what the handler gets is what the client wrote. Query strings, path
 * params and headers arrive as text, so they are coerced to the schema's types ("?limit=10") and
 * get its defaults. Both report every failing field.
 */
function validatorCompiler(): FastifySchemaCompiler<AnySchema> {
  const pool = AjvCompiler();
  const body = pool({}, { customOptions: { coerceTypes: false, useDefaults: false, removeAdditional: false, allErrors: true } });
  const text = pool({}, { customOptions: { coerceTypes: 'array', useDefaults: true, removeAdditional: false, allErrors: true } });
  return (route) => (route.httpPart === 'body' ? body : text)(route);
}

/** Fastify with problem+json errors, request metrics, /healthz, /readyz and /metrics. */
export function createApp(options: AppOptions): FastifyInstance {
  // Typed as Fastify's logger, so the instance is a plain FastifyInstance (not one generic over pino's Logger).
  const loggerInstance: FastifyBaseLogger = options.logger;
  const app = Fastify({
    loggerInstance,
    bodyLimit: options.bodyLimit ?? 64 * 1024,
    // A caller's x-correlation-id is kept when it is a short token; anything else (any length, any
    // bytes) would be echoed and written into every log line and the audit: we make our own instead.
    requestIdHeader: false,
    genReqId: (request) => {
      const given = request.headers['x-correlation-id'];
      return typeof given === 'string' && CORRELATION_ID.test(given) ? given : randomUUID();
    },
    // Fastify's own per-request lines are off: the onResponse hook below logs one line per request.
    logController: new LogController({ disableRequestLogging: true }),
    // Receiving a request is bounded (a response, a long poll or an event stream is not): a
    // client that trickles its headers or body is answered 408 and its socket closed. Node checks
    // those deadlines every connectionsCheckingInterval (30 s by default: too coarse for them).
    requestTimeout: options.timeouts.requestTimeoutMs,
    http: {
      headersTimeout: Math.min(options.timeouts.headersTimeoutMs, options.timeouts.requestTimeoutMs),
      requestTimeout: options.timeouts.requestTimeoutMs,
      connectionsCheckingInterval: Math.max(100, Math.min(1_000, options.timeouts.headersTimeoutMs / 4)),
    },
  });
  app.setValidatorCompiler(validatorCompiler());
  // Deny by default: a route that does not say who may call it is a start-up error, not an open door.
  app.addHook('onRoute', (route) => {
    const auth = route.config?.auth;
    if (!auth || !AUTH_KINDS.includes(auth))
      throw new Error(`${String(route.method)} ${route.url}: config.auth must say who may call it (${AUTH_KINDS.join(', ')})`);
    // The OpenAPI document (/docs) says which routes want a bearer token.
    route.schema = { ...route.schema, security: auth === 'public' ? [] : [{ bearer: [] }] };
  });

  // OpenAPI 3.1 generated from the route schemas, served at /docs (JSON).
  void app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: options.service, version: '1.0.0' },
      // Routes with `auth` in their config list it (lib/src/http/auth.ts): a JWT, or the admin token.
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
    hideUntagged: false,
  });
  // JSON only: anything else is 415, not a string that then fails validation. Bodies are I-JSON:
  // a duplicate member name is 400 malformed_json (lib/src/http/strict-json.ts).
  app.removeContentTypeParser('text/plain');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (error) {
      done(error as AppError, undefined);
    }
  });
  // Before any route's own checks: a NUL in any string, anywhere in the body or query, is the
  // client's 400 naming the field, never Postgres' refusal turned 500.
  app.addHook('preValidation', async (request) => {
    const field = unholdableField(request.body, 'body') ?? unholdableField(request.query, 'querystring');
    if (field)
      throw new AppError('validation', 'the request does not match the schema', { status: 400, details: { errors: [{ field, message: UNHOLDABLE_MESSAGE }] } });
  });
  app.setErrorHandler(errorHandler);
  traceRequests(app);
  app.setNotFoundHandler((request, reply) => sendProblem(reply, request, 404, 'not_found', `no route for ${request.method} ${request.url}`));

  const duration = new prom.Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [options.registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unknown';
    duration.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    // Probes and pollers ask every second or so: at info they would drown what happens to orders
    // (a 503 from /readyz is the probe doing its job while a dependency is away).
    const level = POLLED_ROUTES.has(route) ? 'debug' : 'info';
    request.log[level]({ method: request.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-correlation-id', String(request.id));
  });

  // The runtime is part of health: operators check a rollout's Node line here.
  // Probes and scrapers call these without credentials (keep them off the public network).
  const probe = { config: { auth: 'public' as const } };
  app.get('/healthz', probe, async () => ({ status: 'ok', service: options.service, node: process.version }));

  app.get('/readyz', probe, async (_request, reply) => {
    const checks = Object.entries(options.readiness ?? {});
    const results = await Promise.all(
      checks.map(async ([name, check]) => {
        try {
          await withTimeout(check(), READINESS_TIMEOUT_MS);
          return [name, { ok: true }] as const;
        } catch (error) {
          return [name, { ok: false, error: (error as Error).message }] as const;
        }
      }),
    );
    const ready = results.every(([, r]) => r.ok);
    return reply
      .code(ready ? 200 : 503)
      .send({ ready, service: options.service, checks: Object.fromEntries(results) as Record<string, { ok: boolean; error?: string }> });
  });

  app.get('/docs', probe, async () => app.swagger());

  app.get('/metrics', probe, async (_request, reply) => {
    reply.type(options.registry.contentType);
    return options.registry.metrics();
  });

  return app;
}
