// Wiring only: product routes and the order-events consumer.
import { TOPICS } from '@shop/lib/events/catalog';
import { counter } from '@shop/lib/http/metrics';
import { runService } from '@shop/lib/service';
import { PrismaClient } from './generated/prisma/client.ts';
import { orderEventsHandler } from './handlers/orders.ts';
import { productRoutes, type ProductView } from './routes/products.ts';
import { EnvReader } from '@shop/lib/config';
import { FencedCache } from '@shop/lib/cache';

await runService<PrismaClient>({
  name: 'inventory-service',
  defaultPort: 3002,
  database: 'inventory',
  PrismaClient,
  setup: async (ctx) => {
    const env = new EnvReader();
    // An entry lives at most this long: what bounds a fence lost to a crash between commit and fence.
    const ttlSeconds = env.int('PRODUCT_CACHE_TTL_S', 30, { min: 1, max: 86_400 });
    env.done();
    const cache = new FencedCache<ProductView>({ redis: ctx.redis, registry: ctx.registry, name: 'product', ttlSeconds });
    await ctx.app.register(productRoutes, { prisma: ctx.prisma, sql: ctx.sql, cache });
    // Stock written by a writer that does not lock (none today): the batch was decided again.
    const conflicts = counter(ctx.registry, {
      name: 'inventory_stock_conflicts_total',
      help: 'Consumed batches decided again after a product version moved',
      labelNames: [],
    });
    const onConflict = () => conflicts.inc();
    await ctx.consume(
      [TOPICS.order],
      orderEventsHandler(ctx.sql, (moved) => cache.fence(moved), onConflict),
    );
  },
});
