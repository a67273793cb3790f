import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { conflict, notFound } from '@shop/lib/errors';
import { SERVICES } from '@shop/lib/manifest';
import { logAdminAction, recordAdminAction } from '@shop/lib/db/audit';
import { SqlDatabase } from '@shop/lib/db/sql';
import { actorOf } from '@shop/lib/http/auth';
import { responses, Uuid } from '@shop/lib/http/schemas';
import type { DeadLetters } from './dlq.ts';
import type { DashboardMonitor } from './monitor.ts';

const require = createRequire(import.meta.url);
const PAGE = new URL('./page.html', import.meta.url);
const ReplayBody = Type.Object(
  {
    topic: Type.String({ maxLength: 249, pattern: '\\.dlq$' }),
    partition: Type.Integer({ minimum: 0, maximum: 100_000 }),
    offset: Type.String({ pattern: '^\\d{1,19}$' }),
  },
  { additionalProperties: false },
);

/** A consumer group is its service's name (lib/src/service.ts); its database, by the manifest. */
const databaseOf = (group: string | undefined): string => SERVICES.find((s) => s.name === group)?.database ?? '';

export async function dashboardRoutes(
  fastify: FastifyInstance,
  opts: { monitor: DashboardMonitor; deadLetters: DeadLetters; pools: Map<string, pg.Pool>; orderServiceUrl: string; adminToken: string; traceUiUrl?: string },
) {
  // Typed request parts from the route schemas (no casts in the handlers).
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const page = await readFile(PAGE, 'utf8');
  const assets: Record<string, { file: string; type: string }> = {
    'uplot.js': { file: require.resolve('uplot/dist/uPlot.iife.min.js'), type: 'application/javascript' },
    'uplot.css': { file: require.resolve('uplot/dist/uPlot.min.css'), type: 'text/css' },
  };

  app.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').send(page));

  app.get('/assets/:name', { schema: { params: Type.Object({ name: Type.String() }) } }, async (request, reply) => {
    const asset = assets[request.params.name];
    if (!asset) throw notFound('asset');
    return reply
      .type(asset.type)
      .header('cache-control', 'max-age=3600')
      .send(await readFile(asset.file));
  });

  app.get('/api/overview', async () => {
    const m = opts.monitor;
    const dlq = await opts.deadLetters.summary().catch(() => ({ topics: [], latest: [] }));
    return {
      at: new Date().toISOString(),
      relayUp: m.relayUp,
      kafkaUp: m.kafkaUp,
      slots: m.slots(),
      samples: m.samples,
      consumerLag: m.consumerLag,
      health: m.health,
      dlq,
    };
  });

  // One order across services: its status history (order-service) and every event any service
  // wrote for it (the outbox tables of every service database, read only).
  app.get('/api/orders/:id', { schema: { params: Type.Object({ id: Uuid }), response: responses({ 200: Type.Any() }) } }, async (request) => {
    const { id } = request.params;
    const order = await fetch(`${opts.orderServiceUrl}/orders/${id}`, {
      headers: { authorization: `Bearer ${opts.adminToken}` },
      signal: AbortSignal.timeout(2_000),
    })
      .then(async (r) => (r.status === 200 ? ((await r.json()) as unknown) : undefined))
      .catch(() => undefined);
    const events = (
      await Promise.all(
        [...opts.pools].map(async ([database, pool]) =>
          (
            await pool
              .query<{ id: string; type: string; created_at: Date; payload: unknown; traceparent: string | null }>(
                "select id::text, type, created_at, payload, headers->>'traceparent' as traceparent from outbox where aggregate_id = $1",
                [id],
              )
              .catch(() => ({ rows: [] }))
          ).rows.map((r) => ({ database, ...r })),
        ),
      )
    )
      .flat()
      .sort((a, b) => new Date(a.created_at).getTime() - new Date(b.created_at).getTime());
    if (!order && events.length === 0) throw notFound(`order ${id}`);
    // The trace the order was placed in (its first event's), if anything traced it.
    const traceId = events.find((e) => e.traceparent)?.traceparent?.split('-')[1] ?? null;
    const traceUrl = traceId && opts.traceUiUrl ? `${opts.traceUiUrl.replace(/\/+$/, '')}/${traceId}` : null;
    return { orderId: id, order: order ?? null, traceId, traceUrl, events };
  });

  // The audit row goes to the database of the service whose consumer dead-lettered the message,
  // in a transaction around the send: no audit row, no replay (a send that fails rolls it back).
  app.post('/api/dlq/replay', { config: { auth: 'admin' }, schema: { body: ReplayBody } }, async (request) => {
    const ref = request.body;
    const letter = opts.deadLetters.find(ref);
    const pool = opts.pools.get(databaseOf(letter.headers['dlq-consumer-group']));
    if (!pool) throw conflict('not_replayable', `the dead letter names no service consumer (${letter.headers['dlq-consumer-group'] ?? 'none'})`);
    const action = {
      actor: actorOf(request),
      action: 'dlq.replay',
      subject: `${ref.topic}/${ref.partition}/${ref.offset}`,
      before: { topic: ref.topic, partition: ref.partition, offset: ref.offset, error: letter.headers['dlq-error-code'] ?? null },
      after: { topic: letter.headers['dlq-original-topic'] ?? null, key: letter.key },
      requestId: String(request.id),
    };
    const replayed = await new SqlDatabase(pool).transaction(async (tx) => {
      await recordAdminAction(tx, action);
      return opts.deadLetters.replay(letter);
    });
    logAdminAction(request.log, action);
    return replayed;
  });
}
