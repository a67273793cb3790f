import { traceHeaders } from '@shop/lib/tracing/tracing';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { uuidv7 } from 'uuidv7';
import { AppError, conflict, invalid, notFound } from '@shop/lib/errors';
import { callerOf, customerFor, mayAccess } from '@shop/lib/http/auth';
import { logAdminAction, recordAdminAction, type AdminAction } from '@shop/lib/db/audit';
import { subjectProblem } from '@shop/lib/auth/subject';
import { sealPaymentToken } from '@shop/lib/payment-token';
import { rateLimit } from '@shop/lib/http/rate-limit';
import { noBody, responses } from '@shop/lib/http/schemas';
import { isTerminal, placeOrder, stepDeadline, type Deadlines, type OrderStatus } from '../domain/order.ts';
import type { SqlDatabase } from '@shop/lib/db/sql';
import type { PrismaClient as Db } from '../generated/prisma/client.ts';
import { appendOrderEvents, findByIdempotencyKey, listOrders, loadOrderView, releaseExpiredKey, type Inserted, type NewOrder } from '../db/orders.ts';
import type { Placements } from '../handlers/placements.ts';
import type { Door } from '../handlers/admission.ts';
import { changeOrder } from '../handlers/change-order.ts';
import type { OrderReader } from '../handlers/order-view.ts';
import { toView } from '../handlers/order-view.ts';
import type { StatusFeed } from '../handlers/status-feed.ts';
import type { WaitSlots } from '../handlers/wait-slots.ts';
import { GetOrderQuery, IdempotencyHeaders, ListOrdersQuery, OrderIdParams, OrderView, PlaceOrderBody } from './schemas.ts';

// The cursor is the last id of a page, opaque to clients. A cursor of the earlier form
// (`<createdAt>|<id>`) still works: its id part is all that is needed.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const encodeCursor = (o: { id: string }) => Buffer.from(o.id).toString('base64url');
function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString().split('|').pop() ?? '';
  if (!UUID.test(id)) throw invalid('cursor is not valid');
  return id;
}

const reused = () => new AppError('idempotency_key_reused', 'this Idempotency-Key was used with a different request', { status: 422 });

export interface OrderRouteOptions {
  prisma: Db;
  sql: SqlDatabase;
  /** Writes placements, several to a statement under load. */
  placements: Placements;
  deadlines: Deadlines;
  idempotencyTtlMs: number;
  /** Failure injection: SIGKILL this process right after an order commits, before the reply. */
  faultKillAfterCommit: boolean;
  /** Counts placements per customer for the rate limit, across instances. */
  redis: Redis;
  /** Orders per minute per customer, 0 = off (ORDER_RATE_LIMIT_PER_MIN). */
  rateLimitPerMinute: number;
  /** Back-pressure: refuses new orders while the workflow is too far behind. */
  door: Door;
  /** Reads through the order cache; waits for an order to end. */
  reader: OrderReader;
  /** Told after each commit that changes an order (fences the cache, pushes to waiting clients). */
  feed: StatusFeed;
  /** How often a waiting request reads again in case a push was lost. */
  recheckMs: number;
  /** Open long polls and event streams per client (ORDER_MAX_WAITS_PER_CLIENT). */
  waitSlots: WaitSlots;
  /** Seals the client's payment token before it is stored (lib/src/payment-token.ts). */
  paymentTokenKey: Buffer;
}

/** "10s", "2500ms" → ms, 100 ms to 30 s. */
function waitMs(timeout: string | undefined): number {
  if (timeout === undefined) return 10_000;
  const ms = timeout.endsWith('ms') ? Number(timeout.slice(0, -2)) : Number(timeout.slice(0, -1)) * 1000;
  if (ms < 100 || ms > 30_000) throw invalid('timeout must be between 100ms and 30s');
  return ms;
}

/** An admin placing for a customer is audited, in the order's own statement; a customer is not. */
function placementAudit(request: FastifyRequest, orderId: string, body: PlaceOrderBody): AdminAction | undefined {
  const p = request.principal;
  if (p?.kind !== 'admin') return undefined;
  const after = { customerId: body.customerId, currency: body.currency, items: body.items };
  return { actor: p.actor, action: 'order.place', subject: orderId, before: null, after, requestId: String(request.id) };
}

const customerProblem = (field: string, message: string) =>
  new AppError('validation', 'the request does not match the schema', { status: 400, details: { errors: [{ field, message }] } });

export async function orderRoutes(fastify: FastifyInstance, opts: OrderRouteOptions) {
  // Typed request parts from the route schemas (no casts in the handlers).
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { prisma } = opts;
  // Another customer's order is 404, as one that does not exist: ids cannot be probed.
  const readOwn = async (request: FastifyRequest, id: string) => {
    const entry = await opts.reader.read(id);
    if (!entry || !mayAccess(request, entry.view.customerId)) throw notFound(`order ${id}`);
    return entry;
  };

  app.post(
    '/orders',
    {
      config: { idempotency: { fallback: 'database' }, auth: 'customer' },
      // Beside the schema check, before the Idempotency-Key is claimed: a rejected body is not stored
      // under the key, so a corrected retry with the same key goes through. The customer is filled
      // in from the token here, so the key's fingerprint and the rate limit both see it.
      preValidation: async (request) => {
        const body = request.body;
        if (typeof body !== 'object' || body === null || Array.isArray(body)) return; // the schema says why
        const named = (body as { customerId?: unknown }).customerId;
        if (named !== undefined && typeof named !== 'string') return; // a wrong type: the schema names it
        const customerId = customerFor(request, named);
        if (customerId === undefined) throw customerProblem('body/customerId', 'is required without a customer token');
        const problem = subjectProblem(customerId);
        if (problem) throw customerProblem('body/customerId', problem);
        (body as { customerId?: unknown }).customerId = customerId;
      },
      // After the Idempotency-Key (a replay is served whatever the load; a 503 frees the key again).
      preHandler: [
        async (_request, reply) => opts.door.check(reply),
        rateLimit({
          redis: opts.redis,
          name: 'orders',
          limit: opts.rateLimitPerMinute,
          windowMs: 60_000,
          clientOf: (r) => (r.body as PlaceOrderBody).customerId!,
        }),
      ],
      schema: { headers: IdempotencyHeaders, body: PlaceOrderBody, response: responses({ 201: OrderView }, [400, 401, 403, 409, 413, 415, 422, 429, 503]) },
    },
    async (request, reply) => {
      const { body } = request;
      const idem = request.idempotency!;
      const placedAt = new Date();
      // Filled in by preValidation (from the token, or required in the body).
      const id = uuidv7();
      const { paymentToken, ...rest } = body;
      const placed = placeOrder({
        id,
        placedAt,
        ...rest,
        customerId: body.customerId!,
        sealedPaymentToken: sealPaymentToken(paymentToken, id, opts.paymentTokenKey),
      });
      const actor = callerOf(request);
      const order: NewOrder = {
        state: placed.state,
        items: body.items,
        actor,
        audit: placementAudit(request, id, body),
        idempotency: { key: idem.key, fingerprint: idem.fingerprint, expiresAt: new Date(Date.now() + opts.idempotencyTtlMs) },
        deadlineAt: stepDeadline('CREATED', placedAt, placedAt, opts.deadlines)!,
        events: placed.events,
        trace: traceHeaders(request.trace),
      };
      // The insert is tried first: the database's unique key is the last word on the
      // Idempotency-Key (it survives a Redis restart or eviction), and a repeat is the rare case.
      let inserted: Exclude<Inserted, 'key_taken'> | undefined;
      let replayOf: string | undefined;
      for (let attempt = 1; !inserted && !replayOf; attempt++) {
        const result = await opts.placements.insert(order);
        if (result !== 'key_taken') {
          inserted = result;
          break;
        }
        const holder = await findByIdempotencyKey(prisma, idem.key);
        if (holder) {
          if (holder.requestFingerprint !== idem.fingerprint) throw reused();
          replayOf = holder.id;
        } else {
          // Held by an order whose key expired: free it and insert again. A key that keeps
          // changing hands under us is a conflict the client can retry.
          if (attempt > 2) throw conflict('idempotency_request_in_flight', 'the Idempotency-Key changed hands while this request ran; retry');
          await releaseExpiredKey(prisma, idem.key);
        }
      }
      if (replayOf) {
        const view = (await loadOrderView(prisma, replayOf))!;
        return reply
          .code(201)
          .header('location', `/orders/${replayOf}`)
          .header('idempotent-replayed', 'true')
          .send(toView({ ...view, history: undefined }));
      }
      const { state } = placed;
      request.log.info({ correlationId: state.id }, 'order placed');
      if (opts.faultKillAfterCommit) process.kill(process.pid, 'SIGKILL');
      const placedView = {
        id: state.id,
        customerId: state.customerId,
        status: state.status,
        cancelReason: null,
        currency: state.currency,
        totalCents: state.totalCents,
        items: body.items,
        ...inserted!,
      };
      // The client's first GET (or wait) is served from here: the order as committed, version 0.
      const firstEntry = { status: state.status, reason: null, causeType: 'PlaceOrder', causeEventId: null, actor, at: inserted!.createdAt };
      if (order.audit) logAdminAction(request.log, order.audit);
      await opts.reader.put(state.id, { version: 0, view: toView({ ...placedView, history: [{ id: 0n, orderId: state.id, ...firstEntry }] }) });
      return reply.code(201).header('location', `/orders/${state.id}`).send(toView(placedView));
    },
  );

  app.get(
    '/orders/:id',
    { config: { auth: 'customer' }, schema: { params: OrderIdParams, querystring: GetOrderQuery, response: responses({ 200: OrderView }, [400, 401, 404]) } },
    async (request, reply) => {
      const { id } = request.params;
      const { waitFor, timeout } = request.query;
      const waitForMs = waitFor === 'terminal' ? waitMs(timeout) : undefined; // a bad timeout is 400 either way
      const entry = await readOwn(request, id);
      // An order that has ended already is the answer to a wait too: no second read.
      if (waitForMs === undefined || isTerminal(entry.view.status as OrderStatus)) return entry.view;
      const release = opts.waitSlots.acquire(request, reply);
      // A client that disconnects ends its wait (and frees its slot) at once.
      const gone = new AbortController();
      reply.raw.on('close', () => gone.abort());
      try {
        return ((await opts.reader.waitTerminal(id, waitForMs, opts.recheckMs, gone.signal)) ?? entry).view;
      } finally {
        release();
      }
    },
  );

  app.get(
    '/orders',
    {
      config: { auth: 'customer' },
      schema: {
        querystring: ListOrdersQuery,
        response: responses({ 200: Type.Object({ items: Type.Array(OrderView), nextCursor: Type.Union([Type.String(), Type.Null()]) }) }, [400, 401, 403]),
      },
    },
    async (request) => {
      const q = request.query;
      const limit = q.limit ?? 20;
      // A customer lists their own orders only (naming another is 403); an admin anyone's.
      const customerId = customerFor(request, q.customerId);
      const problem = customerId === undefined ? undefined : subjectProblem(customerId);
      if (problem) throw customerProblem('querystring/customerId', problem);
      const rows = await listOrders(prisma, { customerId, status: q.status, limit, after: q.cursor ? decodeCursor(q.cursor) : undefined });
      const page = rows.slice(0, limit);
      return { items: page.map((o) => toView(o)), nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]) : null };
    },
  );

  app.post(
    '/orders/:id/cancel',
    {
      config: { auth: 'customer' },
      preValidation: noBody,
      schema: {
        headers: IdempotencyHeaders,
        params: OrderIdParams,
        response: responses({ 202: Type.Object({ orderId: Type.String(), status: Type.String(), reason: Type.String() }) }, [400, 401, 404, 409, 422, 503]),
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      if (request.principal?.kind === 'customer') await readOwn(request, id);
      const admin = request.principal?.kind === 'admin' ? request.principal.actor : undefined;
      const by = admin ? 'admin' : 'customer';
      const reason = admin ? 'ADMIN_CANCELLED' : 'CUSTOMER_CANCELLED';
      let audit: AdminAction | undefined;
      const stored = await opts.sql.transaction(async (tx) => {
        const cause = { eventId: null, type: 'CancelOrder', actor: callerOf(request) };
        const { change, stored } = await changeOrder(tx, id, { type: 'CancelOrder', by }, cause, opts.deadlines);
        if (change.outcome === 'missing') throw notFound(`order ${id}`);
        // Anything but a status change is refused; throwing rolls back whatever was stored.
        if (change.outcome !== 'changed')
          throw conflict('order_not_cancellable', change.outcome === 'compensate' ? `order is ${change.from}` : `order is ${change.status}: ${change.why}`);
        await appendOrderEvents(tx, id, change.events, null, traceHeaders(request.trace));
        // An admin's cancellation is audited in its own transaction: no audit row, no cancellation.
        if (admin) {
          audit = {
            actor: admin,
            action: 'order.cancel',
            subject: id,
            before: { status: change.from },
            after: { status: 'CANCELLED', reason },
            requestId: String(request.id),
          };
          await recordAdminAction(tx, audit);
        }
        return stored;
      });
      await opts.feed.committed(stored);
      if (audit) logAdminAction(request.log, audit);
      request.log.info({ correlationId: id, by }, 'order cancelled');
      return reply.code(202).send({ orderId: id, status: 'CANCELLED', reason });
    },
  );
}
