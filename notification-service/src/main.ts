// Wiring only: everything notification-specific is registered in setup.
import { runService } from '@shop/lib/service';
import { PrismaClient } from './generated/prisma/client.ts';

await runService({
  name: 'notification-service',
  defaultPort: 3004,
  database: 'notifications',
  PrismaClient,
  setup: () => {},
});
