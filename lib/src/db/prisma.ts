import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';

export interface PrismaOptions {
  url: string;
  poolSize?: number;
  /** Told about connections that die under us (server restart, pg_terminate_backend). */
  onConnectionError?: (error: Error) => void;
}

/**
 * Builds a service's generated PrismaClient on the pg driver adapter (no engine binary).
 * Each service passes its own generated class; lib never imports a service's client.
 *
 * We own the pool so that every client has an 'error' listener: a connection killed while
 * checked out (e.g. between two statements of an interactive transaction) would otherwise
 * emit an unhandled 'error' and crash the process instead of failing one retryable query.
 */
export function createPrisma<T>(PrismaClient: new (options: { adapter: PrismaPg }) => T, options: PrismaOptions): T {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  const onError = (error: Error) => options.onConnectionError?.(error);
  pool.on('error', onError);
  pool.on('connect', (client) => client.on('error', onError));
  // Cast: adapter-pg pins its own copy of @types/pg; at run time both are the one hoisted pg.
  return new PrismaClient({ adapter: new PrismaPg(pool as never, { disposeExternalPool: true }) });
}

/** The part of an interactive-transaction client that lib code needs. */
export interface SqlTransaction {
  $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number>;
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): Promise<T>;
}
