// Wiring only: product routes and the order-events consumer.
import { TOPICS } from '@shop/lib/events/catalog';
import { readAdminToken } from '@shop/lib/http/admin';
import { counter } from '@shop/lib/http/metrics';
import { runService } from '@shop/lib/service';
import { PrismaClient } from './generated/prisma/client.ts';
import { orderEventsHandler } from './handlers/orders.ts';
import { productRoutes } from './routes/products.ts';

await runService<PrismaClient>({
  name: 'inventory-service',
  defaultPort: 3002,
  database: 'inventory',
  PrismaClient,
  setup: async (ctx) => {
    await ctx.app.register(productRoutes, { prisma: ctx.prisma, sql: ctx.sql, adminToken: readAdminToken() });
    // Stock written by a writer that does not lock (none today): the batch was decided again.
    const conflicts = counter(ctx.registry, {
      name: 'inventory_stock_conflicts_total',
      help: 'Consumed batches decided again after a product version moved',
      labelNames: [],
    });
    const onConflict = () => conflicts.inc();
    await ctx.consume([TOPICS.order], orderEventsHandler(ctx.sql, onConflict));
  },
});
