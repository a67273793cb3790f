export { PrismaClient } from '../generated/prisma/client.ts';
import type { PrismaClient } from '../generated/prisma/client.ts';

export type Db = PrismaClient;
export type Tx = Parameters<Parameters<PrismaClient['$transaction']>[0]>[0];
