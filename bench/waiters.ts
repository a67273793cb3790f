// Clients waiting on their orders: BENCH_CLIENTS clients (1,000) each place an order every
// BENCH_CLIENTS / BENCH_RATE seconds (so orders flow at BENCH_RATE) and wait until it ends,
// half by Server-Sent Events, half by long poll; then the same load with clients that poll
// GET /orders/:id every 100 ms. For each: order reads that reached the database per order, HTTP
// requests per order, placement → client notified p50/p99, and the most clients waiting at once.
import { randomUUID } from 'node:crypto';
import { ORDER_URL, assertNoReplicationReaders, customerAuth, drained, stackCounters, stock } from './stack.ts';
import { stackDown, stackUp } from '@shop/testkit/processes';
import { pgbenchCeiling } from './ceiling.ts';
import { median, percentile, table } from './stats.ts';

type Mode = 'events' | 'long poll' | 'poll';
const COUNTERS = ['order_view_database_reads_total'] as const;

// Each simulated client is its own customer: the per-client caps (open waits, orders per minute)
// apply to one customer, not to the whole load.
async function place(sku: string, customer: string): Promise<string | undefined> {
  const res = await fetch(`${ORDER_URL}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID(), ...(await customerAuth(customer)) },
    body: JSON.stringify({ customerId: customer, currency: 'EUR', paymentToken: 'tok_ok', items: [{ sku, quantity: 1 }] }),
  });
  const body = (await res.json()) as { orderId?: string };
  return res.status === 201 ? body.orderId : undefined;
}

/** Waits until the order is terminal; the number of HTTP requests it took. */
async function waitEnd(id: string, mode: Mode, customer: string): Promise<number> {
  if (mode === 'events') {
    const res = await fetch(`${ORDER_URL}/orders/${id}/events`, { headers: await customerAuth(customer), signal: AbortSignal.timeout(60_000) });
    for await (const chunk of res.body!) if (/"status":"(COMPLETED|CANCELLED)"/.test(Buffer.from(chunk).toString())) break;
    return 1;
  }
  for (let requests = 1; ; requests++) {
    const url = mode === 'long poll' ? `${ORDER_URL}/orders/${id}?waitFor=terminal&timeout=20s` : `${ORDER_URL}/orders/${id}`;
    const { status } = (await (await fetch(url, { headers: await customerAuth(customer) })).json()) as { status: string };
    if (status === 'COMPLETED' || status === 'CANCELLED') return requests;
    if (mode === 'poll') await new Promise((r) => setTimeout(r, 100));
  }
}

async function waitingNow(): Promise<number> {
  const text = await fetch(`${ORDER_URL}/metrics`).then((r) => r.text());
  return Number(/^order_waiting_clients\{[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0);
}

interface Window {
  orders: number;
  dbReadsPerOrder: number;
  requestsPerOrder: number;
  p50: number;
  p99: number;
  peakWaiting: number;
}

async function window(clients: number, rate: number, seconds: number, modes: Mode[]): Promise<Window> {
  const sku = `WAIT-${Date.now().toString(36)}`.toUpperCase();
  await stock(sku, Math.ceil(rate * seconds * 1.5) + 100);
  const before = await stackCounters(COUNTERS);
  const cycleMs = (clients / rate) * 1000;
  const latencies: number[] = [];
  let requests = 0;
  let peakWaiting = 0;
  const end = performance.now() + seconds * 1000;
  const sampler = setInterval(() => void waitingNow().then((n) => (peakWaiting = Math.max(peakWaiting, n))), 500);
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      const mode = modes[c % modes.length];
      await new Promise((r) => setTimeout(r, (c / clients) * cycleMs));
      while (performance.now() < end) {
        const cycleStart = performance.now();
        const id = await place(sku, `waiter-${c}`);
        if (id) {
          const waited = await waitEnd(id, mode, `waiter-${c}`); // before the +=: `requests += await …` would add to a stale value
          requests += 1 + waited;
          latencies.push(performance.now() - cycleStart);
        }
        const rest = cycleMs - (performance.now() - cycleStart);
        if (rest > 0) await new Promise((r) => setTimeout(r, rest));
      }
    }),
  );
  clearInterval(sampler);
  await drained();
  const after = await stackCounters(COUNTERS);
  const orders = latencies.length;
  latencies.sort((x, y) => x - y);
  return {
    orders,
    dbReadsPerOrder: (after.order_view_database_reads_total - before.order_view_database_reads_total) / Math.max(1, orders),
    requestsPerOrder: requests / Math.max(1, orders),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    peakWaiting,
  };
}

export async function waitersBench(): Promise<void> {
  const clients = Number(process.env.BENCH_CLIENTS ?? 1000);
  const rate = Number(process.env.BENCH_RATE ?? 250);
  const seconds = Number(process.env.BENCH_SECONDS ?? 30);
  await stackDown();
  await assertNoReplicationReaders();
  const ceiling = median(await pgbenchCeiling(10, 3));
  await stackUp();
  await window(50, 20, 5, ['events', 'long poll']); // warm-up, not counted
  const pushed = await window(clients, rate, seconds, ['events', 'long poll']);
  const polled = await window(clients, rate, seconds, ['poll']);
  const row = (name: string, w: Window) => [
    name,
    String(w.orders),
    w.dbReadsPerOrder.toFixed(2),
    w.requestsPerOrder.toFixed(1),
    w.p50.toFixed(0),
    w.p99.toFixed(0),
    String(w.peakWaiting),
  ];
  console.log(`\n${clients} clients, orders at ${rate}/s for ${seconds} s, each client waiting for its order to end:\n`);
  console.log(
    table(
      [
        'clients wait by',
        'orders',
        'order reads from the database per order',
        'HTTP requests per order',
        'placement → client told, p50 ms',
        'p99 ms',
        'most waiting at once',
      ],
      [row('events (half) and long poll (half)', pushed), row('GET every 100 ms (through the cache)', polled)],
    ),
  );
  console.log(`\npgbench ceiling of this machine (order + outbox insert, 8 clients, median of 3 × 10 s): ${ceiling.toFixed(0)} tx/s`);
}
