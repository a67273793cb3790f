// Wiring only: the notifications query route and the order-events consumer.
import { EnvReader } from '@shop/lib/config';
import { TOPICS } from '@shop/lib/events/catalog';
import { runService } from '@shop/lib/service';
import { PrismaClient } from './generated/prisma/client.ts';
import { orderEventsHandler } from './handlers/orders.ts';
import { webhookDelivery } from './handlers/webhook.ts';
import { notificationRoutes } from './routes/notifications.ts';

await runService<PrismaClient>({
  name: 'notification-service',
  defaultPort: 3004,
  database: 'notifications',
  PrismaClient,
  setup: async (ctx) => {
    const env = new EnvReader();
    const webhookUrl = env.optional('NOTIFY_WEBHOOK_URL');
    const webhookAttempts = env.int('NOTIFY_WEBHOOK_ATTEMPTS', 5, { min: 1, max: 100 });
    env.done();
    await ctx.app.register(notificationRoutes, { prisma: ctx.prisma });
    const deliver = webhookDelivery(ctx.prisma, webhookUrl, ctx.logger, webhookAttempts);
    await ctx.consume([TOPICS.order], orderEventsHandler(ctx.sql, webhookUrl ? 'webhook' : 'log', deliver));
  },
});
