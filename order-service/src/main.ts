// Wiring only: routes, the workflow consumer and the deadline sweeper.
import { EnvReader } from '@shop/lib/config';
import { TOPICS } from '@shop/lib/events/catalog';
import { runService } from '@shop/lib/service';
import { PrismaClient } from './generated/prisma/client.ts';
import { openDoor } from './handlers/admission.ts';
import { startDeadlineSweeper } from './handlers/deadline-sweeper.ts';
import { workflowHandler } from './handlers/workflow.ts';
import { orderRoutes } from './routes/orders.ts';

await runService<PrismaClient>({
  name: 'order-service',
  defaultPort: 3001,
  database: 'orders',
  PrismaClient,
  setup: async (ctx) => {
    const env = new EnvReader();
    // Each step of an order has its own deadline, and the whole order one more (README, "Deadlines").
    const deadlines = {
      reservationMs: env.int('ORDER_RESERVATION_DEADLINE_MS', 30_000, { min: 100 }),
      paymentMs: env.int('ORDER_PAYMENT_DEADLINE_MS', 60_000, { min: 100 }),
      overallMs: env.int('ORDER_DEADLINE_MS', 120_000, { min: 100 }),
    };
    const sweepMs = env.int('ORDER_DEADLINE_SWEEP_MS', 1_000, { min: 50 });
    const faultKillAfterCommit = env.bool('FAULT_KILL_AFTER_ORDER_COMMIT', false);
    const rateLimitPerMinute = env.int('ORDER_RATE_LIMIT_PER_MIN', 0, { min: 0 });
    const admission = {
      lateMs: env.int('ORDER_ADMISSION_LATE_MS', 5_000, { min: 1 }),
      maxLate: env.int('ORDER_ADMISSION_MAX_LATE', 200, { min: 0 }),
      maxOpen: env.int('ORDER_ADMISSION_MAX_OPEN', 50_000, { min: 0 }),
      refreshMs: env.int('ORDER_ADMISSION_REFRESH_MS', 500, { min: 50, max: 1_000 }),
      retryAfterSeconds: env.int('ORDER_ADMISSION_RETRY_AFTER_S', 2, { min: 1, max: 60 }),
    };
    env.done();
    const door = openDoor(ctx.sql, ctx.registry, admission);
    ctx.onClose(async () => door.stop());
    await ctx.app.register(orderRoutes, {
      prisma: ctx.prisma,
      sql: ctx.sql,
      deadlines,
      idempotencyTtlMs: ctx.idempotencyTtlSeconds * 1000,
      faultKillAfterCommit,
      rateLimitPerMinute,
      door,
    });
    await ctx.consume([TOPICS.inventory, TOPICS.payment], workflowHandler(ctx.sql, deadlines));
    ctx.onClose(startDeadlineSweeper(ctx.sql, ctx.logger, sweepMs, deadlines));
  },
});
