import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';

export interface PoolOptions {
  url: string;
  poolSize?: number;
  /** Longest wait for a connection, free or new (DB_ACQUIRE_TIMEOUT_MS; default 5000). */
  acquireTimeoutMs?: number;
  /** Told about connections that die under us (server restart, pg_terminate_backend). */
  onConnectionError?: (error: Error) => void;
  /** Called for every statement sent (a metric of round trips). */
  onQuery?: () => void;
}

/**
 * The service's one pg pool, shared by its Prisma client and its SqlDatabase.
 *
 * Every client gets an 'error' listener: a connection killed while checked out (e.g. between
 * two statements of a transaction) would otherwise emit an unhandled 'error' and crash the
 * process instead of failing one retryable query.
 */
export function createPool(options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.acquireTimeoutMs ?? 5_000,
    idleTimeoutMillis: 30_000,
    // A transaction whose code hangs must not hold its row locks forever.
    idle_in_transaction_session_timeout: 60_000,
  });
  const onError = (error: Error) => options.onConnectionError?.(error);
  pool.on('error', onError);
  pool.on('connect', (client) => {
    client.on('error', onError);
    const { onQuery } = options;
    if (onQuery) {
      // Every round trip on this pool, Prisma's and SqlDatabase's alike (BEGIN and COMMIT included).
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as { query: unknown }).query = (...args: unknown[]) => (onQuery(), query(...args));
    }
  });
  return pool;
}

/**
 * Builds a service's generated PrismaClient on the pg driver adapter (no engine binary), over
 * the given pool or a new one. Each service passes its own generated class; lib never imports
 * a service's client. Disconnecting the client ends the pool.
 */
export function createPrisma<T>(PrismaClient: new (options: { adapter: PrismaPg }) => T, options: PoolOptions | { pool: pg.Pool }): T {
  const pool = 'pool' in options ? options.pool : createPool(options);
  // Cast: adapter-pg pins its own copy of @types/pg; at run time both are the one hoisted pg.
  return new PrismaClient({ adapter: new PrismaPg(pool as never, { disposeExternalPool: true }) });
}

/**
 * What lib's transactional helpers (inbox, outbox) need from a transaction: Prisma's
 * interactive-transaction client has it, and so has an SqlDatabase transaction.
 */
export interface SqlTransaction {
  $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number>;
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): Promise<T>;
}

/** A service's write transaction (SqlDatabase.transaction): raw SQL, events into the outbox. */
export type Tx = SqlTransaction;
