// A read-through cache in Redis whose entries are fenced by the row's version, so a reader can
// never put back a state older than one a writer has committed:
// - a reader that missed loads the row and `fill`s it with its version; Redis refuses the fill
//   when the entry already holds a newer version (or a fence of a newer one);
// - a writer, after its transaction commits, `fence`s the row's new version: the entry becomes a
//   bare marker of that version (a miss for the next reader), unless it is newer already.
// A reader that loaded the old row before the commit and fills after the fence is refused, and
// one that fills before the fence is overwritten by it. What is left: a writer that dies between
// its commit and its fence leaves the old entry until its TTL (CACHE_TTL_S) ends it.
// Redis being down is a miss, never an error: the database answers.
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { counter } from './http/metrics.ts';

// An entry is "<version>:<json>", or "<version>:" for a fence.
const FILL = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local sep = string.find(cur, ':', 1, true)
  local v = tonumber(string.sub(cur, 1, sep - 1))
  local new = tonumber(ARGV[1])
  if v > new or (v == new and #cur > sep) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. ARGV[2], 'EX', ARGV[3])
return 1`;

const FENCE = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local v = tonumber(string.sub(cur, 1, string.find(cur, ':', 1, true) - 1))
  if v >= tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. ':', 'EX', ARGV[2])
return 1`;

type FencedRedis = Redis & {
  cacheFill(key: string, version: number, json: string, ttl: number): Promise<number>;
  cacheFence(key: string, version: number, ttl: number): Promise<number>;
};

export interface FencedCacheOptions {
  redis: Redis;
  registry: Registry;
  /** What is cached (`order`, `product`): the key prefix and the metrics' label. */
  name: string;
  ttlSeconds: number;
}

export class FencedCache<V> {
  readonly #redis: FencedRedis;
  readonly #prefix: string;
  readonly #ttl: number;
  readonly #lookups;

  constructor(opts: FencedCacheOptions) {
    const redis = opts.redis as FencedRedis;
    if (typeof redis.cacheFill !== 'function') {
      redis.defineCommand('cacheFill', { numberOfKeys: 1, lua: FILL });
      redis.defineCommand('cacheFence', { numberOfKeys: 1, lua: FENCE });
    }
    this.#redis = redis;
    this.#prefix = `cache:${opts.name}:`;
    this.#ttl = opts.ttlSeconds;
    this.#lookups = counter(opts.registry, {
      name: 'cache_lookups_total',
      help: 'Read-through cache lookups by outcome (hit, miss; hit ratio = hit / all)',
      labelNames: ['cache', 'outcome'],
    });
    this.#lookups.inc({ cache: opts.name, outcome: 'hit' }, 0);
    this.#lookups.inc({ cache: opts.name, outcome: 'miss' }, 0);
    this.name = opts.name;
  }

  readonly name: string;

  /** The cached value, or undefined (a miss: absent, fenced, or Redis unreachable). */
  async get(key: string): Promise<V | undefined> {
    const raw = await this.#redis.get(this.#prefix + key).catch(() => null);
    const json = raw?.slice(raw.indexOf(':') + 1);
    this.#lookups.inc({ cache: this.name, outcome: json ? 'hit' : 'miss' });
    return json ? (JSON.parse(json) as V) : undefined;
  }

  /** Puts what a reader loaded at `version`, unless the entry is newer already. */
  async fill(key: string, version: number, value: V, ttlSeconds = this.#ttl): Promise<void> {
    await this.#redis.cacheFill(this.#prefix + key, version, JSON.stringify(value), ttlSeconds).catch(() => undefined);
  }

  /** After a commit: these rows are at least at these versions; older entries are gone. */
  async fence(rows: readonly { key: string; version: number }[]): Promise<void> {
    if (rows.length === 0) return;
    const pipeline = this.#redis.pipeline() as unknown as { cacheFence(k: string, v: number, t: number): void; exec(): Promise<unknown> };
    for (const r of rows) pipeline.cacheFence(this.#prefix + r.key, r.version, this.#ttl);
    await pipeline.exec().catch(() => undefined);
  }
}
