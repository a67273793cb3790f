-- The Idempotency-Key's request fingerprint and expiry also live on the order, so a retry after
-- Redis lost its record still returns the original order (or 422 for a different body), and a
-- key past its TTL can start a new order.
ALTER TABLE "orders" ADD COLUMN "request_fingerprint" TEXT;
ALTER TABLE "orders" ADD COLUMN "idempotency_expires_at" TIMESTAMPTZ(6);
