// Idempotency-Key for write routes, after the IETF httpapi draft and Stripe's behaviour:
// the first request with a key claims it in Redis; its response (non-5xx) is stored and replayed
// byte for byte to any retry with the same key and body; a different body is 422; a retry while
// the first is still running is 409 with Retry-After. Validation failures never reach this
// (it runs after validation), so a corrected retry with the same key works.
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import { AppError } from '../errors.ts';
import { callerKey, callerOf } from './auth.ts';

export interface IdempotencyOptions {
  redis: Redis;
  service: string;
  /** How long a completed response is replayed (IDEMPOTENCY_TTL_S, default 24 h). */
  ttlSeconds: number;
  /** How long a 4xx response is replayed (IDEMPOTENCY_FAILED_TTL_S): a refused request holds its key briefly. */
  failedTtlSeconds: number;
  /** How long an in-flight claim lives, so a crashed request frees its key (IDEMPOTENCY_LOCK_S). */
  lockSeconds: number;
}

export interface RouteIdempotency {
  /**
   * 'database': the route stores the key itself under a unique constraint, so it stays
   * duplicate-free while Redis is down; otherwise a write without Redis is refused with 503.
   */
  fallback?: 'database' | 'refuse';
}

declare module 'fastify' {
  interface FastifyContextConfig {
    idempotency?: RouteIdempotency;
  }
  interface FastifyRequest {
    /** `key`: the client's Idempotency-Key scoped to the caller (what a route stores, e.g. under a unique index). */
    idempotency?: { key: string; redisKey?: string; fingerprint: string };
  }
}

interface StoredResponse {
  state: 'in_flight' | 'completed';
  fingerprint: string;
  status?: number;
  contentType?: string;
  location?: string;
  body?: string;
}

const KEY_PATTERN = /^[\x21-\x7E]{1,255}$/;
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Canonical JSON: object keys sorted, so the same body in another key order is the same request. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function fingerprint(method: string, path: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method} ${path}\n${canonicalJson(body ?? null)}`)
    .digest('hex');
}

export class RedisUnavailableError extends AppError {
  constructor(cause: unknown) {
    super('idempotency_store_unavailable', 'the idempotency store is unavailable; retry later', { status: 503, canRetry: true, cause });
  }
}

async function plugin(app: FastifyInstance, opts: IdempotencyOptions) {
  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    if (!WRITE_METHODS.has(request.method)) return;
    const header = request.headers['idempotency-key'];
    const key = Array.isArray(header) ? header[0] : header;
    if (key === undefined) {
      if (request.method === 'POST') throw new AppError('idempotency_key_missing', 'POST requests need an Idempotency-Key header', { status: 400 });
      return;
    }
    if (!KEY_PATTERN.test(key)) throw new AppError('idempotency_key_invalid', 'Idempotency-Key must be 1–255 visible ASCII characters', { status: 400 });
    const path = request.url.split('?')[0];
    const print = fingerprint(request.method, path, request.body);
    const route = `${request.method} ${request.routeOptions.url}`;
    // A key is the caller's own, per route (as the payment APIs scope theirs): another caller's
    // same key is a different key, so it can neither replay nor squat the first caller's.
    const scoped = `${callerKey(callerOf(request))}.${key}`;
    const redisKey = `idem:${opts.service}:${route}:${scoped}`;
    request.idempotency = { key: scoped, fingerprint: print };
    const claim: StoredResponse = { state: 'in_flight', fingerprint: print };
    let claimed: string | null;
    try {
      claimed = await opts.redis.set(redisKey, JSON.stringify(claim), 'EX', opts.lockSeconds, 'NX');
    } catch (error) {
      if (request.routeOptions.config.idempotency?.fallback === 'database') {
        request.log.warn({ err: (error as Error).message }, 'idempotency store down: relying on the database key');
        return;
      }
      reply.header('retry-after', '5');
      throw new RedisUnavailableError(error);
    }
    if (claimed === 'OK') {
      request.idempotency.redisKey = redisKey;
      return;
    }
    const stored = JSON.parse((await opts.redis.get(redisKey).catch(() => null)) ?? 'null') as StoredResponse | null;
    if (!stored) return; // expired between SET and GET: treat as new, the route's own checks apply
    if (stored.fingerprint !== print) {
      throw new AppError('idempotency_key_reused', 'this Idempotency-Key was used with a different request', { status: 422 });
    }
    if (stored.state === 'in_flight') {
      reply.header('retry-after', '1');
      throw new AppError('idempotency_request_in_flight', 'a request with this Idempotency-Key is still being processed', { status: 409 });
    }
    reply.code(stored.status!).header('idempotent-replayed', 'true');
    if (stored.contentType) reply.type(stored.contentType);
    if (stored.location) reply.header('location', stored.location);
    return reply.send(stored.body);
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const claim = request.idempotency;
    if (!claim?.redisKey || reply.getHeader('idempotent-replayed')) return payload;
    try {
      if (reply.statusCode >= 500) {
        await opts.redis.del(claim.redisKey);
      } else {
        const stored: StoredResponse = {
          state: 'completed',
          fingerprint: claim.fingerprint,
          status: reply.statusCode,
          contentType: reply.getHeader('content-type') as string | undefined,
          location: reply.getHeader('location') as string | undefined,
          body: typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : JSON.stringify(payload),
        };
        await opts.redis.set(claim.redisKey, JSON.stringify(stored), 'EX', reply.statusCode >= 400 ? opts.failedTtlSeconds : opts.ttlSeconds);
      }
    } catch (error) {
      request.log.warn({ err: (error as Error).message }, 'could not store the idempotent response');
    }
    return payload;
  });
}

export const idempotency = fp(plugin, { name: 'idempotency', fastify: '5.x' });
