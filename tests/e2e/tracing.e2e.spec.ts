// One trace per order across the five processes and Kafka: the caller's traceparent goes into
// the outbox row with the event, the relay's publish span into the Kafka headers, and every
// consumer continues from there; a redelivered duplicate shows as a span marked `duplicate`.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Collector, produce } from '../support/kafka.ts';
import { OtlpReceiver, type ReceivedSpan } from '../support/otlp.ts';
import { startProcess, waitFor } from '../support/processes.ts';
import { notifications, setStock, startStack, uniqueSku, waitTerminal, type Stack } from '../support/stack.ts';

let otlp: OtlpReceiver;
let stack: Stack;
beforeAll(async () => {
  otlp = await OtlpReceiver.start();
  stack = await startStack({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint, OTEL_BSP_SCHEDULE_DELAY: '100', OTEL_TRACES_SAMPLER_ARG: '1' } });
});
afterAll(() => otlp?.stop());

const SERVICES = ['order-service', 'inventory-service', 'payment-service', 'notification-service', 'outbox-relay'];

/** The chain of parents from a span up to the caller's span: breaks if a parent is missing. */
function ancestry(span: ReceivedSpan, spans: ReceivedSpan[], rootSpanId: string): ReceivedSpan[] {
  const chain = [span];
  for (let s = span; s.parentSpanId !== rootSpanId;) {
    const parent = spans.find((p) => p.spanId === s.parentSpanId);
    if (!parent) throw new Error(`${s.service} "${s.name}" has parent ${s.parentSpanId}, which is not in the trace`);
    chain.push(parent);
    s = parent;
  }
  return chain;
}

describe('tracing through the outbox', { timeout: 120_000 }, () => {
  it('gives one order one trace from the HTTP request through the relay and every consumer, parents intact, in causal order', async () => {
    const sku = uniqueSku('TRACE');
    await setStock(stack, sku, 5);
    const traceId = randomBytes(16).toString('hex');
    const callerSpanId = randomBytes(8).toString('hex');
    const collector = await Collector.start(['order.events']);
    const res = await fetch(`${stack.url('order-service')}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID(), traceparent: `00-${traceId}-${callerSpanId}-01` },
      body: JSON.stringify({ customerId: 'traced', currency: 'EUR', paymentToken: 'tok_ok', items: [{ sku, quantity: 1 }] }),
    });
    expect(res.status).toBe(201);
    const { orderId } = (await res.json()) as { orderId: string };
    expect((await waitTerminal(stack, orderId)).status).toBe('COMPLETED');
    await waitFor(async () => (await notifications(stack, orderId)).notifications.length > 0, { what: 'the notification' });

    const spans = await waitFor(
      () => {
        const t = otlp.trace(traceId);
        const services = new Set(t.map((s) => s.service));
        const complete = SERVICES.every((s) => services.has(s)) && t.some((s) => s.name === 'OrderCompleted process' && s.service === 'notification-service');
        // Spans are exported as they end, so a child can arrive before its parent (a publish span
        // ends on Kafka's acknowledgement): wait until every parent is in, then check them below.
        const parentsIn = t.every((s) => s.parentSpanId === callerSpanId || t.some((p) => p.spanId === s.parentSpanId));
        return complete && parentsIn ? t : undefined;
      },
      { timeoutMs: 30_000, what: 'spans of every process in the trace, with every parent' },
    );
    expect(spans.length).toBeGreaterThanOrEqual(8);
    // Every span reaches the caller's span through parents that are in the trace, and starts after its parent.
    for (const s of spans) {
      const chain = ancestry(s, spans, callerSpanId);
      for (let i = 0; i + 1 < chain.length; i++) expect(chain[i].startNs >= chain[i + 1].startNs, `${chain[i].name} starts before its parent`).toBe(true);
    }
    const one = (service: string, name: string) => {
      const found = spans.filter((s) => s.service === service && s.name === name);
      expect(found.length, `${service} "${name}"`).toBeGreaterThanOrEqual(1);
      return found[0];
    };
    const post = one('order-service', 'POST /orders');
    expect(post.parentSpanId).toBe(callerSpanId);
    const reservation = one('inventory-service', 'OrderCreated process');
    // The saga's steps in causal order: request → relay → inventory → order → relay → payment.
    const path = ancestry(one('payment-service', 'PaymentRequested process'), spans, callerSpanId).map((s) => `${s.service}: ${s.name}`);
    expect(path.reverse()).toEqual([
      'order-service: POST /orders',
      'outbox-relay: publish order.events',
      'inventory-service: OrderCreated process',
      'outbox-relay: publish inventory.events',
      'order-service: StockReserved process',
      'outbox-relay: publish order.events',
      'payment-service: PaymentRequested process',
    ]);
    expect(reservation.attributes).toMatchObject({
      'order.id': orderId,
      'event.type': 'OrderCreated',
      'messaging.system': 'kafka',
      'messaging.destination.name': 'order.events',
      'messaging.consumer.group.name': 'inventory-service',
    });
    expect(typeof reservation.attributes['event.id']).toBe('string');
    // The work inside a delivery: its transaction, the outbox append, the provider call.
    expect(spans.filter((s) => s.name === 'db transaction' && s.service === 'inventory-service').length).toBeGreaterThanOrEqual(1);
    expect(spans.some((s) => s.name === 'outbox append' && s.service === 'inventory-service')).toBe(true);
    expect(spans.some((s) => s.name === 'payment provider charge' && s.service === 'payment-service')).toBe(true);

    // A redelivery of the same OrderCreated (same headers): the inbox skips it, its span says so.
    const original = await waitFor(() => collector.messages.find((m) => m.key === orderId && m.value.type === 'OrderCreated'), {
      what: 'the OrderCreated message',
    });
    await produce('order.events', [{ key: original.key, value: JSON.stringify(original.value), headers: original.headers, partition: original.partition }]);
    const duplicate = await waitFor(
      () => otlp.trace(traceId).find((s) => s.service === 'inventory-service' && s.name === 'OrderCreated process' && s.attributes.duplicate === true),
      { timeoutMs: 30_000, what: 'a duplicate span' },
    );
    expect(duplicate.attributes['event.id']).toBe(reservation.attributes['event.id']);

    // The operations console's order lookup shows the trace and links it to the trace viewer.
    const opsConsole = await startProcess('ops-console', {
      env: { TRACE_UI_URL: 'http://jaeger.example/trace', ORDER_SERVICE_URL: stack.url('order-service') },
    });
    const lookup = (await (await fetch(`${opsConsole.url}/api/orders/${orderId}`, { headers: { authorization: 'Bearer test-admin-token' } })).json()) as {
      traceId: string;
      traceUrl: string;
    };
    expect(lookup).toMatchObject({ traceId, traceUrl: `http://jaeger.example/trace/${traceId}` });
  });

  it('starts a trace at the order service for a request that brings none (sampled by OTEL_TRACES_SAMPLER_ARG)', async () => {
    const sku = uniqueSku('ROOT');
    await setStock(stack, sku, 5);
    const before = new Set(otlp.spans.map((s) => s.traceId));
    const res = await fetch(`${stack.url('order-service')}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      body: JSON.stringify({ customerId: 'untraced', currency: 'EUR', paymentToken: 'tok_ok', items: [{ sku, quantity: 1 }] }),
    });
    const { orderId } = (await res.json()) as { orderId: string };
    expect((await waitTerminal(stack, orderId)).status).toBe('COMPLETED');
    const root = await waitFor(() => otlp.spans.find((s) => !before.has(s.traceId) && s.name === 'POST /orders' && s.parentSpanId === undefined), {
      what: 'a new root trace',
    });
    await waitFor(() => otlp.trace(root.traceId).some((s) => s.service === 'payment-service'), { timeoutMs: 30_000, what: 'the new trace to reach payment' });
  });
});
