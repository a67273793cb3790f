-- One order's SQL in the orders database as order-service issued it with one transaction per
-- message (captured with log_statement=all, 2026-11-26; the payment token's column renamed since): placement, then StockReserved, then PaymentCaptured.
SELECT gen_random_uuid() AS order_id, gen_random_uuid() AS key, 'BENCH-' || (random() * 199)::int AS sku \gset
BEGIN;
WITH o AS (
  INSERT INTO orders (id, customer_id, currency, sealed_payment_token, status, total_cents, idempotency_key, request_fingerprint, idempotency_expires_at, deadline_at)
  VALUES (:order_id::uuid, 'bench', 'EUR', 'tok_ok', 'CREATED', 100::bigint, :key::text, md5(:key::text), now() + interval '1 day', now() + interval '30 seconds')
  RETURNING id, created_at, updated_at
), lines AS (
  INSERT INTO order_items (order_id, line_no, sku, quantity, unit_price_cents)
  SELECT o.id, l.line_no, l.sku, l.quantity, l.unit_price_cents
    FROM o, jsonb_to_recordset(jsonb_build_array(jsonb_build_object('line_no', 1, 'sku', :sku::text, 'quantity', 1, 'unit_price_cents', 100))) AS l(line_no int, sku text, quantity int, unit_price_cents bigint)
), history AS (
  INSERT INTO order_history (order_id, status, cause_type) SELECT o.id, 'CREATED', 'PlaceOrder' FROM o
)
SELECT created_at, updated_at FROM o;
INSERT INTO outbox (id, aggregate_type, aggregate_id, type, payload, headers, created_at)
SELECT e.id, e.aggregate_type, e.aggregate_id, e.type, e.payload, e.headers, e.created_at
  FROM jsonb_to_recordset(jsonb_build_array(
    jsonb_build_object('id', gen_random_uuid(), 'type', 'OrderCreated', 'aggregate_type', 'order', 'aggregate_id', :order_id::text, 'created_at', now(),
      'headers', jsonb_build_object('version', 1, 'causationId', null, 'correlationId', :order_id::text),
      'payload', jsonb_build_object('orderId', :order_id::text, 'customerId', 'bench', 'currency', 'EUR', 'totalCents', 100, 'items', jsonb_build_array(jsonb_build_object('sku', :sku::text, 'quantity', 1, 'unitPriceCents', 100)))))
  ) AS e(id uuid, aggregate_type text, aggregate_id text, type text, payload jsonb, headers jsonb, created_at timestamptz);
COMMIT;
BEGIN;
INSERT INTO processed_events (consumer, event_id, event_type, topic, partition, "offset") VALUES ('order-service', gen_random_uuid(), 'StockReserved', 'inventory.events', 0, 1) ON CONFLICT DO NOTHING;
SELECT id::text, customer_id, status, cancel_reason, currency, total_cents, sealed_payment_token FROM orders WHERE id = :order_id::uuid FOR UPDATE;
WITH o AS (
  UPDATE orders SET status = 'PAYMENT_PENDING', cancel_reason = NULL, version = version + 1, updated_at = now() WHERE id = :order_id::uuid RETURNING id
)
INSERT INTO order_history (order_id, status, reason, cause_event_id, cause_type) SELECT o.id, 'PAYMENT_PENDING', NULL, gen_random_uuid(), 'StockReserved' FROM o;
INSERT INTO outbox (id, aggregate_type, aggregate_id, type, payload, headers, created_at)
SELECT e.id, e.aggregate_type, e.aggregate_id, e.type, e.payload, e.headers, e.created_at
  FROM jsonb_to_recordset(jsonb_build_array(
    jsonb_build_object('id', gen_random_uuid(), 'type', 'PaymentRequested', 'aggregate_type', 'order', 'aggregate_id', :order_id::text, 'created_at', now(),
      'headers', jsonb_build_object('version', 1, 'causationId', gen_random_uuid(), 'correlationId', :order_id::text),
      'payload', jsonb_build_object('orderId', :order_id::text, 'currency', 'EUR', 'amountCents', 100, 'paymentToken', 'tok_ok')))
  ) AS e(id uuid, aggregate_type text, aggregate_id text, type text, payload jsonb, headers jsonb, created_at timestamptz);
COMMIT;
BEGIN;
INSERT INTO processed_events (consumer, event_id, event_type, topic, partition, "offset") VALUES ('order-service', gen_random_uuid(), 'PaymentCaptured', 'payment.events', 0, 1) ON CONFLICT DO NOTHING;
SELECT id::text, customer_id, status, cancel_reason, currency, total_cents, sealed_payment_token FROM orders WHERE id = :order_id::uuid FOR UPDATE;
WITH o AS (
  UPDATE orders SET status = 'COMPLETED', cancel_reason = NULL, version = version + 1, updated_at = now() WHERE id = :order_id::uuid RETURNING id
)
INSERT INTO order_history (order_id, status, reason, cause_event_id, cause_type) SELECT o.id, 'COMPLETED', NULL, gen_random_uuid(), 'PaymentCaptured' FROM o;
INSERT INTO outbox (id, aggregate_type, aggregate_id, type, payload, headers, created_at)
SELECT e.id, e.aggregate_type, e.aggregate_id, e.type, e.payload, e.headers, e.created_at
  FROM jsonb_to_recordset(jsonb_build_array(
    jsonb_build_object('id', gen_random_uuid(), 'type', 'OrderCompleted', 'aggregate_type', 'order', 'aggregate_id', :order_id::text, 'created_at', now(),
      'headers', jsonb_build_object('version', 1, 'causationId', gen_random_uuid(), 'correlationId', :order_id::text),
      'payload', jsonb_build_object('orderId', :order_id::text, 'customerId', 'bench', 'totalCents', 100)))
  ) AS e(id uuid, aggregate_type text, aggregate_id text, type text, payload jsonb, headers jsonb, created_at timestamptz);
COMMIT;
