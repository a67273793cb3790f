-- Orders are paged newest first by id alone: a uuid v7 is a total order that starts with its
-- creation time, so a keyset cursor on it is exact (created_at has ties within a burst and its
-- microseconds were lost in a millisecond cursor).
DROP INDEX IF EXISTS "orders_customer_id_created_at_idx";
CREATE INDEX "orders_customer_id_id_idx" ON "orders"("customer_id", "id" DESC);
