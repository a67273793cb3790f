import { PrismaPg } from '@prisma/adapter-pg';

export interface PrismaOptions {
  url: string;
  poolSize?: number;
}

/**
 * Builds a service's generated PrismaClient on the pg driver adapter (no engine binary).
 * Each service passes its own generated class; lib never imports a service's client.
 */
export function createPrisma<T>(PrismaClient: new (options: { adapter: PrismaPg }) => T, options: PrismaOptions): T {
  const adapter = new PrismaPg({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  return new PrismaClient({ adapter });
}

/** The part of an interactive-transaction client that lib code needs. */
export interface SqlTransaction {
  $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number>;
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): Promise<T>;
}
