-- An order is priced by inventory when its stock is reserved: until then its total and its lines'
-- prices are unknown (NULL). A price the client saw travels in OrderCreated; a catalog price that
-- differs cancels the order with PRICE_CHANGED.
ALTER TABLE "orders" ALTER COLUMN "total_cents" DROP NOT NULL;
ALTER TABLE "order_items" ALTER COLUMN "unit_price_cents" DROP NOT NULL;
ALTER TABLE "orders" DROP CONSTRAINT "orders_cancel_reason_check";
ALTER TABLE "orders" ADD CONSTRAINT "orders_cancel_reason_check" CHECK (("status" = 'CANCELLED') = ("cancel_reason" IS NOT NULL)
    AND ("cancel_reason" IS NULL OR "cancel_reason" IN ('OUT_OF_STOCK', 'PAYMENT_DECLINED', 'TIMEOUT', 'CUSTOMER_CANCELLED', 'PRICE_CHANGED', 'NOT_PRICED')));
-- The payment token is kept sealed (AES-256-GCM, lib/src/payment-token.ts), never as the client sent it.
ALTER TABLE "orders" RENAME COLUMN "payment_token" TO "sealed_payment_token";
-- Tokens of orders that have ended are needed by nobody: not kept at rest as the client sent them.
UPDATE "orders" SET "sealed_payment_token" = 'erased' WHERE "status" IN ('COMPLETED', 'CANCELLED');
