// Wiring only: the payments query route and the order-events consumer with the provider.
import { EnvReader } from '@shop/lib/config';
import { TOPICS } from '@shop/lib/events/catalog';
import { runService } from '@shop/lib/service';
import { readPaymentTokenKey } from '@shop/lib/payment-token';
import { PrismaClient } from './generated/prisma/client.ts';
import { SimulatedProvider } from './domain/provider.ts';
import { orderEventsHandler } from './handlers/orders.ts';
import { paymentRoutes } from './routes/payments.ts';

await runService<PrismaClient>({
  name: 'payment-service',
  defaultPort: 3003,
  database: 'payments',
  PrismaClient,
  setup: async (ctx) => {
    const env = new EnvReader();
    const settings = {
      providerTimeoutMs: env.int('PAYMENT_PROVIDER_TIMEOUT_MS', 2_000, { min: 10 }),
      providerAttempts: env.int('PAYMENT_PROVIDER_ATTEMPTS', 3, { min: 1, max: 20 }),
      providerRetryMs: env.int('PAYMENT_PROVIDER_RETRY_MS', 100, { min: 1 }),
      paymentTokenKey: readPaymentTokenKey(env),
    };
    env.done();
    await ctx.app.register(paymentRoutes, { prisma: ctx.prisma });
    await ctx.consume([TOPICS.order], orderEventsHandler(ctx.sql, new SimulatedProvider(), settings));
  },
});
