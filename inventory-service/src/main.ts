// Wiring only: everything inventory-specific is registered in setup.
import { runService } from '@shop/lib/service';
import { PrismaClient } from './generated/prisma/client.ts';

await runService({
  name: 'inventory-service',
  defaultPort: 3002,
  database: 'inventory',
  PrismaClient,
  setup: () => {},
});
