-- Who acted on an order: `customer:<id>` or `admin:<actor>` for a placement or a cancellation
-- through the API (NULL: the workflow itself, a reply or a deadline). An admin's cancellation is
-- ADMIN_CANCELLED, not the customer's.
ALTER TABLE "order_history" ADD COLUMN "actor" TEXT;
ALTER TABLE "orders" DROP CONSTRAINT "orders_cancel_reason_check";
ALTER TABLE "orders" ADD CONSTRAINT "orders_cancel_reason_check" CHECK (("status" = 'CANCELLED') = ("cancel_reason" IS NOT NULL)
    AND ("cancel_reason" IS NULL OR "cancel_reason" IN ('OUT_OF_STOCK', 'PAYMENT_DECLINED', 'TIMEOUT', 'CUSTOMER_CANCELLED', 'ADMIN_CANCELLED', 'PRICE_CHANGED', 'NOT_PRICED')));
