// Used by the Prisma CLI (`prisma migrate deploy --config prisma/notifications/prisma.config.ts` where its engine can be fetched).
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: './schema.prisma',
  migrations: { path: './migrations' },
  datasource: { url: process.env.NOTIFICATIONS_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/notifications' },
});
