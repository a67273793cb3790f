-- One order's SQL in the notifications database, as notification-service issues it (captured
-- with log_statement=all): OrderCompleted becomes a notification and its NotificationSent event.
SELECT gen_random_uuid() AS order_id \gset
BEGIN;
INSERT INTO processed_events (consumer, event_id, event_type, topic, partition, "offset") VALUES ('notification-service', gen_random_uuid(), 'OrderCompleted', 'order.events', 0, 1) ON CONFLICT DO NOTHING;
INSERT INTO notifications (id, order_id, status, channel, message) VALUES (gen_random_uuid(), :order_id::uuid, 'COMPLETED', 'log', 'Your order ' || :order_id::text || ' is confirmed: 1.00 charged.') ON CONFLICT (order_id, status) DO NOTHING;
INSERT INTO outbox (id, aggregate_type, aggregate_id, type, payload, headers, created_at)
SELECT e.id, e.aggregate_type, e.aggregate_id, e.type, e.payload, e.headers, e.created_at
  FROM jsonb_to_recordset(jsonb_build_array(
    jsonb_build_object('id', gen_random_uuid(), 'type', 'NotificationSent', 'aggregate_type', 'notification', 'aggregate_id', :order_id::text, 'created_at', now(),
      'headers', jsonb_build_object('version', 1, 'causationId', gen_random_uuid(), 'correlationId', :order_id::text),
      'payload', jsonb_build_object('orderId', :order_id::text, 'status', 'COMPLETED', 'channel', 'log')))
  ) AS e(id uuid, aggregate_type text, aggregate_id text, type text, payload jsonb, headers jsonb, created_at timestamptz);
COMMIT;
