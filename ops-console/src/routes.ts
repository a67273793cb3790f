import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
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
const LOGIN = new URL('./login.html', import.meta.url);
/** What an event payload may carry that no one at the console needs to see. */
const HIDDEN = new Set(['sealedPaymentToken', 'paymentToken']);
const hideSecrets = (payload: unknown): unknown =>
  typeof payload === 'object' && payload !== null && !Array.isArray(payload)
    ? Object.fromEntries(Object.entries(payload).map(([k, v]) => [k, HIDDEN.has(k) ? '[hidden]' : v]))
    : payload;
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
  const [page, login] = await Promise.all([readFile(PAGE, 'utf8'), readFile(LOGIN, 'utf8')]);
  const html = (reply: FastifyReply, body: string) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(body);
  const assets: Record<string, { file: string; type: string }> = {
    'uplot.js': { file: require.resolve('uplot/dist/uPlot.iife.min.js'), type: 'application/javascript' },
    'uplot.css': { file: require.resolve('uplot/dist/uPlot.min.css'), type: 'text/css' },
  };

  // The page itself shows no data (the /api routes do, to a signed-in admin): without a session it
  // sends the browser to the sign-in form.
  app.get('/', { config: { auth: 'public' } }, async (request, reply) => (request.principal ? html(reply, page) : reply.redirect('/login', 303)));
  app.get('/login', { config: { auth: 'public' } }, async (_request, reply) => html(reply, login));

  app.get(
    '/assets/:name',
    { config: { auth: 'public' }, schema: { params: Type.Object({ name: Type.String({ maxLength: 64 }) }) } },
    async (request, reply) => {
      const asset = assets[request.params.name];
      if (!asset) throw notFound('asset');
      return reply
        .type(asset.type)
        .header('cache-control', 'max-age=3600')
        .send(await readFile(asset.file));
    },
  );

  app.get('/api/overview', { config: { auth: 'admin' } }, async () => {
    const m = opts.monitor;
    const summary = await opts.deadLetters.summary().catch(() => ({ topics: [], latest: [] }));
    // Where each dead letter is and why, not its content (payloads are for replay, not for display).
    const dlq = { topics: summary.topics, latest: summary.latest.map(({ value: _value, ...letter }) => letter) };
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
  app.get(
    '/api/orders/:id',
    { config: { auth: 'admin' }, schema: { params: Type.Object({ id: Uuid }), response: responses({ 200: Type.Any() }) } },
    async (request) => {
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
            ).rows.map((r) => ({ database, ...r, payload: hideSecrets(r.payload) })),
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
    },
  );

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
