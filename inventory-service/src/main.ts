// Wiring only: product routes and the order-events consumer.
import { EnvReader } from '@shop/lib/config';
import { TOPICS } from '@shop/lib/events/catalog';
import { readAdminToken } from '@shop/lib/http/admin';
import { readRetryPolicy, runConsumer } from '@shop/lib/messaging/consumer';
import { runService } from '@shop/lib/service';
import { PrismaClient, type Db } from './db/client.ts';
import { orderEventsHandler } from './handlers/orders.ts';
import { productRoutes } from './routes/products.ts';

await runService<Db>({
  name: 'inventory-service',
  defaultPort: 3002,
  database: 'inventory',
  PrismaClient,
  setup: async (ctx) => {
    const env = new EnvReader();
    const retry = readRetryPolicy(env);
    env.done();
    await ctx.app.register(productRoutes, { prisma: ctx.prisma, adminToken: readAdminToken() });
    const consumer = await runConsumer({
      kafka: ctx.kafka,
      groupId: 'inventory-service',
      topics: [TOPICS.order],
      handler: orderEventsHandler(ctx.prisma),
      logger: ctx.logger,
      registry: ctx.registry,
      retry,
      partitions: ctx.common.topicPartitions,
    });
    ctx.onClose(() => consumer.stop());
  },
});
