import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { assertOwnRecords } from '@shop/lib/http/auth';
import { responses, Uuid } from '@shop/lib/http/schemas';
import type { PrismaClient as Db } from '../generated/prisma/client.ts';

const Query = Type.Object({ orderId: Uuid }, { additionalProperties: false });
const Charge = Type.Object({
  paymentId: Type.String(),
  status: Type.String(),
  amountCents: Type.Integer(),
  currency: Type.String(),
  attempts: Type.Integer(),
  providerRef: Type.Union([Type.String(), Type.Null()]),
  failureReason: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
const Refund = Type.Object({ refundId: Type.String(), paymentId: Type.String(), amountCents: Type.Integer(), reason: Type.String(), createdAt: Type.String() });

export async function paymentRoutes(fastify: FastifyInstance, opts: { prisma: Db }) {
  // Typed request parts from the route schemas (no casts in the handlers).
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/payments',
    {
      // The customer of the order, or an admin (lib/src/http/auth.ts, assertOwnRecords).
      config: { auth: 'customer' },
      schema: {
        querystring: Query,
        response: responses({ 200: Type.Object({ orderId: Type.String(), charges: Type.Array(Charge), refunds: Type.Array(Refund) }) }, [400, 401, 404]),
      },
    },
    async (request) => {
      const { orderId } = request.query;
      const [charges, refunds] = await Promise.all([
        opts.prisma.payment.findMany({ where: { orderId } }),
        opts.prisma.refund.findMany({ where: { orderId }, orderBy: { createdAt: 'asc' } }),
      ]);
      assertOwnRecords(
        request,
        charges.map((c) => c.customerId),
        `payments of order ${orderId}`,
      );
      return {
        orderId,
        charges: charges.map((p) => ({
          paymentId: p.id,
          status: p.status,
          amountCents: Number(p.amountCents),
          currency: p.currency,
          attempts: p.attempts,
          providerRef: p.providerRef,
          failureReason: p.failureReason,
          createdAt: p.createdAt.toISOString(),
          updatedAt: p.updatedAt.toISOString(),
        })),
        refunds: refunds.map((r) => ({
          refundId: r.id,
          paymentId: r.paymentId,
          amountCents: Number(r.amountCents),
          reason: r.reason,
          createdAt: r.createdAt.toISOString(),
        })),
      };
    },
  );
}
