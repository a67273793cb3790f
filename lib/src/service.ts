// Wiring shared by the four HTTP services: config, logger, database, Redis, Kafka, HTTP app,
// readiness and graceful shutdown. A service's main.ts supplies only what is its own.
import type { FastifyInstance } from 'fastify';
import type { Kafka } from 'kafkajs';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { EnvReader, readCommonConfig } from './config.ts';
import { createPool, createPrisma } from './db/prisma.ts';
import { SqlDatabase } from './db/sql.ts';
import { serviceDatabaseUrl, type ServiceDatabase } from './db/databases.ts';
import { createApp } from './http/app.ts';
import { readAuthOptions } from './auth/options.ts';
import { authentication } from './http/auth.ts';
import { idempotency } from './http/idempotency.ts';
import { counter, createRegistry } from './http/metrics.ts';
import { onShutdown, type Closer } from './lifecycle.ts';
import { exponentialBackoff, sleep } from './backoff.ts';
import { createLogger, type Logger } from './logger.ts';
import { createKafka } from './messaging/kafka.ts';
import { readRetryPolicy, runConsumer, type HandlerFor } from './messaging/consumer.ts';
import type { Topic } from './events/catalog.ts';
import { createRedis } from './redis.ts';
import { readTracingOptions } from './tracing/options.ts';
import { startTracing } from './tracing/tracing.ts';

interface PrismaLike {
  $queryRawUnsafe(query: string): Promise<unknown>;
  $disconnect(): Promise<void>;
}

const STARTUP_QUIET_MS = 10_000;

export interface ServiceContext<P> {
  name: string;
  env: EnvReader;
  common: ReturnType<typeof readCommonConfig>;
  logger: Logger;
  /** Typed reads and admin writes. */
  prisma: P;
  /** Transactions of the write paths that carry events (same pool as `prisma`). */
  sql: SqlDatabase;
  redis: Redis;
  kafka: Kafka;
  registry: Registry;
  app: FastifyInstance;
  idempotencyTtlSeconds: number;
  /** Register something to close on shutdown (closed in reverse order); `name` is for the log. */
  onClose(name: string, close: Closer['close']): void;
  /**
   * Runs a consumer in the service's group (its name) with the configured retry policy; closed on
   * shutdown. The handler must take every event the topics carry (checked when compiling).
   */
  consume<const T extends readonly Topic[]>(topics: T, handler: HandlerFor<T>): Promise<void>;
}

export interface ServiceDefinition<P extends PrismaLike> {
  name: string;
  defaultPort: number;
  database: ServiceDatabase;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each generated client has its own options type
  PrismaClient: new (options: any) => P;
  /** Registers routes and consumers; reads its own settings with a fresh EnvReader. */
  setup(ctx: ServiceContext<P>): Promise<void> | void;
}

export async function runService<P extends PrismaLike>(def: ServiceDefinition<P>): Promise<ServiceContext<P>> {
  const env = new EnvReader();
  const common = readCommonConfig(env);
  const port = env.int('PORT', def.defaultPort, { min: 0, max: 65535 });
  const poolSize = env.int('DB_POOL_SIZE', 10, { min: 1, max: 200 });
  const acquireTimeoutMs = env.int('DB_ACQUIRE_TIMEOUT_MS', 5_000, { min: 1, max: 60_000 });
  const databaseUrl = serviceDatabaseUrl(def.database, env);
  const idempotencyTtlSeconds = env.int('IDEMPOTENCY_TTL_S', 86_400, { min: 1 });
  const idempotencyLockSeconds = env.int('IDEMPOTENCY_LOCK_S', 10, { min: 1 });
  const idempotencyFailedTtlSeconds = env.int('IDEMPOTENCY_FAILED_TTL_S', 60, { min: 1 });
  const retry = readRetryPolicy(env);
  const kafkaStartupMs = env.int('KAFKA_STARTUP_TIMEOUT_MS', 120_000, { min: 0 });
  const commitIntervalMs = env.int('CONSUMER_COMMIT_INTERVAL_MS', 250, { min: 10, max: 60_000 });
  const maxWaitMs = env.int('CONSUMER_MAX_WAIT_MS', 1_000, { min: 1, max: 5_000 });
  // At most this many messages of one partition fetch applied in one transaction (a batch is
  // what the fetch brought: one message at low load). 1 is one transaction per message.
  const maxBatch = env.int('CONSUMER_BATCH_MAX', 200, { min: 1, max: 5_000 });
  const tracing = readTracingOptions(env, def.name);
  // Read by every service, so a production deployment without secrets fails fast in each.
  const auth = readAuthOptions(env);
  env.done();

  const logger = createLogger(def.name, common.logLevel);
  // Closed last (closers run in reverse): the spans of the shutdown itself are flushed too.
  const closers: Closer[] = [{ name: 'tracing', close: startTracing(tracing) }];
  const registry = createRegistry(def.name);
  const queries = counter(registry, { name: 'db_queries_total', help: 'Statements sent to the service database (round trips)', labelNames: [] });
  const pool = createPool({
    url: databaseUrl,
    poolSize,
    acquireTimeoutMs,
    onConnectionError: (error) => logger.warn({ err: error.message }, 'database connection lost'),
    onQuery: () => queries.inc(),
  });
  const prisma = createPrisma<P>(def.PrismaClient, { pool });
  const sql = new SqlDatabase(pool);
  closers.push({ name: 'database pool', close: () => prisma.$disconnect() });
  const redis = createRedis(common.redisUrl, logger);
  closers.push({ name: 'redis', close: () => redis.quit().catch(() => redis.disconnect()) });
  const kafka = createKafka({ clientId: def.name, brokers: common.kafkaBrokers, logger });
  const admin = kafka.admin();
  let adminConnected: Promise<void> | undefined;
  closers.push({ name: 'kafka admin', close: () => admin.disconnect() });

  const app = createApp({
    service: def.name,
    logger,
    registry,
    timeouts: common.http,
    readiness: {
      database: async () => void (await prisma.$queryRawUnsafe('SELECT 1')),
      redis: async () => void (await redis.ping()),
      kafka: async () => {
        adminConnected ??= admin.connect().catch((e: Error) => ((adminConnected = undefined), Promise.reject(e)));
        await adminConnected;
        await admin.describeCluster();
      },
    },
  });

  await app.register(authentication, { ...auth, registry });
  await app.register(idempotency, {
    redis,
    service: def.name,
    ttlSeconds: idempotencyTtlSeconds,
    failedTtlSeconds: Math.min(idempotencyFailedTtlSeconds, idempotencyTtlSeconds),
    lockSeconds: idempotencyLockSeconds,
  });

  const ctx: ServiceContext<P> = {
    name: def.name,
    env,
    common,
    logger,
    prisma,
    sql,
    redis,
    kafka,
    registry,
    app,
    idempotencyTtlSeconds,
    onClose: (name, close) => closers.push({ name, close }),
    async consume(topics, handler) {
      // A broker that is restarting when the service boots is not a reason to crash: keep trying
      // for a while (the HTTP API is not listening yet, so nobody is served half-wired).
      const startedAt = Date.now();
      const deadline = startedAt + kafkaStartupMs;
      const backoff = exponentialBackoff(250, 5_000);
      for (;;) {
        try {
          const consumer = await runConsumer({
            kafka,
            groupId: def.name,
            topics,
            handler,
            logger,
            registry,
            retry,
            partitions: common.topicPartitions,
            commitIntervalMs,
            maxWaitMs,
            maxBatch,
          });
          closers.push({ name: 'kafka consumer', close: () => consumer.stop() });
          return;
        } catch (error) {
          if (Date.now() > deadline) throw error;
          const wait = backoff.next();
          // A fresh broker needs a few seconds for its first topics and coordinator: said at debug;
          // still failing after STARTUP_QUIET_MS, the broker is really not there.
          const level = Date.now() - startedAt > STARTUP_QUIET_MS ? 'warn' : 'debug';
          logger[level]({ err: (error as Error).message, retryInMs: wait }, 'cannot start consumer yet; retrying');
          await sleep(wait);
        }
      }
    },
  };
  await def.setup(ctx);
  closers.push({ name: 'http server', close: () => app.close() });
  onShutdown(logger, closers, { name: def.name, port, graceMs: common.shutdownGraceMs });

  const address = await app.listen({ host: common.host, port });
  logger.info({ address }, `${def.name} listening`);
  return ctx;
}
