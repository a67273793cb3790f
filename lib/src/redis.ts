import { Redis } from 'ioredis';
import type { Logger } from './logger.ts';

/**
 * Fails fast while Redis is down (no offline queue, one retry per request), so callers can
 * answer 503 instead of hanging; reconnects on its own when Redis is back.
 */
export function createRedis(url: string, logger: Logger): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy: (times) => Math.min(200 * times, 2_000),
  });
  let down = false;
  redis.on('error', (error) => {
    if (!down) logger.warn({ err: error.message }, 'redis unavailable');
    down = true;
  });
  redis.on('ready', () => {
    if (down) logger.info('redis reconnected');
    down = false;
  });
  return redis;
}
