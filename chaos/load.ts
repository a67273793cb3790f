// Open-loop load generator: places orders at a target rate whatever the answers, as a careful
// client: every order has an Idempotency-Key and is retried with the same key on network
// errors, 5xx and 409 (a 503 after its Retry-After). Every request and answer is recorded (JSON lines) for the checker.
import { appendFileSync, writeFileSync } from 'node:fs';
import { uuidv7 } from 'uuidv7';
import { customerTokens } from '@shop/testkit/tokens';

/** Each of the load's customers signs in once (a token per customer id). */
const tokenOf = customerTokens();

export interface LoadOptions {
  /** Every order-service copy: requests take turns, and a retry goes to the next one (a dead copy costs one try). */
  orderUrls: string[];
  orders: number;
  rate: number;
  skus: string[];
  tokens: string[];
  random: () => number;
  recordFile: string;
  /** Stop retrying one order after this long (the client gives up; the order may still exist). */
  giveUpMs?: number;
}

export interface LoadRecord {
  i: number;
  key: string;
  sku: string;
  quantity: number;
  token: string;
  sentAt: string;
  status: number | null;
  orderId: string | null;
  attempts: number;
  /** 503 answers (the door refused, or the service was briefly unavailable): retried after Retry-After. */
  refusals: number;
  error?: string;
}

export async function runLoad(opts: LoadOptions): Promise<LoadRecord[]> {
  writeFileSync(opts.recordFile, '');
  const records: LoadRecord[] = [];
  const start = Date.now();
  let done = 0;
  let ok = 0;
  const progress = setInterval(() => {
    process.stderr.write(`\r[load] ${done}/${opts.orders} answered, ${ok} created, ${((Date.now() - start) / 1000).toFixed(0)} s   `);
  }, 1_000);
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < opts.orders; i++) {
    const due = start + (i * 1000) / opts.rate;
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    const sku = opts.skus[Math.floor(opts.random() * opts.skus.length)];
    const quantity = 1 + Math.floor(opts.random() * 3);
    const token = opts.tokens[Math.floor(opts.random() * opts.tokens.length)];
    inFlight.push(
      placeWithRetries(opts, {
        i,
        key: uuidv7(),
        sku,
        quantity,
        token,
        sentAt: new Date().toISOString(),
        status: null,
        orderId: null,
        attempts: 0,
        refusals: 0,
      }).then((r) => {
        records.push(r);
        done++;
        if (r.status === 201) ok++;
        appendFileSync(opts.recordFile, `${JSON.stringify(r)}\n`);
      }),
    );
  }
  await Promise.all(inFlight);
  clearInterval(progress);
  process.stderr.write(`\r[load] ${done}/${opts.orders} answered, ${ok} created in ${((Date.now() - start) / 1000).toFixed(1)} s\n`);
  return records.sort((a, b) => a.i - b.i);
}

async function placeWithRetries(opts: LoadOptions, r: LoadRecord): Promise<LoadRecord> {
  const customerId = `load-${r.i % 50}`;
  const auth = await tokenOf(customerId);
  const body = JSON.stringify({
    customerId,
    currency: 'EUR',
    paymentToken: r.token,
    items: [{ sku: r.sku, quantity: r.quantity }],
  });
  const giveUp = Date.now() + (opts.giveUpMs ?? 120_000);
  let retryAfterMs: number | undefined;
  for (let backoff = 100; ; backoff = Math.min(backoff * 2, 2_000)) {
    r.attempts++;
    try {
      const url = opts.orderUrls[(r.i + r.attempts) % opts.orderUrls.length];
      const res = await fetch(`${url}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': r.key, ...auth },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      const text = await res.text();
      r.status = res.status;
      if (res.status === 201) {
        r.orderId = (JSON.parse(text) as { orderId: string }).orderId;
        delete r.error;
        return r;
      }
      r.error = text.slice(0, 200);
      if (res.status < 500 && res.status !== 409) return r;
      if (res.status === 503) {
        // As asked: come back after Retry-After, with the same key.
        r.refusals++;
        retryAfterMs = Number(res.headers.get('retry-after') ?? 1) * 1000;
      }
    } catch (error) {
      r.status = null;
      r.error = (error as Error).message;
    }
    if (Date.now() > giveUp) return r;
    await new Promise((res) => setTimeout(res, retryAfterMs ?? backoff));
    retryAfterMs = undefined;
  }
}

/** Deterministic random numbers from a seed (mulberry32), so a soak can be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
