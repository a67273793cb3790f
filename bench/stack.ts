// Bench helpers against the stack of `npm run up` (started here if needed).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { uuidv7 } from 'uuidv7';
import { REPO_ROOT } from '@shop/lib/db/databases';

const exec = promisify(execFile);
export const ORDER_URL = `http://127.0.0.1:${process.env.ORDER_PORT ?? 3001}`;
export const INVENTORY_URL = `http://127.0.0.1:${process.env.INVENTORY_PORT ?? 3002}`;

export async function stackUp(): Promise<void> {
  await exec(process.execPath, [join(REPO_ROOT, 'scripts/stack.mjs'), 'up'], { cwd: REPO_ROOT, timeout: 180_000 });
}

/** Stops one process of the stack (`stack.mjs down <name>`); `stackUp` starts it again. */
export async function stopStackProcess(name: string): Promise<void> {
  await exec(process.execPath, [join(REPO_ROOT, 'scripts/stack.mjs'), 'down', name], { cwd: REPO_ROOT, timeout: 30_000 });
}

export async function stock(sku: string, onHand: number): Promise<void> {
  const res = await fetch(`${INVENTORY_URL}/products/${sku}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${process.env.ADMIN_TOKEN ?? 'dev-admin-token'}` },
    body: JSON.stringify({ name: sku, onHand }),
  });
  if (res.status !== 200) throw new Error(`stock ${sku}: ${res.status}`);
}

// node:http with a keep-alive agent, not fetch: the load generator shares the two cores with
// what it measures, and fetch cost ~1.3 ms of CPU per request (40 % of a core at 300 req/s)
// against ~0.3 ms here.
const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
const ORDER = new URL(ORDER_URL);

/** Places one order; resolves with its id and the request latency in ms (status 0: no answer). */
export function place(sku: string): Promise<{ orderId?: string; ms: number; status: number }> {
  const t0 = performance.now();
  const body = JSON.stringify({ customerId: 'bench', currency: 'EUR', paymentToken: 'tok_ok', items: [{ sku, quantity: 1, unitPriceCents: 100 }] });
  return new Promise((resolve) => {
    const req = http.request(
      { host: ORDER.hostname, port: ORDER.port, path: '/orders', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'idempotency-key': uuidv7() } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let orderId: string | undefined;
          try {
            orderId = (JSON.parse(Buffer.concat(chunks).toString()) as { orderId?: string }).orderId;
          } catch {
            // not JSON: counted by its status
          }
          resolve({ orderId, ms: performance.now() - t0, status: res.statusCode ?? 0 });
        });
        res.on('error', () => resolve({ ms: NaN, status: 0 }));
      },
    );
    req.on('error', () => resolve({ ms: NaN, status: 0 }));
    req.end(body);
  });
}

/** Open loop: starts `rate` requests per second for `seconds`, whatever the answers. */
export async function openLoop<T>(rate: number, seconds: number, fn: () => Promise<T>): Promise<T[]> {
  const start = performance.now();
  const total = Math.round(rate * seconds);
  const all: Promise<T>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    all.push(fn());
  }
  return Promise.all(all);
}

/** Peak resident memory (VmHWM) of each process of the stack, in MiB. */
export function peakRss(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of ['order-service', 'inventory-service', 'payment-service', 'notification-service', 'outbox-relay']) {
    try {
      const pid = readFileSync(join(REPO_ROOT, '.state/run', `${name}.pid`), 'utf8').trim();
      const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      if (hwm) out[name] = Math.round(Number(hwm) / 1024);
    } catch {
      // not running
    }
  }
  return out;
}
