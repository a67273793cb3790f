// Wiring only: everything payment-specific is registered in setup.
import { runService } from '@shop/lib/service';
import { PrismaClient } from './generated/prisma/client.ts';

await runService({
  name: 'payment-service',
  defaultPort: 3003,
  database: 'payments',
  PrismaClient,
  setup: () => {},
});
