// Optional per-client rate limit (a token bucket per client key, in memory: each instance
// enforces its own share). Over the limit: 429 problem+json with Retry-After.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.ts';

export interface RateLimit {
  /** Requests allowed per window per client; 0 turns the limit off. */
  limit: number;
  windowMs: number;
  /** Who a request counts against (default: the remote address). */
  clientOf?: (request: FastifyRequest) => string;
}

export function rateLimit(opts: RateLimit) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const perMs = opts.limit / opts.windowMs;
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (opts.limit <= 0) return;
    const client = opts.clientOf?.(request) ?? request.ip;
    const now = Date.now();
    const b = buckets.get(client) ?? { tokens: opts.limit, at: now };
    b.tokens = Math.min(opts.limit, b.tokens + (now - b.at) * perMs);
    b.at = now;
    if (b.tokens < 1) {
      buckets.set(client, b);
      reply.header('retry-after', String(Math.ceil((1 - b.tokens) / perMs / 1000)));
      throw new AppError('rate_limited', `more than ${opts.limit} requests in ${opts.windowMs / 1000} s from this client`, { status: 429 });
    }
    b.tokens -= 1;
    buckets.set(client, b);
    if (buckets.size > 100_000) buckets.clear(); // bounded memory under a flood of distinct clients
  };
}
