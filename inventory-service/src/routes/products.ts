import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { conflict, notFound } from '@shop/lib/errors';
import { requireAdmin } from '@shop/lib/http/admin';
import { responses, Sku } from '@shop/lib/http/schemas';
import type { SqlDatabase } from '@shop/lib/db/sql';
import type { Db } from '../db/client.ts';
import { emit } from '../db/stock.ts';

const Params = Type.Object({ sku: Sku }, { additionalProperties: false });
const PutBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 200 }), onHand: Type.Integer({ minimum: 0, maximum: 1_000_000_000 }) },
  { additionalProperties: false },
);
const ProductView = Type.Object({ sku: Type.String(), name: Type.String(), onHand: Type.Integer(), reserved: Type.Integer(), available: Type.Integer(), version: Type.Integer() });

const view = (p: { sku: string; name: string; onHand: number; reserved: number; version: number }) => ({
  sku: p.sku,
  name: p.name,
  onHand: p.onHand,
  reserved: p.reserved,
  available: p.onHand - p.reserved,
  version: p.version,
});

export async function productRoutes(app: FastifyInstance, opts: { prisma: Db; sql: SqlDatabase; adminToken: string }) {
  const { prisma } = opts;

  app.put('/products/:sku', {
    preHandler: requireAdmin(opts.adminToken),
    schema: { params: Params, body: PutBody, response: responses({ 200: ProductView }, [400, 401, 403, 409, 413, 415]) },
  }, async (request) => {
    const { sku } = request.params as Static<typeof Params>;
    const body = request.body as Static<typeof PutBody>;
    const product = await opts.sql.transaction(async (tx) => {
      // Creates, or sets on-hand only if it stays at or above what is reserved.
      const rows = await tx.$queryRawUnsafe<{ sku: string; name: string; onHand: number; reserved: number; version: number }[]>(
        `INSERT INTO products (sku, name, on_hand) VALUES ($1, $2, $3)
         ON CONFLICT (sku) DO UPDATE SET name = EXCLUDED.name, on_hand = EXCLUDED.on_hand, version = products.version + 1, updated_at = now()
           WHERE products.reserved <= EXCLUDED.on_hand
         RETURNING sku, name, on_hand AS "onHand", reserved, version`,
        sku,
        body.name,
        body.onHand,
      );
      const row = rows[0];
      if (!row) {
        const [current] = await tx.$queryRawUnsafe<{ reserved: number }[]>('SELECT reserved FROM products WHERE sku = $1', sku);
        throw conflict('below_reserved', `onHand ${body.onHand} is below the ${current?.reserved ?? 0} units reserved for open orders`);
      }
      await emit(tx, sku, { type: 'StockLevelSet', payload: { sku, name: body.name, onHand: body.onHand } }, null);
      return row;
    });
    return view(product);
  });

  app.get('/products/:sku', { schema: { params: Params, response: responses({ 200: ProductView }) } }, async (request) => {
    const { sku } = request.params as Static<typeof Params>;
    const product = await prisma.product.findUnique({ where: { sku } });
    if (!product) throw notFound(`product ${sku}`);
    return view(product);
  });
}
