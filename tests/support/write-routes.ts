// The write routes of the stack as the request-body tests drive them: a valid body for each and
// the type of each of its fields, so that a test can spoil one field at a time.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { ADMIN } from './stack.ts';

export type Kind = 'string' | 'integer' | 'array';
export const WRONG: Record<Kind, fc.Arbitrary<unknown>> = {
  // A number's text is the coercion this guards against; the rest are other JSON types.
  integer: fc.oneof(
    fc.integer({ min: 1, max: 100 }).map(String),
    fc.double({ min: 1.1, max: 99.9, noInteger: true }),
    fc.boolean(),
    fc.constant(null),
    fc.constant([1]),
    fc.constant({}),
  ),
  string: fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.constant(['x']), fc.constant({ x: 1 })),
  array: fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.constant({})),
};

export type WriteService = 'order-service' | 'inventory-service' | 'ops-console';

export interface Route {
  name: string;
  service: WriteService;
  method: string;
  /** The whole URL, on a live instance of the service. */
  url: () => string;
  headers: () => Record<string, string>;
  valid: () => Record<string, unknown>;
  /** Field path (as in the problem's `errors[].field`, after `body/`) and what it must be. */
  fields: [path: string, kind: Kind][];
}

export interface RouteContext {
  /** A product the routes may name. */
  sku: () => string;
  url: (service: WriteService) => string;
}

/** Every route of the stack that writes and takes a JSON body, with a valid body and its fields. */
export function writeRoutes({ sku, url }: RouteContext): Route[] {
  const order = () => ({ customerId: 'c1', currency: 'EUR', paymentToken: 'tok_ok', items: [{ sku: sku(), quantity: 2, unitPriceCents: 500 }] });
  return [
    {
      name: 'POST /orders',
      service: 'order-service',
      method: 'POST',
      url: () => `${url('order-service')}/orders`,
      headers: () => ({ 'idempotency-key': randomUUID() }),
      valid: order,
      fields: [
        ['customerId', 'string'],
        ['currency', 'string'],
        ['paymentToken', 'string'],
        ['items', 'array'],
        ['items/0/sku', 'string'],
        ['items/0/quantity', 'integer'],
        ['items/0/unitPriceCents', 'integer'],
      ],
    },
    {
      name: 'PUT /products/:sku',
      service: 'inventory-service',
      method: 'PUT',
      url: () => `${url('inventory-service')}/products/${sku()}`,
      headers: () => ({ ...ADMIN, 'if-match': '"0"' }),
      valid: () => ({ name: 'w', onHand: 7, priceCents: 1000, currency: 'EUR' }),
      fields: [
        ['name', 'string'],
        ['onHand', 'integer'],
      ],
    },
    {
      name: 'POST /products/:sku/adjustments',
      service: 'inventory-service',
      method: 'POST',
      url: () => `${url('inventory-service')}/products/${sku()}/adjustments`,
      headers: () => ({ ...ADMIN, 'idempotency-key': randomUUID() }),
      valid: () => ({ delta: 3, reason: 'receipt' }),
      fields: [
        ['delta', 'integer'],
        ['reason', 'string'],
      ],
    },
    {
      name: 'POST /api/dlq/replay',
      service: 'ops-console',
      method: 'POST',
      url: () => `${url('ops-console')}/api/dlq/replay`,
      headers: () => ADMIN,
      valid: () => ({ topic: 'order.events.dlq', partition: 0, offset: '0' }),
      fields: [
        ['topic', 'string'],
        ['partition', 'integer'],
        ['offset', 'string'],
      ],
    },
  ];
}

export function withField(body: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const copy = structuredClone(body);
  const keys = path.split('/');
  let at: Record<string, unknown> = copy;
  for (const k of keys.slice(0, -1)) at = at[k] as Record<string, unknown>;
  at[keys.at(-1)!] = value;
  return copy;
}
