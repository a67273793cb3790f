import { Type, type Static } from '@sinclair/typebox';
import { Sku, Uuid } from '@shop/lib/http/schemas';
import { ORDER_STATUSES } from '../domain/order.ts';

/**
 * A customer id from the caller's own system, often an e-mail address, so not ASCII only: 1–64
 * Unicode letters, marks and digits and `_ . @ + -`, starting with a letter or digit, in Unicode
 * NFC (checked by the route: "é" typed two ways must not be two customers).
 */
export const CustomerId = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: '^[\\p{L}\\p{N}][\\p{L}\\p{M}\\p{N}_.@+-]*$',
  description: 'Unicode letters, marks, digits and _ . @ + -; starts with a letter or digit; NFC; 1–64 characters',
});

export const OrderItem = Type.Object(
  {
    sku: Sku,
    quantity: Type.Integer({ minimum: 1, maximum: 10_000 }),
    unitPriceCents: Type.Integer({ minimum: 1, maximum: 1_000_000_000 }),
  },
  { additionalProperties: false },
);

export const PlaceOrderBody = Type.Object(
  {
    // With a customer token the customer is its `sub`: leave this out, or send the same id.
    customerId: Type.Optional(CustomerId),
    currency: Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code' }),
    paymentToken: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_]+$' }),
    items: Type.Array(OrderItem, { minItems: 1, maxItems: 100 }),
  },
  { additionalProperties: false },
);
export type PlaceOrderBody = Static<typeof PlaceOrderBody>;

const HistoryEntry = Type.Object({
  status: Type.String(),
  reason: Type.Union([Type.String(), Type.Null()]),
  cause: Type.String(),
  causeEventId: Type.Union([Type.String(), Type.Null()]),
  at: Type.String(),
});

export const OrderView = Type.Object({
  orderId: Uuid,
  customerId: Type.String(),
  status: Type.String(),
  reason: Type.Union([Type.String(), Type.Null()]),
  currency: Type.String(),
  totalCents: Type.Integer(),
  items: Type.Array(Type.Object({ sku: Type.String(), quantity: Type.Integer(), unitPriceCents: Type.Integer() })),
  history: Type.Optional(Type.Array(HistoryEntry)),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});

export const OrderIdParams = Type.Object({ id: Uuid }, { additionalProperties: false });

/** `?waitFor=terminal&timeout=10s`: a long poll, answered once the order ends or the timeout runs out (at most 30 s). */
export const GetOrderQuery = Type.Object(
  {
    waitFor: Type.Optional(Type.Literal('terminal')),
    timeout: Type.Optional(Type.String({ pattern: '^\\d{1,5}(ms|s)$', description: '100ms to 30s, e.g. 10s or 2500ms (default 10s)' })),
  },
  { additionalProperties: false },
);

export const ListOrdersQuery = Type.Object(
  {
    customerId: Type.Optional(CustomerId),
    status: Type.Optional(Type.Union(ORDER_STATUSES.map((s) => Type.Literal(s)))),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type ListOrdersQuery = Static<typeof ListOrdersQuery>;

/** Documented here for OpenAPI; the idempotency plugin enforces it (missing on POST ⇒ 400). */
export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7E]+$' })),
});
