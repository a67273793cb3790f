import { Type, type Static } from '@sinclair/typebox';
import { Sku, Uuid } from '@shop/lib/http/schemas';
import { SUBJECT_MAX_BYTES, SUBJECT_PATTERN } from '@shop/lib/auth/subject';
import { ORDER_STATUSES } from '../domain/order.ts';

/**
 * A customer is the `sub` of their token, opaque (lib/src/auth/subject.ts): any non-empty string
 * without control characters, at most 255 UTF-8 bytes (the byte bound is checked by the routes),
 * compared byte for byte.
 */
export const CustomerId = Type.String({
  minLength: 1,
  maxLength: SUBJECT_MAX_BYTES,
  pattern: SUBJECT_PATTERN,
  description: `an identity provider's subject as it is: no control characters, 1–${SUBJECT_MAX_BYTES} bytes of UTF-8, case-sensitive`,
});

export const OrderItem = Type.Object(
  {
    sku: Sku,
    quantity: Type.Integer({ minimum: 1, maximum: 10_000 }),
    // The catalog prices the order (inventory, when it reserves the stock); a client may send the
    // price it showed the customer, and a catalog price that differs cancels the order (PRICE_CHANGED).
    unitPriceCents: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1_000_000_000,
        description: "the price the customer was shown; the order is cancelled (PRICE_CHANGED) if the catalog's differs",
      }),
    ),
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
  /** Who asked, through the API (`customer:<id>`, `admin:<actor>`); null for the workflow itself. */
  actor: Type.Union([Type.String(), Type.Null()]),
  at: Type.String(),
});

export const OrderView = Type.Object({
  orderId: Uuid,
  customerId: Type.String(),
  status: Type.String(),
  reason: Type.Union([Type.String(), Type.Null()]),
  currency: Type.String(),
  /** null until inventory has priced the order (when it reserves the stock). */
  totalCents: Type.Union([Type.Integer(), Type.Null()]),
  items: Type.Array(Type.Object({ sku: Type.String(), quantity: Type.Integer(), unitPriceCents: Type.Union([Type.Integer(), Type.Null()]) })),
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
