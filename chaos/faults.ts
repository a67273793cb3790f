// Failure injection against the locally started stack (`npm run up`): every action is real —
// signals to real processes, the real broker stopped, the real Postgres restarted, and real TCP
// connections slowed, stalled or cut by the fault proxy (FAULT_PROXY=1).
import { execFile } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { toolKafka } from '@shop/testkit/kafka';
import { REPO_ROOT, SERVICE_DATABASES, serviceDatabaseUrl, type ServiceDatabase } from '@shop/lib/db/databases';
import type { StackProcessName } from '@shop/lib/manifest';
import { runningPid as pidOf, STACK_PROCESSES, stackUp, STATE_DIR, type StackProcess } from '@shop/testkit/processes';
import { healFaults, injectFault, parseSeconds } from './proxy/control.ts';
import { FAULT_TARGETS, PROXIED, type FaultTarget } from './proxy/routes.ts';

const exec = promisify(execFile);

export interface FaultRecord {
  at: string;
  action: string;
  target?: string;
  detail?: string;
}

const LOG = join(STATE_DIR, 'logs', 'chaos.log');

export function record(action: string, target?: string, detail?: string): FaultRecord {
  const entry: FaultRecord = { at: new Date().toISOString(), action, target, detail };
  mkdirSync(join(STATE_DIR, 'logs'), { recursive: true });
  appendFileSync(LOG, `${JSON.stringify(entry)}\n`);
  console.log(`[chaos ${entry.at}] ${action}${target ? ` ${target}` : ''}${detail ? ` (${detail})` : ''}`);
  return entry;
}

function assertTarget(target: string | undefined): StackProcess {
  if (!STACK_PROCESSES.includes(target as StackProcess)) throw new Error(`target must be one of ${STACK_PROCESSES.join(', ')}`);
  return target as StackProcess;
}

const infra = (command: string) => exec('bash', [join(REPO_ROOT, 'scripts/infra.sh'), command], { cwd: REPO_ROOT, timeout: 180_000 });

async function signal(target: StackProcess, sig: NodeJS.Signals): Promise<number> {
  const pid = pidOf(target);
  if (!pid) throw new Error(`${target} is not running (start it with npm run up)`);
  process.kill(pid, sig);
  return pid;
}

export const ACTIONS: Record<string, (...args: string[]) => Promise<FaultRecord>> = {
  async kill(target) {
    const t = assertTarget(target);
    return record('kill', t, `SIGKILL pid ${await signal(t, 'SIGKILL')}`);
  },
  async restart(target) {
    const t = assertTarget(target);
    if (pidOf(t)) await signal(t, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    await stackUp();
    return record('restart', t, `now pid ${pidOf(t)}`);
  },
  async pause(target) {
    const t = assertTarget(target);
    return record('pause', t, `SIGSTOP pid ${await signal(t, 'SIGSTOP')}`);
  },
  async resume(target) {
    const t = assertTarget(target);
    return record('resume', t, `SIGCONT pid ${await signal(t, 'SIGCONT')}`);
  },
  async 'kafka-stop'() {
    await infra('kafka-stop');
    return record('kafka-stop');
  },
  async 'kafka-start'() {
    await infra('kafka-start');
    return record('kafka-start');
  },
  async 'pg-restart'() {
    await infra('pg-restart');
    return record('pg-restart', undefined, 'immediate mode');
  },
  async 'pg-kill-walsender'(target) {
    const db = (target ?? 'orders') as ServiceDatabase;
    if (!SERVICE_DATABASES.includes(db)) throw new Error(`database must be one of ${SERVICE_DATABASES.join(', ')}`);
    const client = new pg.Client({ connectionString: serviceDatabaseUrl(db) });
    await client.connect();
    try {
      const r = await client.query('select pg_terminate_backend(active_pid) as ok, slot_name from pg_replication_slots where database = $1 and active', [db]);
      return record('pg-kill-walsender', db, `${r.rowCount} walsender(s) terminated`);
    } finally {
      await client.end();
    }
  },
  async 'redis-stop'() {
    await infra('redis-stop');
    return record('redis-stop');
  },
  async 'redis-start'() {
    await infra('redis-start');
    return record('redis-start');
  },
  async poison(target) {
    const topic = target ?? 'order.events';
    const kafka = toolKafka('chaos-faults');
    const producer = kafka.producer();
    await producer.connect();
    const key = `poison-${Date.now()}`;
    await producer.send({ topic, acks: -1, messages: [{ key, value: '{"poison": true, this is not json' }] });
    await producer.disconnect();
    return record('poison', topic, key);
  },
  // Network faults through the fault proxy (FAULT_PROXY=1): latency [process] <target> <ms> [duration],
  // partition [process] <target> <duration>, reset [process] <target>, heal [process] [target].
  async latency(...args) {
    const [where, rest] = netTarget(args);
    const ms = Number(rest[0]);
    const seconds = rest[1] === undefined ? undefined : parseSeconds(rest[1]);
    const routes = await injectFault({ kind: 'latency', ...where, ms, seconds });
    return record('latency', routes.join(' '), `+${ms} ms each way${seconds ? ` for ${seconds} s` : ' until heal'}`);
  },
  async partition(...args) {
    const [where, rest] = netTarget(args);
    if (rest[0] === undefined) throw new Error('partition needs a duration, e.g. 10s');
    const seconds = parseSeconds(rest[0]);
    const routes = await injectFault({ kind: 'partition', ...where, seconds });
    return record('partition', routes.join(' '), `nothing passes for ${seconds} s`);
  },
  async reset(...args) {
    const [where] = netTarget(args);
    return record('reset', (await injectFault({ kind: 'reset', ...where })).join(' '), 'open connections cut (RST)');
  },
  async heal(...args) {
    const [process, rest] = withProcess(args);
    return record('heal', (await healFaults({ process, target: rest[0] })).join(' '));
  },
};

/** `[process] …`: the process a network fault names, if any, and the arguments after it. */
const withProcess = (args: string[]): [string | undefined, string[]] =>
  PROXIED.includes(args[0] as StackProcessName) ? [args[0], args.slice(1)] : [undefined, args];

/** `[process] <postgres|kafka> …`: the routes a network fault hits, and the arguments after them. */
function netTarget(args: string[]): [{ process?: string; target: string }, string[]] {
  const [process, [target, ...rest]] = withProcess(args);
  if (!FAULT_TARGETS.includes(target as FaultTarget)) {
    throw new Error(`expected [${PROXIED.join('|')}] <${FAULT_TARGETS.join('|')}>, got "${args.join(' ')}"`);
  }
  return [{ process, target }, rest];
}
