// Wiring only: routes, the workflow consumer and the deadline sweeper.
import { EnvReader } from '@shop/lib/config';
import { TOPICS } from '@shop/lib/events/catalog';
import { runService } from '@shop/lib/service';
import { PrismaClient } from './generated/prisma/client.ts';
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
    const deadlineMs = env.int('ORDER_DEADLINE_MS', 30_000, { min: 100 });
    const sweepMs = env.int('ORDER_DEADLINE_SWEEP_MS', 1_000, { min: 50 });
    const faultKillAfterCommit = env.bool('FAULT_KILL_AFTER_ORDER_COMMIT', false);
    const rateLimitPerMinute = env.int('ORDER_RATE_LIMIT_PER_MIN', 0, { min: 0 });
    env.done();
    await ctx.app.register(orderRoutes, {
      prisma: ctx.prisma,
      sql: ctx.sql,
      deadlineMs,
      idempotencyTtlMs: ctx.idempotencyTtlSeconds * 1000,
      faultKillAfterCommit,
      rateLimitPerMinute,
    });
    await ctx.consume([TOPICS.inventory, TOPICS.payment], workflowHandler(ctx.sql));
    ctx.onClose(startDeadlineSweeper(ctx.sql, ctx.logger, sweepMs));
  },
});
