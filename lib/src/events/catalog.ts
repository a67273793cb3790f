// Every event that crosses a service boundary, as typed unions with a literal `type`.
// Producers and consumers share only these shapes, never each other's code.
import type { DomainEvent } from './envelope.ts';

export interface OrderLine {
  sku: string;
  quantity: number;
  unitPriceCents: number;
}

export type CancelReason = 'OUT_OF_STOCK' | 'PAYMENT_DECLINED' | 'TIMEOUT' | 'CUSTOMER_CANCELLED';

/** order-service → order.events */
export type OrderEvent =
  | DomainEvent<'OrderCreated', { orderId: string; customerId: string; currency: string; totalCents: number; items: OrderLine[] }>
  | DomainEvent<'StockReservationRequested', { orderId: string; items: { sku: string; quantity: number }[] }>
  | DomainEvent<'PaymentRequested', { orderId: string; amountCents: number; currency: string; paymentToken: string }>
  | DomainEvent<'OrderCompleted', { orderId: string; customerId: string; totalCents: number }>
  | DomainEvent<'OrderCancelled', { orderId: string; customerId: string; reason: CancelReason }>
  | DomainEvent<'StockReleaseRequested', { orderId: string }>
  | DomainEvent<'PaymentCancellationRequested', { orderId: string; reason: CancelReason }>;

/** inventory-service → inventory.events */
export type InventoryEvent =
  | DomainEvent<'StockReserved', { orderId: string }>
  | DomainEvent<
      'StockRejected',
      { orderId: string; reason: 'INSUFFICIENT_STOCK' | 'UNKNOWN_SKU' | 'ALREADY_RELEASED'; shortages: { sku: string; requested: number; available: number }[] }
    >
  | DomainEvent<'StockReleased', { orderId: string }>
  | DomainEvent<'StockCommitted', { orderId: string }>
  | DomainEvent<'StockLevelSet', { sku: string; name: string; onHand: number }>
  | DomainEvent<'StockAdjusted', { sku: string; delta: number; reason: string; onHand: number }>;

/** payment-service → payment.events */
export type PaymentEvent =
  | DomainEvent<'PaymentCaptured', { orderId: string; paymentId: string; amountCents: number }>
  | DomainEvent<'PaymentDeclined', { orderId: string; reason: string }>
  | DomainEvent<'PaymentRefunded', { orderId: string; paymentId: string; amountCents: number }>
  | DomainEvent<'PaymentVoided', { orderId: string }>;

/** notification-service → notification.events */
export type NotificationEvent = DomainEvent<'NotificationSent', { orderId: string; status: string; channel: string }>;

export type AnyEvent = OrderEvent | InventoryEvent | PaymentEvent | NotificationEvent;
export type EventType = AnyEvent['type'];

export const TOPICS = {
  order: 'order.events',
  inventory: 'inventory.events',
  payment: 'payment.events',
  notification: 'notification.events',
} as const;

/** The topic each event type travels on: a type on any other topic is a poison message. */
export const TOPIC_OF: Record<EventType, string> = {
  OrderCreated: TOPICS.order,
  StockReservationRequested: TOPICS.order,
  PaymentRequested: TOPICS.order,
  OrderCompleted: TOPICS.order,
  OrderCancelled: TOPICS.order,
  StockReleaseRequested: TOPICS.order,
  PaymentCancellationRequested: TOPICS.order,
  StockReserved: TOPICS.inventory,
  StockRejected: TOPICS.inventory,
  StockReleased: TOPICS.inventory,
  StockCommitted: TOPICS.inventory,
  StockLevelSet: TOPICS.inventory,
  StockAdjusted: TOPICS.inventory,
  PaymentCaptured: TOPICS.payment,
  PaymentDeclined: TOPICS.payment,
  PaymentRefunded: TOPICS.payment,
  PaymentVoided: TOPICS.payment,
  NotificationSent: TOPICS.notification,
};

export const isKnownEventType = (type: string): type is EventType => Object.hasOwn(TOPIC_OF, type);

/** Compile-time exhaustiveness: a consumer's switch ends with `default: return assertNever(event)`. */
export function assertNever(value: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(value)}`);
}
