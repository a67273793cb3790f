import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { assertOwnRecords } from '@shop/lib/http/auth';
import { responses, Uuid } from '@shop/lib/http/schemas';
import type { PrismaClient as Db } from '../generated/prisma/client.ts';

const Query = Type.Object({ orderId: Uuid }, { additionalProperties: false });
const Item = Type.Object({
  id: Type.String(),
  status: Type.String(),
  channel: Type.String(),
  message: Type.String(),
  attempts: Type.Integer(),
  deliveredAt: Type.Union([Type.String(), Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
});

export async function notificationRoutes(fastify: FastifyInstance, opts: { prisma: Db }) {
  // Typed request parts from the route schemas (no casts in the handlers).
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/notifications',
    {
      // The customer of the order, or an admin (lib/src/http/auth.ts, assertOwnRecords).
      config: { auth: 'customer' },
      schema: { querystring: Query, response: responses({ 200: Type.Object({ orderId: Type.String(), notifications: Type.Array(Item) }) }, [400, 401, 404]) },
    },
    async (request) => {
      const { orderId } = request.query;
      const rows = await opts.prisma.notification.findMany({ where: { orderId }, orderBy: { createdAt: 'asc' } });
      assertOwnRecords(
        request,
        rows.map((n) => n.customerId),
        `notifications of order ${orderId}`,
      );
      return {
        orderId,
        notifications: rows.map((n) => ({
          id: n.id,
          status: n.status,
          channel: n.channel,
          message: n.message,
          attempts: n.attempts,
          deliveredAt: n.deliveredAt?.toISOString() ?? null,
          lastError: n.lastError,
          createdAt: n.createdAt.toISOString(),
        })),
      };
    },
  );
}
