// Wiring only: everything order-specific is registered in setup.
import { runService } from '@shop/lib/service';
import { PrismaClient } from './generated/prisma/client.ts';

await runService({
  name: 'order-service',
  defaultPort: 3001,
  database: 'orders',
  PrismaClient,
  setup: () => {},
});
