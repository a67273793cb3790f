// A per-client rate limit shared by every instance of a service: a counter per client and
// window in Redis (one round trip: INCR with its expiry in a pipeline). Over the limit: 429
// problem+json with Retry-After until the window ends. If Redis cannot be asked, the request
// goes through: the admission door and the database still bound the load, and a rate limit
// must not turn a Redis blip into an outage.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { AppError } from '../errors.ts';
import { callerKey, callerOf } from './auth.ts';

export interface RateLimit {
  redis: Redis;
  /** What is limited, e.g. `orders` (part of the Redis key). */
  name: string;
  /** Requests allowed per window per client; 0 turns the limit off. */
  limit: number;
  windowMs: number;
  /** Who a request counts against (default: the caller, lib/src/http/auth.ts). */
  clientOf?: (request: FastifyRequest) => string;
}

export function rateLimit(opts: RateLimit) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (opts.limit <= 0) return;
    const client = callerKey((opts.clientOf ?? callerOf)(request));
    const now = Date.now();
    const window = Math.floor(now / opts.windowMs);
    const key = `rl:${opts.name}:${client}:${window}`;
    let count: number;
    try {
      const results = await opts.redis
        .pipeline()
        .incr(key)
        .pexpire(key, opts.windowMs * 2)
        .exec();
      count = Number(results?.[0]?.[1] ?? 0);
    } catch (error) {
      request.log.warn({ err: (error as Error).message }, 'rate limit store unavailable; request let through');
      return;
    }
    if (count > opts.limit) {
      reply.header('retry-after', String(Math.max(1, Math.ceil(((window + 1) * opts.windowMs - now) / 1000))));
      throw new AppError('rate_limited', `more than ${opts.limit} requests in ${opts.windowMs / 1000} s from this client`, { status: 429 });
    }
  };
}
