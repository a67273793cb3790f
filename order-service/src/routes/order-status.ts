// GET /orders/:id/events: the order's status changes as Server-Sent Events, pushed as they
// commit (on any instance: the status feed), ending at its terminal status. Each event is
// `event: status`, `id: <version>`, `data: {"orderId", "status", "version"}`; the first is the
// status at connection. Versions only go up, so a push that overtakes the first read is kept
// and the older read dropped.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { notFound } from '@shop/lib/errors';
import { mayAccess } from '@shop/lib/http/auth';
import { responses } from '@shop/lib/http/schemas';
import { isTerminal, type OrderStatus } from '../domain/order.ts';
import type { OrderReader } from '../handlers/order-view.ts';
import type { StatusFeed } from '../handlers/status-feed.ts';
import type { WaitSlots } from '../handlers/wait-slots.ts';
import { OrderIdParams } from './schemas.ts';

export interface OrderStatusRouteOptions {
  reader: OrderReader;
  feed: StatusFeed;
  /** How often an open stream reads the order again in case a push was lost (Redis down). */
  recheckMs: number;
  /** A stream ends after this long even if the order has not (the client reconnects). */
  maxStreamMs: number;
  /** Open long polls and event streams per client (ORDER_MAX_WAITS_PER_CLIENT). */
  waitSlots: WaitSlots;
}

const HEARTBEAT_MS = 15_000;

export async function orderStatusRoutes(fastify: FastifyInstance, opts: OrderStatusRouteOptions) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/orders/:id/events',
    { config: { auth: 'customer' }, schema: { params: OrderIdParams, response: responses({}, [400, 401, 404]), produces: ['text/event-stream'] } },
    async (request, reply) => {
      const { id } = request.params;
      let last = -1;
      let send: (status: OrderStatus, version: number) => void = () => undefined;
      // Listening before the first read: a change committed in between is not missed.
      const pending: { status: OrderStatus; version: number }[] = [];
      const stopWatching = opts.feed.watch(id, (n) => (last < 0 ? pending.push(n) : send(n.status, n.version)));
      const first = await opts.reader.read(id).catch((error: unknown) => {
        stopWatching();
        throw error;
      });
      // Another customer's order is 404, as one that does not exist.
      if (!first || !mayAccess(request, first.view.customerId)) {
        stopWatching();
        throw notFound(`order ${id}`);
      }
      let release: () => void;
      try {
        release = opts.waitSlots.acquire(request, reply);
      } catch (error) {
        stopWatching();
        throw error;
      }
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-correlation-id': String(request.id),
      });
      const timers: NodeJS.Timeout[] = [];
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        release();
        stopWatching();
        for (const t of timers) clearInterval(t);
        res.end();
      };
      send = (status, version) => {
        if (ended || version <= last) return;
        last = version;
        res.write(`id: ${version}\nevent: status\ndata: ${JSON.stringify({ orderId: id, status, version })}\n\n`);
        if (isTerminal(status)) end();
      };
      send(first.view.status as OrderStatus, first.version);
      for (const n of pending) send(n.status, n.version);
      timers.push(setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS));
      timers.push(
        setInterval(() => {
          void opts.reader
            .read(id)
            .then((e) => e && send(e.view.status as OrderStatus, e.version))
            .catch(() => undefined);
        }, opts.recheckMs),
      );
      timers.push(setTimeout(end, opts.maxStreamMs));
      res.on('close', end); // the client went away (or the stream ended)
    },
  );
}
