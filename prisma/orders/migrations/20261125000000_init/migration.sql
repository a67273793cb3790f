CREATE TABLE "orders" (
    "id" UUID NOT NULL,
    "customer_id" TEXT NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "payment_token" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "cancel_reason" TEXT,
    "total_cents" BIGINT NOT NULL,
    "idempotency_key" TEXT,
    "deadline_at" TIMESTAMPTZ(6) NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "orders_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "orders_status_check" CHECK ("status" IN ('CREATED', 'PAYMENT_PENDING', 'COMPLETED', 'CANCELLED')),
    CONSTRAINT "orders_cancel_reason_check" CHECK (("status" = 'CANCELLED') = ("cancel_reason" IS NOT NULL)
        AND ("cancel_reason" IS NULL OR "cancel_reason" IN ('OUT_OF_STOCK', 'PAYMENT_DECLINED', 'TIMEOUT', 'CUSTOMER_CANCELLED'))),
    CONSTRAINT "orders_total_cents_check" CHECK ("total_cents" >= 0)
);
-- A client retry after a lost Redis record must find the original order, never create a second one.
CREATE UNIQUE INDEX "orders_idempotency_key_key" ON "orders"("idempotency_key");
CREATE INDEX "orders_customer_id_created_at_idx" ON "orders"("customer_id", "created_at" DESC, "id" DESC);
-- The deadline sweeper scans only orders that are still open.
CREATE INDEX "orders_open_deadline_idx" ON "orders"("deadline_at") WHERE "status" IN ('CREATED', 'PAYMENT_PENDING');

CREATE TABLE "order_items" (
    "order_id" UUID NOT NULL,
    "line_no" INTEGER NOT NULL,
    "sku" TEXT NOT NULL,
    "quantity" INTEGER NOT NULL,
    "unit_price_cents" BIGINT NOT NULL,
    CONSTRAINT "order_items_pkey" PRIMARY KEY ("order_id", "line_no"),
    CONSTRAINT "order_items_quantity_check" CHECK ("quantity" > 0),
    CONSTRAINT "order_items_unit_price_cents_check" CHECK ("unit_price_cents" > 0),
    CONSTRAINT "order_items_order_id_fkey" FOREIGN KEY ("order_id") REFERENCES "orders"("id") ON DELETE CASCADE
);

CREATE TABLE "order_history" (
    "id" BIGSERIAL NOT NULL,
    "order_id" UUID NOT NULL,
    "status" TEXT NOT NULL,
    "reason" TEXT,
    "cause_event_id" UUID,
    "cause_type" TEXT NOT NULL,
    "at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "order_history_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "order_history_order_id_fkey" FOREIGN KEY ("order_id") REFERENCES "orders"("id") ON DELETE CASCADE
);
CREATE INDEX "order_history_order_id_idx" ON "order_history"("order_id", "id");

-- Transactional outbox: written in the same transaction as the state change it describes.
-- The relay reads inserts from the WAL (logical replication), so rows may be pruned once published.
CREATE TABLE "outbox" (
    "id" UUID NOT NULL,
    "aggregate_type" TEXT NOT NULL,
    "aggregate_id" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "headers" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "outbox_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "outbox_created_at_idx" ON "outbox"("created_at");

-- Inbox: one row per (consumer, event id), inserted in the same transaction as the effect.
CREATE TABLE "processed_events" (
    "consumer" TEXT NOT NULL,
    "event_id" UUID NOT NULL,
    "event_type" TEXT NOT NULL,
    "topic" TEXT NOT NULL,
    "partition" INTEGER NOT NULL,
    "offset" BIGINT NOT NULL,
    "processed_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "processed_events_pkey" PRIMARY KEY ("consumer", "event_id")
);
