// A whole stack of real processes for end-to-end tests: the relay on its own slots plus the
// four services (optionally several instances each), and a small client for their HTTP APIs.
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { setStockLevel, type StockOptions } from '@shop/testkit/stock';
import { proxiedEnv } from '../../chaos/proxy/routes.ts';
import { relayHarness, waitActive } from './relay.ts';
import { startProcess, waitFor, type RunningProcess } from './processes.ts';

export const ADMIN = { authorization: 'Bearer test-admin-token' };
const SERVICES = ['order-service', 'inventory-service', 'payment-service', 'notification-service'] as const;
type Service = (typeof SERVICES)[number];

export interface Stack {
  relay: RunningProcess;
  instances: Record<Service, RunningProcess[]>;
  url(service: Service): string;
  start(service: Service): Promise<RunningProcess>;
  /** SIGKILL the relay and start a new one on the same slots. */
  killAndRestartRelay(): Promise<void>;
}

export interface StackOptions {
  instances?: Partial<Record<Service, number>>;
  env?: Record<string, string>;
  /** Connect every process to Postgres and Kafka through the fault proxy's routes (the caller runs the proxy). */
  behindProxy?: boolean;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const env = { ORDER_DEADLINE_MS: '10000', ORDER_DEADLINE_SWEEP_MS: '250', PAYMENT_PROVIDER_TIMEOUT_MS: '500', RETRY_BASE_MS: '50', ...opts.env };
  const harness = relayHarness();
  const instances = Object.fromEntries(SERVICES.map((s) => [s, [] as RunningProcess[]])) as Record<Service, RunningProcess[]>;
  const start = async (service: Service) => {
    const p = await startProcess(service, { env: { ...env, ...(opts.behindProxy ? proxiedEnv(service) : {}) } });
    instances[service].push(p);
    await waitFor(async () => (await fetch(`${p.url}/readyz`)).status === 200, { what: `${service} ready`, timeoutMs: 30_000 });
    return p;
  };
  await Promise.all(SERVICES.flatMap((s) => Array.from({ length: opts.instances?.[s] ?? 1 }, () => start(s))));
  const relayEnv = { ...harness.env, ...env, ...(opts.behindProxy ? proxiedEnv('outbox-relay') : {}) };
  const relay = await startProcess('outbox-relay', { env: relayEnv, logName: `relay-${harness.prefix}` });
  await waitActive(relay);
  const stack: Stack = {
    relay,
    instances,
    start,
    async killAndRestartRelay() {
      await stack.relay.kill();
      stack.relay = await startProcess('outbox-relay', { env: relayEnv, logName: `relay-${harness.prefix}` });
    },
    url(service) {
      const live = instances[service].find((p) => p.child.exitCode === null && p.child.signalCode === null);
      if (!live) throw new Error(`no live ${service}`);
      return live.url;
    },
  };
  return stack;
}

export const uniqueSku = (label = 'SKU') => `${label}-${randomUUID().slice(0, 8)}`.toUpperCase();

/** Stocks `sku` at 10.00 EUR a unit unless `options` says otherwise. */
export async function setStock(stack: Stack, sku: string, onHand: number, options: StockOptions = {}): Promise<void> {
  expect([200, 201]).toContain(await setStockLevel(stack.url('inventory-service'), 'test-admin-token', sku, onHand, { name: `product ${sku}`, ...options }));
}

export async function product(stack: Stack, sku: string): Promise<{ onHand: number; reserved: number; available: number; version: number }> {
  return (await fetch(`${stack.url('inventory-service')}/products/${sku}`)).json();
}

export interface PlaceOrder {
  customerId?: string;
  paymentToken?: string;
  items: { sku: string; quantity: number; unitPriceCents?: number }[];
}

export async function placeOrder(
  stack: Stack,
  order: PlaceOrder,
  baseUrl = stack.url('order-service'),
): Promise<{ orderId: string; status: string; totalCents: number | null }> {
  const res = await fetch(`${baseUrl}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
    body: JSON.stringify({
      customerId: order.customerId ?? 'customer-1',
      currency: 'EUR',
      paymentToken: order.paymentToken ?? 'tok_ok',
      items: order.items,
    }),
  });
  expect(res.status).toBe(201);
  return res.json();
}

export interface OrderView {
  orderId: string;
  status: string;
  reason: string | null;
  totalCents: number | null;
  history: { status: string; reason: string | null; cause: string }[];
}

export async function getOrder(stack: Stack, orderId: string): Promise<OrderView> {
  return (await fetch(`${stack.url('order-service')}/orders/${orderId}`)).json();
}

export async function waitTerminal(stack: Stack, orderId: string, timeoutMs = 30_000): Promise<OrderView> {
  return waitFor(
    async () => {
      const o = await getOrder(stack, orderId);
      return o.status === 'COMPLETED' || o.status === 'CANCELLED' ? o : undefined;
    },
    { timeoutMs, what: `order ${orderId} terminal` },
  );
}

export async function payments(
  stack: Stack,
  orderId: string,
): Promise<{ charges: { status: string; amountCents: number }[]; refunds: { amountCents: number }[] }> {
  return (await fetch(`${stack.url('payment-service')}/payments?orderId=${orderId}`)).json();
}

export async function notifications(stack: Stack, orderId: string): Promise<{ notifications: { status: string }[] }> {
  return (await fetch(`${stack.url('notification-service')}/notifications?orderId=${orderId}`)).json();
}

/** Net amount charged for an order: captured charges minus refunds. */
export async function netCharged(stack: Stack, orderId: string): Promise<number> {
  const p = await payments(stack, orderId);
  const captured = p.charges.filter((c) => c.status === 'CAPTURED').reduce((s, c) => s + c.amountCents, 0);
  return captured - p.refunds.reduce((s, r) => s + r.amountCents, 0);
}

export async function cancelOrder(stack: Stack, orderId: string): Promise<Response> {
  return fetch(`${stack.url('order-service')}/orders/${orderId}/cancel`, { method: 'POST', headers: { 'idempotency-key': randomUUID() } });
}
