// Starts real relay processes on their own slots and publication, and drops both afterwards.
import { randomUUID } from 'node:crypto';
import { afterAll, onTestFinished } from 'vitest';
import { SERVICE_DATABASES } from '@shop/lib/db/databases';
import { pool } from './infra.ts';
import { Collector, createTopics } from './kafka.ts';
import { fetchStatus, startProcess, stopAll, waitFor, type RunningProcess } from './processes.ts';

export interface RelayHarness {
  prefix: string;
  publication: string;
  env: Record<string, string>;
  start(extraEnv?: Record<string, string>): Promise<RunningProcess>;
  slotState(db: string): Promise<{ active: boolean; confirmed_flush_lsn: string; restart_lsn: string } | undefined>;
}

// Registered when this module loads (test collection), so it runs even for harnesses made
// inside hooks or tests, where registering a new hook would be too late.
const harnesses: { prefix: string; publication: string }[] = [];
afterAll(async () => {
  if (harnesses.length === 0) return;
  await stopAll(); // a running relay keeps its slot active, and an active slot cannot be dropped
  for (const h of harnesses.splice(0)) await dropSlots(h.prefix, h.publication);
});

export async function dropSlots(prefix: string, publication: string): Promise<void> {
  for (const db of SERVICE_DATABASES) {
    const p = pool(db, 1);
    try {
      // The slot may still be active for a moment after its relay was killed.
      await waitFor(
        async () => {
          const r = await p.query('select active from pg_replication_slots where slot_name = $1', [`${prefix}_${db}`]);
          return r.rowCount === 0 || !r.rows[0].active;
        },
        { timeoutMs: 15_000, what: 'slot released' },
      ).catch(() => undefined);
      await p.query('select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = $1', [`${prefix}_${db}`]).catch(() => undefined);
      await p.query(`drop publication if exists "${publication}"`);
    } finally {
      await p.end();
    }
  }
}

export function relayHarness(env: Record<string, string> = {}): RelayHarness {
  const id = randomUUID().replace(/-/g, '').slice(0, 10);
  const prefix = `t${id}`;
  const publication = `t${id}_pub`;
  const baseEnv = { RELAY_SLOT_PREFIX: prefix, RELAY_PUBLICATION: publication, RELAY_STATUS_INTERVAL_MS: '500', RELAY_LAG_POLL_MS: '500', ...env };
  harnesses.push({ prefix, publication });
  return {
    prefix,
    publication,
    env: baseEnv,
    async start(extraEnv = {}) {
      const proc = await startProcess('outbox-relay', { env: { ...baseEnv, ...extraEnv }, logName: `relay-${prefix}` });
      // A relay left running would publish the next test's rows too (every relay sees every insert).
      onTestFinished(() => proc.kill());
      return proc;
    },
    async slotState(db) {
      const p = pool(db as (typeof SERVICE_DATABASES)[number], 1);
      try {
        const r = await p.query('select active, confirmed_flush_lsn::text, restart_lsn::text from pg_replication_slots where slot_name = $1', [
          `${prefix}_${db}`,
        ]);
        return r.rows[0];
      } finally {
        await p.end();
      }
    },
  };
}

/** Waits until every slot of this relay is streamed (not standby, not reconnecting). */
export async function waitActive(relay: RunningProcess, timeoutMs = 30_000): Promise<void> {
  await waitFor(async () => (await fetchStatus(`${relay.url}/readyz`)) === 200 && (await allActive(relay)), { timeoutMs, what: 'relay active' });
}

async function allActive(relay: RunningProcess): Promise<boolean> {
  const res = await fetch(`${relay.url}/lag`);
  const body = (await res.json()) as { slots: { state: string }[] };
  return body.slots.length > 0 && body.slots.every((s) => s.state === 'active');
}

/**
 * The usual start of a relay test: a topic of its own (from a unique aggregate type), a relay
 * on its own slots, streaming, and a collector reading that topic.
 */
export async function streamingRelay(label: string, env: Record<string, string> = {}) {
  const run = `${label}${randomUUID().slice(0, 8)}`;
  const topic = `${run}.events`;
  await createTopics([topic]);
  const harness = relayHarness(env);
  const relay = await harness.start();
  await waitActive(relay);
  const collector = await Collector.start([topic]);
  return { run, topic, harness, relay, collector };
}
