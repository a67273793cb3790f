-- One order's SQL in the payments database, as payment-service issues it (captured with
-- log_statement=all): the attempt, the attempt counter, then the outcome.
SELECT gen_random_uuid() AS order_id, gen_random_uuid() AS payment_id \gset
BEGIN;
SELECT id::text, status, amount_cents, provider_ref, attempts FROM payments WHERE order_id = :order_id::uuid FOR UPDATE;
INSERT INTO payments (id, order_id, amount_cents, currency, status) VALUES (:payment_id::uuid, :order_id::uuid, 100, 'EUR', 'PENDING') ON CONFLICT (order_id) DO NOTHING;
COMMIT;
UPDATE payments SET attempts = attempts + 1 WHERE order_id = :order_id::uuid RETURNING attempts;
BEGIN;
INSERT INTO processed_events (consumer, event_id, event_type, topic, partition, "offset") VALUES ('payment-service', gen_random_uuid(), 'PaymentRequested', 'order.events', 0, 1) ON CONFLICT DO NOTHING;
SELECT id::text, status, amount_cents, provider_ref, attempts FROM payments WHERE order_id = :order_id::uuid FOR UPDATE;
UPDATE payments SET status = 'CAPTURED', provider_ref = COALESCE('sim_ch_' || :order_id::text, provider_ref), failure_reason = COALESCE(NULL, failure_reason), updated_at = now() WHERE order_id = :order_id::uuid;
INSERT INTO outbox (id, aggregate_type, aggregate_id, type, payload, headers, created_at)
SELECT e.id, e.aggregate_type, e.aggregate_id, e.type, e.payload, e.headers, e.created_at
  FROM jsonb_to_recordset(jsonb_build_array(
    jsonb_build_object('id', gen_random_uuid(), 'type', 'PaymentCaptured', 'aggregate_type', 'payment', 'aggregate_id', :order_id::text, 'created_at', now(),
      'headers', jsonb_build_object('version', 1, 'causationId', gen_random_uuid(), 'correlationId', :order_id::text),
      'payload', jsonb_build_object('orderId', :order_id::text, 'paymentId', :payment_id::text, 'amountCents', 100)))
  ) AS e(id uuid, aggregate_type text, aggregate_id text, type text, payload jsonb, headers jsonb, created_at timestamptz);
COMMIT;
