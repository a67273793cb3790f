// Soak: open-loop load plus F faults at seeded random times, then drain and check.
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { toolKafka } from '@shop/testkit/kafka';
import pg from 'pg';
import { REPO_ROOT, serviceDatabaseUrl } from '@shop/lib/db/databases';
import { instancesOf, SERVICE_INSTANCES, STACK_INSTANCES, STACK_PROCESSES, stackUp, STATE_DIR } from '@shop/testkit/processes';
import { check, type CheckInput, type CheckReport } from './checker.ts';
import { consumerLag } from './drain.ts';
import { ACTIONS, type FaultRecord } from './faults.ts';
import { runLoad, seededRandom } from './load.ts';
import { outcome, type Outcome } from './outcome.ts';
import { proxyRunning } from './proxy/control.ts';
import { PROXIED } from './proxy/routes.ts';
import { setStockLevel } from '@shop/testkit/stock';

const exec = promisify(execFile);

export interface SoakOptions {
  orders: number;
  faults: number;
  seed: number;
  rate: number;
}

let relayKills = 0;

const pick = <T>(random: () => number, list: readonly T[]): T => list[Math.floor(random() * list.length)];

/** One fault = an injection and, after a pause, its recovery. Kinds are cycled so every kind appears. */
const FAULTS: { name: string; run: (random: () => number) => Promise<FaultRecord[]> }[] = [
  { name: 'kill service', run: async (r) => killAndRestart(pick(r, SERVICE_INSTANCES)) },
  {
    name: 'kill relay',
    // With two relays, they take turns: the first kill hits the active one, and each kill after
    // that the one that took its slots over (a kill of a standby would prove nothing).
    run: async () => {
      const relays = instancesOf('outbox-relay');
      return killAndRestart(relays[relayKills++ % relays.length]);
    },
  },
  { name: 'kafka outage', run: async () => withPause([await ACTIONS['kafka-stop']()], 4_000, () => ACTIONS['kafka-start']()) },
  { name: 'pg restart', run: async () => [await ACTIONS['pg-restart']()] },
  {
    name: 'walsender killed',
    run: async (r) => [await ACTIONS['pg-kill-walsender'](pick(r, ['orders', 'inventory', 'payments', 'notifications']))],
  },
  { name: 'redis outage', run: async () => withPause([await ACTIONS['redis-stop']()], 3_000, () => ACTIONS['redis-start']()) },
  {
    name: 'hung process',
    run: async (r) => {
      const t = pick(r, STACK_PROCESSES.slice(0, 5));
      return withPause([await ACTIONS.pause(t)], 3_000, () => ACTIONS.resume(t));
    },
  },
  { name: 'poison message', run: async () => [await ACTIONS.poison('order.events')] },
];

/**
 * Network faults, when the stack runs behind the fault proxy (FAULT_PROXY=1): latency on every
 * link to Kafka, one process cut off from Postgres or from Kafka (the latter past the consumer
 * group's session timeout, so its partitions move and come back), every Postgres connection cut.
 */
const NETWORK_FAULTS: typeof FAULTS = [
  { name: 'kafka latency', run: async () => [await ACTIONS.latency('kafka', '200', '5s')] },
  { name: 'db partition', run: async (r) => [await ACTIONS.partition(pick(r, PROXIED), 'postgres', '5s')] },
  { name: 'kafka partition', run: async (r) => [await ACTIONS.partition(pick(r, PROXIED), 'kafka', '12s')] },
  { name: 'connections reset', run: async () => [await ACTIONS.reset('postgres')] },
];

async function killAndRestart(target: string): Promise<FaultRecord[]> {
  const killed = await ACTIONS.kill(target);
  await new Promise((r) => setTimeout(r, 1_000));
  return [killed, await ACTIONS.restart(target)];
}

async function withPause(first: FaultRecord[], ms: number, recover: () => Promise<FaultRecord>): Promise<FaultRecord[]> {
  await new Promise((r) => setTimeout(r, ms));
  return [...first, await recover()];
}

export interface SoakResult extends CheckReport {
  faults: FaultRecord[];
  outcome: Outcome;
  drainMs: number;
  /** What the checker needs to run again (e.g. after a deliberate corruption). */
  input: CheckInput;
}

export async function soak(opts: SoakOptions): Promise<SoakResult> {
  const random = seededRandom(opts.seed);
  const since = new Date();
  await exec('bash', [join(REPO_ROOT, 'scripts/infra.sh'), 'up'], { cwd: REPO_ROOT, timeout: 600_000 });
  await stackUp();
  // Interleaved, so a short soak meets the network faults while orders still flow.
  const kinds = (await proxyRunning()) ? FAULTS.flatMap((f, i) => [f, ...(NETWORK_FAULTS[i] ? [NETWORK_FAULTS[i]] : [])]) : FAULTS;

  // SKUs of this run, stocked so that roughly a third of the demand goes out of stock.
  const run = `${opts.seed}-${Date.now().toString(36)}`.toUpperCase();
  const skus = Array.from({ length: 5 }, (_, i) => `SOAK-${run}-${i}`);
  const perSku = Math.max(1, Math.round((opts.orders * 2 * 0.6) / skus.length));
  const startStock: Record<string, number> = {};
  for (const sku of skus) {
    await setStockLevel(`http://127.0.0.1:${process.env.INVENTORY_PORT ?? 3002}`, process.env.ADMIN_TOKEN ?? 'dev-admin-token', sku, perSku, {
      name: `soak ${sku}`,
    });
    startStock[sku] = perSku;
  }

  const durationMs = (opts.orders / opts.rate) * 1000;
  const faultTimes = Array.from({ length: opts.faults }, () => random() * durationMs * 0.9).sort((a, b) => a - b);
  mkdirSync(join(STATE_DIR, 'chaos'), { recursive: true });
  const recordFile = join(STATE_DIR, 'chaos', `load-${run}.jsonl`);
  const started = Date.now();
  const load = runLoad({
    orderUrls: STACK_INSTANCES.filter((p) => p.app === 'order-service').map((p) => `http://127.0.0.1:${p.port}`),
    orders: opts.orders,
    rate: opts.rate,
    skus,
    tokens: ['tok_ok', 'tok_ok', 'tok_ok', 'tok_decline', 'tok_flaky'],
    random,
    recordFile,
  });
  const faults: FaultRecord[] = [];
  const poisonKeys: string[] = [];
  for (let i = 0; i < faultTimes.length; i++) {
    const wait = started + faultTimes[i] - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const kind = kinds[i % kinds.length];
    try {
      const done = await kind.run(random);
      faults.push(...done);
      for (const f of done) if (f.action === 'poison' && f.detail) poisonKeys.push(f.detail);
    } catch (error) {
      faults.push({ at: new Date().toISOString(), action: `${kind.name} FAILED`, detail: (error as Error).message });
    }
  }
  const records = await load;

  // Drain: everything back up, every acknowledged order terminal, every consumer caught up.
  const drainStart = Date.now();
  await ACTIONS['kafka-start']();
  await ACTIONS['redis-start']();
  if (kinds !== FAULTS) await ACTIONS.heal();
  for (const p of STACK_PROCESSES) await ACTIONS.resume(p).catch(() => undefined);
  await stackUp();
  await waitTerminal(records.filter((r) => r.orderId).map((r) => r.orderId!));
  await waitQuiet();
  const drainMs = Date.now() - drainStart;
  const input: CheckInput = { records, startStock, poisonKeys, since };
  const report = await check(input);
  return { ...report, faults, drainMs, input, outcome: await outcome(records) };
}

/**
 * Compensations (releases, refunds, notifications) still travel after the last order is
 * terminal: wait until every slot is streamed by a relay with nothing pending and every consumer group is caught up,
 * twice in a row.
 */
type SlotView = { database: string; state: string; pendingMessages: number; lagBytes: number | null };

async function waitQuiet(timeoutMs = 300_000): Promise<void> {
  const admin = toolKafka('chaos-soak').admin();
  await admin.connect();
  const deadline = Date.now() + timeoutMs;
  try {
    for (let quiet = 0; quiet < 2 && Date.now() < deadline;) {
      // Every slot streamed by one of the relays, with nothing pending there (a standby holds nothing).
      const views = await Promise.all(
        STACK_INSTANCES.filter((p) => p.app === 'outbox-relay').map((p) =>
          fetch(`http://127.0.0.1:${p.port}/lag`)
            .then((r) => r.json() as Promise<{ slots: SlotView[] }>)
            .then((v) => v.slots)
            .catch(() => [] as SlotView[]),
        ),
      );
      const active = views.flat().filter((s) => s.state === 'active');
      const databases = new Set(views.flat().map((s) => s.database));
      const relayIdle =
        databases.size > 0 &&
        [...databases].every((db) => active.some((s) => s.database === db)) &&
        active.every((s) => s.pendingMessages === 0 && (s.lagBytes ?? 0) < 1_000_000);
      quiet = relayIdle && (await consumerLag(admin)) === 0 ? quiet + 1 : 0;
      await new Promise((r) => setTimeout(r, 1_000));
    }
  } finally {
    await admin.disconnect();
  }
}

async function waitTerminal(orderIds: string[], timeoutMs = 300_000): Promise<void> {
  const db = new pg.Pool({ connectionString: serviceDatabaseUrl('orders'), max: 1 });
  const notifications = new pg.Pool({ connectionString: serviceDatabaseUrl('notifications'), max: 1 });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const open = (
        await db.query<{ n: number }>("select count(*)::int as n from orders where id = any($1::uuid[]) and status not in ('COMPLETED', 'CANCELLED')", [
          orderIds,
        ])
      ).rows[0].n;
      const notified = (
        await notifications.query<{ n: number }>('select count(distinct order_id)::int as n from notifications where order_id = any($1::uuid[])', [orderIds])
      ).rows[0].n;
      if (open === 0 && notified >= orderIds.length) return;
      if (Date.now() > deadline) return; // the checker reports what is still open
      process.stderr.write(`\r[drain] ${open} orders open, ${orderIds.length - notified} without notification   `);
      await new Promise((r) => setTimeout(r, 1_000));
    }
  } finally {
    await db.end();
    await notifications.end();
  }
}
