// Every event that crosses a service boundary, in one table: its topic, the aggregate it belongs
// to and its payload schema (TypeBox). The TypeScript types, the topic routing and the run-time
// check of every consumed payload all come from this table. Producers and consumers share only
// these shapes, never each other's code.
import type { TraceHeaders } from '../tracing/tracing.ts';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { envelope, type DomainEvent, type EventEnvelope } from './envelope.ts';

export const TOPICS = {
  order: 'order.events',
  inventory: 'inventory.events',
  payment: 'payment.events',
  notification: 'notification.events',
} as const;
export type AggregateType = keyof typeof TOPICS;
export type Topic = (typeof TOPICS)[AggregateType];

const OrderId = Type.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' });
const Count = Type.Integer({ minimum: 0 });
const Positive = Type.Integer({ minimum: 1 });
// What the customer ordered; `expectedUnitPriceCents` is the price they were shown, if the client
// sent it (inventory refuses the order, PRICE_CHANGED, when the catalog's price differs).
const Line = Type.Object({ sku: Type.String({ minLength: 1 }), quantity: Positive, expectedUnitPriceCents: Type.Optional(Positive) });
// A line as inventory priced it when it reserved the stock: the price the customer is charged.
const PricedLine = Type.Object({ sku: Type.String({ minLength: 1 }), quantity: Positive, unitPriceCents: Positive });
const Currency = Type.String({ pattern: '^[A-Z]{3}$' });
const CancelReasonSchema = Type.Union([
  Type.Literal('OUT_OF_STOCK'),
  Type.Literal('PAYMENT_DECLINED'),
  Type.Literal('TIMEOUT'),
  Type.Literal('CUSTOMER_CANCELLED'),
  Type.Literal('ADMIN_CANCELLED'),
  Type.Literal('PRICE_CHANGED'),
  Type.Literal('NOT_PRICED'),
]);
const OfOrder = Type.Object({ orderId: OrderId });

// Payload objects accept properties they do not name: a producer may add an optional field
// before every consumer knows it (schema evolution). A missing or mistyped field is refused.
const spec = <A extends AggregateType, P extends TSchema>(aggregateType: A, payload: P) => ({ aggregateType, topic: TOPICS[aggregateType], payload });

export const EVENTS = {
  OrderCreated: spec(
    'order',
    Type.Object({
      orderId: OrderId,
      customerId: Type.String({ minLength: 1 }),
      currency: Currency,
      items: Type.Array(Line, { minItems: 1 }),
    }),
  ),
  // The token as the client sent it never leaves order-service: payment-service opens the sealed form.
  // customerId: whose payment it is (payment-service shows it to that customer only).
  PaymentRequested: spec(
    'order',
    Type.Object({
      orderId: OrderId,
      customerId: Type.String({ minLength: 1 }),
      amountCents: Count,
      currency: Type.String(),
      sealedPaymentToken: Type.String(),
    }),
  ),
  OrderCompleted: spec('order', Type.Object({ orderId: OrderId, customerId: Type.String(), totalCents: Count })),
  OrderCancelled: spec('order', Type.Object({ orderId: OrderId, customerId: Type.String(), reason: CancelReasonSchema })),
  StockReleaseRequested: spec('order', OfOrder),
  PaymentCancellationRequested: spec('order', Type.Object({ orderId: OrderId, reason: CancelReasonSchema })),
  StockReserved: spec('inventory', Type.Object({ orderId: OrderId, currency: Currency, totalCents: Count, lines: Type.Array(PricedLine, { minItems: 1 }) })),
  StockRejected: spec(
    'inventory',
    Type.Object({
      orderId: OrderId,
      reason: Type.Union([
        Type.Literal('INSUFFICIENT_STOCK'),
        Type.Literal('UNKNOWN_SKU'),
        Type.Literal('ALREADY_RELEASED'),
        Type.Literal('PRICE_CHANGED'),
        Type.Literal('NOT_PRICED'),
      ]),
      shortages: Type.Array(Type.Object({ sku: Type.String(), requested: Count, available: Type.Integer() })),
      /** PRICE_CHANGED: the price the client expected and the catalog's; NOT_PRICED: the catalog's (null: none in the order's currency). */
      prices: Type.Optional(
        Type.Array(Type.Object({ sku: Type.String(), expectedCents: Type.Optional(Positive), priceCents: Type.Union([Positive, Type.Null()]) })),
      ),
    }),
  ),
  StockReleased: spec('inventory', OfOrder),
  StockCommitted: spec('inventory', OfOrder),
  StockLevelSet: spec('inventory', Type.Object({ sku: Type.String(), name: Type.String(), onHand: Count, priceCents: Positive, currency: Currency })),
  StockAdjusted: spec('inventory', Type.Object({ sku: Type.String(), delta: Type.Integer(), reason: Type.String(), onHand: Count })),
  PaymentCaptured: spec('payment', Type.Object({ orderId: OrderId, paymentId: Type.String(), amountCents: Count })),
  PaymentDeclined: spec('payment', Type.Object({ orderId: OrderId, reason: Type.String() })),
  PaymentRefunded: spec('payment', Type.Object({ orderId: OrderId, paymentId: Type.String(), amountCents: Count })),
  PaymentVoided: spec('payment', OfOrder),
  NotificationSent: spec('notification', Type.Object({ orderId: OrderId, status: Type.String(), channel: Type.String() })),
};

type Catalog = typeof EVENTS;
export type EventType = keyof Catalog;
/** The domain event of one type, with its payload type derived from the schema. */
export type EventOf<T extends EventType> = T extends EventType ? DomainEvent<T, Static<Catalog[T]['payload']>> : never;
/** Every event that travels on `T` (a topic or a union of topics). */
export type EventOnTopic<T extends Topic> = { [K in EventType]: Catalog[K]['topic'] extends T ? EventOf<K> : never }[EventType];

export type AnyEvent = EventOf<EventType>;
/** order-service → order.events */
export type OrderEvent = EventOnTopic<typeof TOPICS.order>;
/** inventory-service → inventory.events */
export type InventoryEvent = EventOnTopic<typeof TOPICS.inventory>;
/** payment-service → payment.events */
export type PaymentEvent = EventOnTopic<typeof TOPICS.payment>;
/** notification-service → notification.events */
export type NotificationEvent = EventOnTopic<typeof TOPICS.notification>;

export type OrderLine = Static<typeof Line>;
export type PricedLine = Static<typeof PricedLine>;
export type CancelReason = Static<typeof CancelReasonSchema>;

export const isKnownEventType = (type: string): type is EventType => Object.hasOwn(EVENTS, type);
export const topicOf = (type: EventType): Topic => EVENTS[type].topic;

const checks = new Map<EventType, TypeCheck<TSchema>>();
/** Why `payload` is not a valid payload of `type` (the first schema error), or undefined when it is. */
export function payloadProblem(type: EventType, payload: unknown): string | undefined {
  let check = checks.get(type);
  if (!check) checks.set(type, (check = TypeCompiler.Compile(EVENTS[type].payload)));
  if (check.Check(payload)) return undefined;
  const first = check.Errors(payload).First();
  return first ? `${first.path || '/'} ${first.message}` : 'does not match its schema';
}

/** Wraps a catalog event for the outbox; its aggregate type (so its topic) comes from the catalog. */
export function eventEnvelope<E extends AnyEvent>(
  event: E,
  meta: { aggregateId: string; correlationId?: string; causationId?: string | null; trace?: TraceHeaders },
): EventEnvelope<E['type'], E['payload']> {
  return envelope(event, { ...meta, aggregateType: EVENTS[event.type].aggregateType });
}

/** Compile-time exhaustiveness: a consumer's switch ends with `default: return assertNever(event)`. */
export function assertNever(value: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(value)}`);
}
