CREATE TABLE "products" (
    "sku" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "on_hand" INTEGER NOT NULL,
    "reserved" INTEGER NOT NULL DEFAULT 0,
    "version" INTEGER NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "products_pkey" PRIMARY KEY ("sku"),
    -- Overselling is impossible at the database level, whatever the code does.
    CONSTRAINT "products_on_hand_check" CHECK ("on_hand" >= 0),
    CONSTRAINT "products_reserved_check" CHECK ("reserved" >= 0 AND "reserved" <= "on_hand")
);

-- One row per order. A release that arrives before its reservation inserts a RELEASED row
-- (the marker), so the late reservation finds it and is refused.
CREATE TABLE "reservations" (
    "order_id" UUID NOT NULL,
    "status" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "reservations_pkey" PRIMARY KEY ("order_id"),
    CONSTRAINT "reservations_status_check" CHECK ("status" IN ('RESERVED', 'REJECTED', 'COMMITTED', 'RELEASED'))
);

CREATE TABLE "reservation_lines" (
    "order_id" UUID NOT NULL,
    "sku" TEXT NOT NULL,
    "quantity" INTEGER NOT NULL,
    CONSTRAINT "reservation_lines_pkey" PRIMARY KEY ("order_id", "sku"),
    CONSTRAINT "reservation_lines_quantity_check" CHECK ("quantity" > 0),
    CONSTRAINT "reservation_lines_order_id_fkey" FOREIGN KEY ("order_id") REFERENCES "reservations"("order_id") ON DELETE CASCADE
);

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
