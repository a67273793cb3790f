// Wiring only: routes, the workflow consumer and the deadline sweeper.
import { EnvReader } from '@shop/lib/config';
import { TOPICS } from '@shop/lib/events/catalog';
import { runService } from '@shop/lib/service';
import { readPaymentTokenKey } from '@shop/lib/payment-token';
import { PrismaClient } from './generated/prisma/client.ts';
import { openDoor } from './handlers/admission.ts';
import { Placements } from './handlers/placements.ts';
import { startDeadlineSweeper } from './handlers/deadline-sweeper.ts';
import { workflowHandler } from './handlers/workflow.ts';
import { orderRoutes } from './routes/orders.ts';
import { orderStatusRoutes } from './routes/order-status.ts';
import { OrderReader, type VersionedView } from './handlers/order-view.ts';
import { StatusFeed } from './handlers/status-feed.ts';
import { WaitSlots } from './handlers/wait-slots.ts';
import { FencedCache } from '@shop/lib/cache';
import { counter, prom } from '@shop/lib/http/metrics';

await runService<PrismaClient>({
  name: 'order-service',
  defaultPort: 3001,
  database: 'orders',
  PrismaClient,
  setup: async (ctx) => {
    const env = new EnvReader();
    // Each step of an order has its own deadline, and the whole order one more (docs/reliability.md, "Deadlines").
    const deadlines = {
      reservationMs: env.int('ORDER_RESERVATION_DEADLINE_MS', 30_000, { min: 100 }),
      paymentMs: env.int('ORDER_PAYMENT_DEADLINE_MS', 60_000, { min: 100 }),
      overallMs: env.int('ORDER_DEADLINE_MS', 120_000, { min: 100 }),
    };
    const sweepMs = env.int('ORDER_DEADLINE_SWEEP_MS', 1_000, { min: 50 });
    const faultKillAfterCommit = env.bool('FAULT_KILL_AFTER_ORDER_COMMIT', false);
    // Per customer, across every instance (Redis): one customer's flood meets its own limit long
    // before it could fill the backlog and close the door for everyone. 0 turns it off.
    const rateLimitPerMinute = env.int('ORDER_RATE_LIMIT_PER_MIN', 600, { min: 0 });
    const admission = {
      lateMs: env.int('ORDER_ADMISSION_LATE_MS', 5_000, { min: 1 }),
      maxLate: env.int('ORDER_ADMISSION_MAX_LATE', 200, { min: 0 }),
      maxOpen: env.int('ORDER_ADMISSION_MAX_OPEN', 50_000, { min: 0 }),
      refreshMs: env.int('ORDER_ADMISSION_REFRESH_MS', 500, { min: 50, max: 1_000 }),
      retryAfterSeconds: env.int('ORDER_ADMISSION_RETRY_AFTER_S', 2, { min: 1, max: 60 }),
    };
    // The order cache (docs/http-api.md, "Order status without polling"): an open order's entry lives at most
    // this long (what bounds a fence lost to a crash between commit and fence); a terminal one longer.
    const openTtlSeconds = env.int('ORDER_CACHE_TTL_S', 30, { min: 1, max: 86_400 });
    const terminalTtlSeconds = env.int('ORDER_CACHE_TERMINAL_TTL_S', 3_600, { min: 1, max: 604_800 });
    const recheckMs = env.int('ORDER_WAIT_RECHECK_MS', 5_000, { min: 100, max: 60_000 });
    const maxStreamMs = env.int('ORDER_EVENTS_MAX_STREAM_MS', 300_000, { min: 1_000, max: 3_600_000 });
    const waitSlots = new WaitSlots(env.int('ORDER_MAX_WAITS_PER_CLIENT', 20, { min: 1, max: 10_000 }));
    // Group commit of placements (handlers/placements.ts; measured in BENCHMARKS.md, "End to end").
    const placement = {
      statements: env.int('ORDER_PLACEMENT_STATEMENTS', 2, { min: 1, max: 64 }),
      maxBatch: env.int('ORDER_PLACEMENT_BATCH_MAX', 64, { min: 1, max: 1_000 }),
      lingerMs: env.int('ORDER_PLACEMENT_LINGER_MS', 0, { min: 0, max: 5 }),
    };
    const paymentTokenKey = readPaymentTokenKey(env);
    env.done();
    const cache = new FencedCache<VersionedView>({ redis: ctx.redis, registry: ctx.registry, name: 'order', ttlSeconds: openTtlSeconds });
    const feed = new StatusFeed(ctx.redis, cache, ctx.logger);
    ctx.onClose('status feed', () => feed.close());
    const reader = new OrderReader({
      prisma: ctx.prisma,
      cache,
      feed,
      openTtlSeconds,
      terminalTtlSeconds,
      databaseReads: counter(ctx.registry, {
        name: 'order_view_database_reads_total',
        help: 'Order reads (GET, waits, streams) that reached the database',
        labelNames: [],
      }),
    });
    new prom.Gauge({
      name: 'order_waiting_clients',
      help: 'Clients waiting on an order here (long polls and event streams)',
      registers: [ctx.registry],
      collect() {
        this.set(feed.watchers);
      },
    });
    const door = openDoor(ctx.sql, ctx.registry, admission);
    ctx.onClose('admission door', async () => door.stop());
    await ctx.app.register(orderRoutes, {
      prisma: ctx.prisma,
      sql: ctx.sql,
      placements: new Placements(ctx.sql, ctx.registry, placement),
      redis: ctx.redis,
      deadlines,
      idempotencyTtlMs: ctx.idempotencyTtlSeconds * 1000,
      faultKillAfterCommit,
      rateLimitPerMinute,
      door,
      reader,
      feed,
      recheckMs,
      paymentTokenKey,
      waitSlots,
    });
    await ctx.app.register(orderStatusRoutes, { reader, feed, recheckMs, maxStreamMs, waitSlots });
    await ctx.consume([TOPICS.inventory, TOPICS.payment], workflowHandler(ctx.sql, deadlines, feed));
    ctx.onClose('deadline sweeper', startDeadlineSweeper(ctx.sql, ctx.logger, sweepMs, deadlines, feed));
  },
});
