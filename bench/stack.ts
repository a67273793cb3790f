// Bench helpers against the stack of `npm run up` (started here if needed).
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { uuidv7 } from 'uuidv7';
import pg from 'pg';
import { COMPONENTS, STACK, urlOf } from '@shop/lib/manifest';
import { serviceDatabaseUrl } from '@shop/lib/db/databases';
import { runningPid, STACK_PROCESSES, stackDown, stackUp, type StackProcess } from '@shop/testkit/processes';
import { waitFor } from '@shop/testkit/wait';
import { setStockLevel } from '@shop/testkit/stock';
import { customerTokens } from '@shop/testkit/tokens';

export const ORDER_URL = `http://127.0.0.1:${process.env.ORDER_PORT ?? 3001}`;
export const INVENTORY_URL = `http://127.0.0.1:${process.env.INVENTORY_PORT ?? 3002}`;

/** The pid of each running process of the stack, from its pid file. */
export function stackPids(): Partial<Record<StackProcess, number>> {
  const out: Partial<Record<StackProcess, number>> = {};
  for (const name of STACK_PROCESSES) {
    const pid = runningPid(name);
    if (pid) out[name] = pid;
  }
  return out;
}

/**
 * Runs `measure` with the relay stopped, so no event moves and the other services sit idle (the
 * placement path alone), then starts it again; the caller waits for the backlog with `drained`.
 */
export async function withRelayPaused<T>(measure: () => Promise<T>): Promise<T> {
  await stackDown('outbox-relay');
  try {
    return await measure();
  } finally {
    await stackUp();
  }
}

export async function stock(sku: string, onHand: number): Promise<void> {
  await setStockLevel(INVENTORY_URL, process.env.ADMIN_TOKEN ?? 'dev-admin-token', sku, onHand);
}

// node:http with a keep-alive agent, not fetch: the load generator shares the two cores with
// what it measures, and fetch cost ~1.3 ms of CPU per request (40 % of a core at 300 req/s)
// against ~0.3 ms here.
const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
const ORDER = new URL(ORDER_URL);

/** `{ authorization }` of a customer's token (minted once per customer, as a client keeps its token). */
export const customerAuth = customerTokens();

let placed = 0;
/** Places one order; resolves with its id and the request latency in ms (status 0: no answer). */
export async function place(sku: string): Promise<{ orderId?: string; ms: number; status: number }> {
  // A thousand customers take turns, as a shop's load comes from many (each under its own limits).
  const customer = `bench-${placed++ % 1000}`;
  const auth = await customerAuth(customer);
  const t0 = performance.now();
  const body = JSON.stringify({ customerId: customer, currency: 'EUR', paymentToken: 'tok_ok', items: [{ sku, quantity: 1 }] });
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: ORDER.hostname,
        port: ORDER.port,
        path: '/orders',
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'idempotency-key': uuidv7(), ...auth },
      },
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

/** Closed loop: `concurrency` requests in flight for `seconds`; each starts when one ends. */
export async function closedLoop<T>(concurrency: number, seconds: number, fn: () => Promise<T>): Promise<T[]> {
  const end = performance.now() + seconds * 1000;
  const all: T[] = [];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) all.push(await fn());
    }),
  );
  return all;
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
  for (const [name, pid] of Object.entries(stackPids())) {
    try {
      const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      if (hwm) out[name] = Math.round(Number(hwm) / 1024);
    } catch {
      // not running
    }
  }
  return out;
}

/**
 * Waits until the workflow has nothing left to do — every relay slot published, every consumer
 * group caught up (the ops console's view) — so the next run starts on an idle machine.
 */
export async function drained(): Promise<void> {
  type Overview = { relayUp: boolean; slots: { pendingMessages: number; lagBytes: number }[]; consumerLag: { lag: number }[] };
  const opsConsole = COMPONENTS.find((c) => c.name === 'ops-console')!;
  let polls = 0;
  let unreachable = 0;
  await waitFor(
    async () => {
      unreachable++;
      const res = await fetch(`${urlOf(opsConsole)}/api/overview`, { headers: { authorization: `Bearer ${process.env.ADMIN_TOKEN ?? 'dev-admin-token'}` } });
      const o = (await res.json()) as Overview;
      if (res.status !== 200 || !o.relayUp) return false; // the console or the relay is not up yet
      unreachable = 0;
      const left = o.slots.reduce((n, s) => n + s.pendingMessages, 0) + o.consumerLag.reduce((n, c) => n + c.lag, 0);
      if (polls++ % 30 === 0) console.error(`waiting for the workflow to drain: ${left} messages left`);
      // lagBytes too: a relay that just started has nothing pending before it reads its slot.
      return left === 0 && o.consumerLag.length > 0 && o.slots.every((slot) => slot.lagBytes < 65_536);
    },
    {
      what: 'the workflow to drain',
      timeoutMs: 30 * 60_000,
      intervalMs: 1000,
      abortIf: () => unreachable >= 30,
      abortReason: 'the ops console, or the relay behind it, has not answered for 30 s',
    },
  );
}

/**
 * Refuses to go on while any replication slot on the cluster is active: logical decoding reads
 * the whole cluster's WAL, so a running stack's relay would decode the bench's writes too, and
 * its services would share the CPU. A check, not a stop: a developer's stack is theirs to stop.
 */
export async function assertNoReplicationReaders(): Promise<void> {
  const admin = new pg.Client({ connectionString: serviceDatabaseUrl('orders') });
  await admin.connect();
  try {
    const active = await admin.query<{ slot_name: string; database: string }>('select slot_name, database from pg_replication_slots where active');
    if (active.rowCount) {
      const names = active.rows.map((r) => `${r.slot_name} on ${r.database}`).join(', ');
      throw new Error(`other replication readers are active (${names}): stop them first (node scripts/stack.mjs down)`);
    }
  } finally {
    await admin.end();
  }
}

/** Each named counter summed over every process of the stack that exposes it (its /metrics). */
export async function stackCounters<N extends string>(names: readonly N[]): Promise<Record<N, number>> {
  const totals = Object.fromEntries(names.map((n) => [n, 0])) as Record<N, number>;
  await Promise.all(
    STACK.map(async (p) => {
      const text = await fetch(`${urlOf(p)}/metrics`)
        .then((r) => r.text())
        .catch(() => '');
      for (const line of text.split('\n')) {
        const m = /^([a-z_]+)(?:\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
        if (m && m[1] in totals) totals[m[1] as N] += Number(m[2]);
      }
    }),
  );
  return totals;
}
