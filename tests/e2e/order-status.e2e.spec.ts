// Order status without polling the database, with two order-service instances: the Redis cache
// never serves a status older than one whose write has returned, even with readers racing to
// refill it with what they read before the write; a long poll and an event stream on instance A
// hear a change made through instance B.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, placeOrder, product, setStock, startStack, uniqueSku, type Stack } from '../support/stack.ts';
import { waitFor } from '../support/processes.ts';

let stack: Stack;
let a: string;
let b: string;
beforeAll(async () => {
  stack = await startStack({ instances: { 'order-service': 2 }, env: { ORDER_DEADLINE_MS: '60000', ORDER_PAYMENT_DEADLINE_MS: '60000' } });
  [a, b] = stack.instances['order-service'].map((p) => p.url);
});

const statusAt = async (base: string, id: string) => ((await (await fetch(`${base}/orders/${id}`)).json()) as { status: string }).status;
/** An order held in PAYMENT_PENDING (the provider never answers tok_hang in time). */
async function pendingOrder(sku: string): Promise<string> {
  const { orderId } = await placeOrder(stack, { paymentToken: 'tok_hang', items: [{ sku, quantity: 1 }] });
  await waitFor(async () => (await statusAt(a, orderId)) === 'PAYMENT_PENDING', { what: 'payment pending', timeoutMs: 20_000 });
  return orderId;
}

/** Reads `ids` on both instances over and over until `stop` is set: readers that keep refilling the cache. */
function hammer(ids: string[], stop: { done: boolean }): Promise<number> {
  let reads = 0;
  const loop = async (base: string, id: string) => {
    while (!stop.done) {
      await fetch(`${base}/orders/${id}`).then((r) => r.arrayBuffer());
      reads++;
    }
  };
  return Promise.all(ids.flatMap((id) => [loop(a, id), loop(b, id), loop(a, id), loop(b, id)])).then(() => reads);
}

interface StreamEvent {
  orderId: string;
  status: string;
  version: number;
}

/** Reads an event stream to its end; the events in order. */
async function readStream(url: string): Promise<{ status: number; events: StreamEvent[]; contentType: string | null }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  const events: StreamEvent[] = [];
  if (res.status !== 200) return { status: res.status, events, contentType: res.headers.get('content-type') };
  let buffer = '';
  for await (const chunk of res.body!) {
    buffer += Buffer.from(chunk).toString();
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block.split('\n').find((l) => l.startsWith('data: '));
      if (data) events.push(JSON.parse(data.slice(6)) as StreamEvent);
    }
  }
  return { status: 200, events, contentType: res.headers.get('content-type') };
}

describe('order status without polling the database', { timeout: 180_000 }, () => {
  it('never serves an older status than a write that has returned, while readers race to refill the cache', async () => {
    const sku = uniqueSku('CACHE');
    await setStock(stack, sku, 40);
    const ids = await Promise.all(Array.from({ length: 24 }, () => pendingOrder(sku)));
    const stop = { done: false };
    const readers = hammer(ids, stop);
    // Until its cancel is sent, each order's entry keeps being evicted (as under memory pressure):
    // the readers then load the order from the database, some of them while the cancel commits,
    // and try to put what they read back after the cancel's fence.
    const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    const evicting = new Set(ids);
    const evictor = (async () => {
      while (!stop.done && evicting.size > 0) {
        await redis.del(...[...evicting].map((id) => `cache:order:${id}`));
        await new Promise((r) => setTimeout(r, 1));
      }
    })();
    const stale: string[] = [];
    try {
      await Promise.all(
        ids.map(async (id, n) => {
          const [writer, other] = n % 2 === 0 ? [a, b] : [b, a];
          await new Promise((r) => setTimeout(r, 200 + n * 37)); // cancels spread among the reads
          const cancel = fetch(`${writer}/orders/${id}/cancel`, { method: 'POST', headers: { 'idempotency-key': randomUUID() } });
          evicting.delete(id);
          const res = await cancel;
          expect(res.status).toBe(202);
          // The write returned: from here on, every read on either instance says CANCELLED.
          for (let i = 0; i < 5; i++)
            for (const base of [other, writer]) {
              const status = await statusAt(base, id);
              if (status !== 'CANCELLED') stale.push(`${id} read ${status} on ${base} after its cancel returned`);
            }
        }),
      );
    } finally {
      stop.done = true;
      await evictor;
      redis.disconnect();
    }
    expect(await readers).toBeGreaterThan(100);
    expect(stale).toEqual([]);
    const metrics = await (await fetch(`${a}/metrics`)).text();
    expect(Number(/cache_lookups_total\{cache="order",outcome="hit"[^}]*\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThan(0);
  });

  it('serves a product read after a stock write has returned at that write, never before it', async () => {
    const sku = uniqueSku('PCACHE');
    await setStock(stack, sku, 10);
    const base = stack.url('inventory-service');
    const stop = { done: false };
    const readers = Promise.all(
      Array.from({ length: 8 }, async () => {
        while (!stop.done) await fetch(`${base}/products/${sku}`).then((r) => r.arrayBuffer());
      }),
    );
    try {
      for (let i = 1; i <= 10; i++) {
        const res = await fetch(`${base}/products/${sku}/adjustments`, {
          method: 'POST',
          headers: { ...ADMIN, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
          body: JSON.stringify({ delta: 1, reason: `receipt ${i}` }),
        });
        expect(res.status).toBe(200);
        expect(await product(stack, sku)).toMatchObject({ onHand: 10 + i });
      }
    } finally {
      stop.done = true;
      await readers;
    }
  });

  it('answers a long poll when the order ends, on another instance than the one that ended it', async () => {
    const sku = uniqueSku('POLL');
    await setStock(stack, sku, 10);
    const id = await pendingOrder(sku);
    const started = Date.now();
    const timedOut = await (await fetch(`${a}/orders/${id}?waitFor=terminal&timeout=1s`)).json();
    expect(timedOut.status).toBe('PAYMENT_PENDING');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);

    const waiting = fetch(`${a}/orders/${id}?waitFor=terminal&timeout=20s`).then((r) => r.json() as Promise<{ status: string; reason: string }>);
    await new Promise((r) => setTimeout(r, 300));
    const cancelledAt = Date.now();
    expect((await fetch(`${b}/orders/${id}/cancel`, { method: 'POST', headers: { 'idempotency-key': randomUUID() } })).status).toBe(202);
    expect(await waiting).toMatchObject({ status: 'CANCELLED', reason: 'CUSTOMER_CANCELLED' });
    // Pushed, not found by the 5 s recheck.
    expect(Date.now() - cancelledAt).toBeLessThan(2_000);

    const { orderId } = await placeOrder(stack, { items: [{ sku, quantity: 1 }] });
    expect(await (await fetch(`${b}/orders/${orderId}?waitFor=terminal&timeout=20s`)).json()).toMatchObject({ status: 'COMPLETED' });
    for (const bad of ['timeout=31s', 'timeout=50ms', 'timeout=ten', 'waitFor=paid']) {
      const res = await fetch(`${a}/orders/${orderId}?waitFor=terminal&${bad}`);
      expect(res.status, bad).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
  });

  it('streams the status changes of an order as events, across instances, ending at its terminal status', async () => {
    const sku = uniqueSku('SSE');
    await setStock(stack, sku, 10);
    const id = await pendingOrder(sku);
    const stream = readStream(`${a}/orders/${id}/events`);
    await new Promise((r) => setTimeout(r, 300));
    expect((await fetch(`${b}/orders/${id}/cancel`, { method: 'POST', headers: { 'idempotency-key': randomUUID() } })).status).toBe(202);
    const { status, events, contentType } = await stream;
    expect(status).toBe(200);
    expect(contentType).toContain('text/event-stream');
    expect(events[0].status).toBe('PAYMENT_PENDING');
    expect(events.at(-1)).toMatchObject({ orderId: id, status: 'CANCELLED' });
    for (let i = 1; i < events.length; i++) expect(events[i].version).toBeGreaterThan(events[i - 1].version);

    // From placement: every change the workflow makes, to COMPLETED.
    const { orderId } = await placeOrder(stack, { items: [{ sku, quantity: 1 }] });
    const completed = await readStream(`${b}/orders/${orderId}/events`);
    expect(completed.events.at(-1)?.status).toBe('COMPLETED');
    expect((await readStream(`${a}/orders/${randomUUID()}/events`)).status).toBe(404);
  });
});
