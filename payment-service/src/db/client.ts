import type { SqlTransaction } from '@shop/lib/db/prisma';
export { PrismaClient } from '../generated/prisma/client.ts';
import type { PrismaClient } from '../generated/prisma/client.ts';

export type Db = PrismaClient;
/** A write transaction (SqlDatabase.transaction): raw SQL, events into the outbox. */
export type Tx = SqlTransaction;
