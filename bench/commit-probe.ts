// Why a placement was slow, told apart: the service, or the disk under Postgres. Measured on this
// VM with log_min_duration_statement: most bursts of slow POST /orders were groups of 7–13
// COMMITs of the orders database finishing in the same millisecond after 15–44 ms (a WAL flush
// that waited on the disk); the others lined up with the order-service's major GCs.
import pg from 'pg';
import { BENCH_DATABASE_URL, prepareBenchDatabase } from './cdc.ts';

export interface Timed {
  /** performance.now() when it started. */
  at: number;
  ms: number;
}

/** A commit slower than this is a stall of the WAL flush, not a busy moment. */
const STALL_MS = Number(process.env.BENCH_COMMIT_STALL_MS ?? 10);

let prepared: Promise<void> | undefined;

/**
 * Starts a side probe of the cluster's commit latency: a one-row autocommit insert every 10 ms
 * in the scratch database (its commit waits for a WAL flush, as every order's does, on the
 * same WAL). `stop()` ends it and returns the commits it timed.
 */
export async function startCommitProbe(everyMs = 10): Promise<{ stop: () => Promise<Timed[]> }> {
  // Once per bench process, not per window: the scratch database only has to exist.
  prepared ??= prepareBenchDatabase();
  await prepared;
  const client = new pg.Client({ connectionString: BENCH_DATABASE_URL });
  await client.connect();
  await client.query('create table if not exists commit_probe (id bigserial primary key, at timestamptz not null default now())');
  await client.query('truncate commit_probe');
  const commits: Timed[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const at = performance.now();
      await client.query('insert into commit_probe default values');
      commits.push({ at, ms: performance.now() - at });
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      await client.end();
      return commits;
    },
  };
}

/**
 * Of the requests slower than `slowMs`, the share that overlapped a stalled probe commit: a
 * high share says the tail was the disk's, a low one that it was the service's own.
 */
export function shareDuringStalls(requests: Timed[], commits: Timed[], slowMs: number): number {
  const stalls = commits.filter((c) => c.ms > STALL_MS);
  const slow = requests.filter((r) => r.ms > slowMs);
  if (slow.length === 0) return NaN;
  const overlapping = slow.filter((r) => stalls.some((s) => s.at < r.at + r.ms && r.at < s.at + s.ms));
  return overlapping.length / slow.length;
}
