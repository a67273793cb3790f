// What the customer is told, per terminal status. Pure text, no I/O.
import type { CancelReason } from '@shop/lib/events/catalog';

const REASONS: Record<CancelReason, string> = {
  OUT_OF_STOCK: 'an item is out of stock',
  PAYMENT_DECLINED: 'the payment was declined',
  TIMEOUT: 'it could not be completed in time',
  CUSTOMER_CANCELLED: 'you cancelled it',
};

export function completedMessage(orderId: string, totalCents: number): string {
  return `Your order ${orderId} is confirmed (${(totalCents / 100).toFixed(2)}).`;
}

export function cancelledMessage(orderId: string, reason: CancelReason): string {
  return `Your order ${orderId} was cancelled: ${REASONS[reason] ?? reason}.`;
}
