-- One order's SQL in the inventory database as inventory-service issued it with one transaction
-- per message (captured with log_statement=all, 2026-11-26): OrderCreated (reserve), then
-- OrderCompleted (commit). Batched consumers share each of these statements among a batch.
SELECT gen_random_uuid() AS order_id, 'BENCH-' || (random() * 199)::int AS sku \gset
BEGIN;
INSERT INTO processed_events (consumer, event_id, event_type, topic, partition, "offset") VALUES ('inventory-service', gen_random_uuid(), 'OrderCreated', 'order.events', 0, 1) ON CONFLICT DO NOTHING;
SELECT status FROM reservations WHERE order_id = :order_id::uuid FOR UPDATE;
SELECT sku, on_hand - reserved AS available, version FROM products WHERE sku = ANY(ARRAY[:sku::text]);
UPDATE products SET reserved = reserved + 1, version = version + 1, updated_at = now() WHERE sku = :sku::text AND on_hand - reserved >= 1;
WITH r AS (INSERT INTO reservations (order_id, status) VALUES (:order_id::uuid, 'RESERVED') RETURNING order_id)
INSERT INTO reservation_lines (order_id, sku, quantity) SELECT r.order_id, l.sku, l.quantity FROM r, unnest(ARRAY[:sku::text], ARRAY[1]) AS l(sku, quantity);
INSERT INTO outbox (id, aggregate_type, aggregate_id, type, payload, headers, created_at)
SELECT e.id, e.aggregate_type, e.aggregate_id, e.type, e.payload, e.headers, e.created_at
  FROM jsonb_to_recordset(jsonb_build_array(
    jsonb_build_object('id', gen_random_uuid(), 'type', 'StockReserved', 'aggregate_type', 'inventory', 'aggregate_id', :order_id::text, 'created_at', now(),
      'headers', jsonb_build_object('version', 1, 'causationId', gen_random_uuid(), 'correlationId', :order_id::text),
      'payload', jsonb_build_object('orderId', :order_id::text)))
  ) AS e(id uuid, aggregate_type text, aggregate_id text, type text, payload jsonb, headers jsonb, created_at timestamptz);
COMMIT;
BEGIN;
INSERT INTO processed_events (consumer, event_id, event_type, topic, partition, "offset") VALUES ('inventory-service', gen_random_uuid(), 'OrderCompleted', 'order.events', 0, 1) ON CONFLICT DO NOTHING;
SELECT status FROM reservations WHERE order_id = :order_id::uuid FOR UPDATE;
UPDATE products p SET on_hand = on_hand - l.quantity, reserved = reserved - l.quantity, version = p.version + 1, updated_at = now()
  FROM (SELECT sku, quantity FROM reservation_lines WHERE order_id = :order_id::uuid ORDER BY sku) l
 WHERE p.sku = l.sku;
UPDATE reservations SET status = 'COMMITTED', updated_at = now() WHERE order_id = :order_id::uuid;
INSERT INTO outbox (id, aggregate_type, aggregate_id, type, payload, headers, created_at)
SELECT e.id, e.aggregate_type, e.aggregate_id, e.type, e.payload, e.headers, e.created_at
  FROM jsonb_to_recordset(jsonb_build_array(
    jsonb_build_object('id', gen_random_uuid(), 'type', 'StockCommitted', 'aggregate_type', 'inventory', 'aggregate_id', :order_id::text, 'created_at', now(),
      'headers', jsonb_build_object('version', 1, 'causationId', gen_random_uuid(), 'correlationId', :order_id::text),
      'payload', jsonb_build_object('orderId', :order_id::text)))
  ) AS e(id uuid, aggregate_type text, aggregate_id text, type text, payload jsonb, headers jsonb, created_at timestamptz);
COMMIT;
