// Wiring only: the notifications query route and the order-events consumer.
import { EnvReader } from '@shop/lib/config';
import { TOPICS } from '@shop/lib/events/catalog';
import { runService } from '@shop/lib/service';
import { PrismaClient } from './generated/prisma/client.ts';
import { orderEventsHandler } from './handlers/orders.ts';
import { readWebhookOptions, webhookDelivery } from './handlers/webhook.ts';
import { counter } from '@shop/lib/http/metrics';
import { notificationRoutes } from './routes/notifications.ts';

await runService<PrismaClient>({
  name: 'notification-service',
  defaultPort: 3004,
  database: 'notifications',
  PrismaClient,
  setup: async (ctx) => {
    const env = new EnvReader();
    const webhook = readWebhookOptions(env);
    env.done();
    await ctx.app.register(notificationRoutes, { prisma: ctx.prisma });
    const deadLetters = counter(ctx.registry, {
      name: 'webhook_dead_letters_total',
      help: 'Notifications whose webhook delivery was given up',
      labelNames: [],
    });
    const deliver = webhookDelivery(ctx.prisma, webhook, ctx.logger, deadLetters);
    await ctx.consume([TOPICS.order], orderEventsHandler(ctx.sql, webhook ? 'webhook' : 'log', deliver));
  },
});
