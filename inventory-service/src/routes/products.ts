import { Type, type Static } from '@sinclair/typebox';
import type { FencedCache } from '@shop/lib/cache';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, conflict, notFound } from '@shop/lib/errors';
import { logAdminAction, recordAdminAction, type AdminAction } from '@shop/lib/db/audit';
import { actorOf } from '@shop/lib/http/auth';
import { etagOf, ifMatchVersion, preconditionFailed, preconditionRequired } from '@shop/lib/http/preconditions';
import { responses, Sku } from '@shop/lib/http/schemas';
import type { SqlDatabase } from '@shop/lib/db/sql';
import type { PrismaClient as Db, Product as DbProduct } from '../generated/prisma/client.ts';
import { adjustProduct, createProduct, MAX_ON_HAND, MAX_PRICE_CENTS, setProduct, type Product, type WriteOutcome } from '../db/products.ts';

const Params = Type.Object({ sku: Sku }, { additionalProperties: false });
const PutBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    onHand: Type.Integer({ minimum: 0, maximum: MAX_ON_HAND }),
    priceCents: Type.Integer({ minimum: 1, maximum: MAX_PRICE_CENTS, description: "the catalog price per unit, in the currency's minor unit" }),
    currency: Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code; the product is sold in this currency only' }),
  },
  { additionalProperties: false },
);
const PutHeaders = Type.Object({
  'if-match': Type.Optional(Type.String({ maxLength: 200, description: 'the ETag of GET /products/:sku; required to change an existing product' })),
  'if-none-match': Type.Optional(Type.Literal('*', { description: 'create only: 412 if the product exists' })),
});
const AdjustmentBody = Type.Object(
  {
    delta: Type.Integer({ minimum: -MAX_ON_HAND, maximum: MAX_ON_HAND, not: { const: 0 }, description: 'units received (positive) or written off (negative)' }),
    reason: Type.String({ minLength: 1, maxLength: 200, description: 'e.g. "goods receipt 4711", "damaged in transit"' }),
  },
  { additionalProperties: false },
);
const ProductViewSchema = Type.Object({
  sku: Type.String(),
  name: Type.String(),
  onHand: Type.Integer(),
  reserved: Type.Integer(),
  available: Type.Integer(),
  priceCents: Type.Union([Type.Integer(), Type.Null()]),
  currency: Type.Union([Type.String(), Type.Null()]),
  version: Type.Integer(),
});

export type ProductView = Static<typeof ProductViewSchema>;
const view = (p: Product | DbProduct): ProductView => ({
  sku: p.sku,
  name: p.name,
  onHand: p.onHand,
  reserved: p.reserved,
  available: p.onHand - p.reserved,
  priceCents: p.priceCents === null ? null : Number(p.priceCents),
  currency: p.currency,
  version: p.version,
});
const sendView = (reply: FastifyReply, status: number, v: ProductView) => reply.code(status).header('etag', etagOf(v.version)).send(v);

/** What a refused write tells the client (nothing was written). */
function refused(sku: string, result: Exclude<WriteOutcome, { outcome: 'written' }>, asked: number | '*' | 'none' | undefined): AppError {
  switch (result.outcome) {
    case 'missing':
      return asked === undefined ? notFound(`product ${sku}`) : preconditionFailed(`product ${sku} does not exist`);
    case 'version_mismatch':
      return preconditionFailed(`product ${sku} is at version ${result.current.version}, not ${String(asked)}: read it again`, result.current.version);
    case 'below_reserved':
      return conflict('below_reserved', `on-hand cannot go below the ${result.current.reserved} units reserved for open orders`, {
        reserved: result.current.reserved,
        onHand: result.current.onHand,
      });
    case 'above_maximum':
      return conflict('above_maximum', `on-hand cannot exceed ${MAX_ON_HAND}`, { onHand: result.current.onHand });
  }
}

/** The audit row of a stock write: the product's levels before and after. */
function stockAudit(
  request: FastifyRequest,
  action: string,
  sku: string,
  before: Product | null,
  after: Product,
  extra: Record<string, unknown> = {},
): AdminAction {
  const levels = (p: Product) => ({ name: p.name, onHand: p.onHand, reserved: p.reserved, priceCents: p.priceCents, currency: p.currency, version: p.version });
  return {
    actor: actorOf(request),
    action,
    subject: sku,
    before: before && levels(before),
    after: { ...levels(after), ...extra },
    requestId: String(request.id),
  };
}

export async function productRoutes(fastify: FastifyInstance, opts: { prisma: Db; sql: SqlDatabase; cache: FencedCache<ProductView> }) {
  // Typed request parts from the route schemas (no casts in the handlers).
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { prisma, cache } = opts;
  // A write's reply is the product as committed: cached (fenced by version) before the client hears it.
  const send = async (reply: FastifyReply, status: number, p: Product | DbProduct) => {
    const v = view(p);
    await cache.fill(p.sku, p.version, v);
    return sendView(reply, status, v);
  };

  // Create, or set an absolute level. Changing an existing product needs If-Match with the
  // version it was read at (428 without, 412 when it moved on), so a reservation committed in
  // between is never overwritten; relative changes go through /adjustments instead.
  app.put(
    '/products/:sku',
    {
      config: { auth: 'admin' },
      schema: {
        params: Params,
        headers: PutHeaders,
        body: PutBody,
        response: responses({ 200: ProductViewSchema, 201: ProductViewSchema }, [400, 401, 403, 404, 409, 412, 413, 415, 428, 503]),
      },
    },
    async (request, reply) => {
      const { sku } = request.params;
      const { body } = request;
      const { headers } = request;
      const asked = ifMatchVersion(headers['if-match']);
      let audit: AdminAction | undefined;
      const result = await opts.sql.transaction(async (tx) => {
        if (asked === undefined) {
          const created = await createProduct(tx, sku, body);
          if (created) {
            await recordAdminAction(tx, (audit = stockAudit(request, 'stock.create', sku, null, created)));
            return { created };
          }
          if (headers['if-none-match'] === '*') throw preconditionFailed(`product ${sku} already exists`);
          throw preconditionRequired(`product ${sku} exists: send If-Match with the ETag of GET /products/${sku}, or POST /products/${sku}/adjustments`);
        }
        if (asked === 'none') throw preconditionFailed('If-Match names no version of this product');
        const set = await setProduct(tx, sku, body, asked);
        if (set.outcome === 'written') await recordAdminAction(tx, (audit = stockAudit(request, 'stock.set', sku, set.before, set.product)));
        return { set };
      });
      if (audit) logAdminAction(request.log, audit);
      if ('created' in result) return send(reply.header('location', `/products/${sku}`), 201, result.created!);
      if (result.set.outcome !== 'written') throw refused(sku, result.set, asked);
      return send(reply, 200, result.set.product);
    },
  );

  app.post(
    '/products/:sku/adjustments',
    {
      config: { auth: 'admin' },
      schema: { params: Params, body: AdjustmentBody, response: responses({ 200: ProductViewSchema }, [400, 401, 403, 404, 409, 413, 415, 422, 503]) },
    },
    async (request, reply) => {
      const { sku } = request.params;
      const { body } = request;
      let audit: AdminAction | undefined;
      const result = await opts.sql.transaction(async (tx) => {
        const adjusted = await adjustProduct(tx, sku, body.delta, body.reason);
        if (adjusted.outcome === 'written')
          await recordAdminAction(
            tx,
            (audit = stockAudit(request, 'stock.adjust', sku, adjusted.before, adjusted.product, { delta: body.delta, reason: body.reason })),
          );
        return adjusted;
      });
      if (audit) logAdminAction(request.log, audit);
      if (result.outcome !== 'written') throw refused(sku, result, undefined);
      return send(reply, 200, result.product);
    },
  );

  // The catalog is public: what a product is, what it costs, how many are available.
  app.get(
    '/products/:sku',
    { config: { auth: 'public' }, schema: { params: Params, response: responses({ 200: ProductViewSchema }) } },
    async (request, reply) => {
      const { sku } = request.params;
      const cached = await cache.get(sku);
      if (cached) return sendView(reply, 200, cached);
      const product = await prisma.product.findUnique({ where: { sku } });
      if (!product) throw notFound(`product ${sku}`);
      return send(reply, 200, product);
    },
  );
}
