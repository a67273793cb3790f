// What the customer is told, per terminal status. Pure text, no I/O.
import { assertNever, type CancelReason, type OrderEvent } from '@shop/lib/events/catalog';

const REASONS: Record<CancelReason, string> = {
  OUT_OF_STOCK: 'an item is out of stock',
  PAYMENT_DECLINED: 'the payment was declined',
  TIMEOUT: 'it could not be completed in time',
  CUSTOMER_CANCELLED: 'you cancelled it',
  ADMIN_CANCELLED: 'our staff cancelled it; please contact us',
  PRICE_CHANGED: 'a price changed since you saw it; please review the new price',
  NOT_PRICED: 'an item is not for sale in this currency',
};

export function completedMessage(orderId: string, totalCents: number): string {
  return `Your order ${orderId} is confirmed (${(totalCents / 100).toFixed(2)}).`;
}

export function cancelledMessage(orderId: string, reason: CancelReason): string {
  return `Your order ${orderId} was cancelled: ${REASONS[reason] ?? reason}.`;
}

/** What one terminal status of an order tells its customer. */
export interface Notice {
  orderId: string;
  /** Whose order it is: the only customer who may read the notice. */
  customerId: string;
  status: 'COMPLETED' | 'CANCELLED';
  message: string;
}

/** The notice an order event calls for: one per terminal status, none for the other events. */
export function noticeOf(event: OrderEvent): Notice | undefined {
  switch (event.type) {
    case 'OrderCompleted':
      return {
        orderId: event.payload.orderId,
        customerId: event.payload.customerId,
        status: 'COMPLETED',
        message: completedMessage(event.payload.orderId, event.payload.totalCents),
      };
    case 'OrderCancelled':
      return {
        orderId: event.payload.orderId,
        customerId: event.payload.customerId,
        status: 'CANCELLED',
        message: cancelledMessage(event.payload.orderId, event.payload.reason),
      };
    case 'OrderCreated':
    case 'PaymentRequested':
    case 'StockReleaseRequested':
    case 'PaymentCancellationRequested':
      return undefined;
    default:
      return assertNever(event);
  }
}
