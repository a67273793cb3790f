import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './db/databases.ts';
import type { Logger } from './logger.ts';

/** Something to release on shutdown; `name` is what the log says when it cannot be closed in time. */
export interface Closer {
  name: string;
  close: () => unknown; // may return a promise, which is awaited
}

export interface ShutdownOptions {
  /** The process's name in the registry that `npm run down` and `npm run status` read. */
  name: string;
  port?: number;
  /** How long all closers together may take (SHUTDOWN_GRACE_MS). */
  graceMs: number;
}

/**
 * Every process of ours registers itself (a file per pid under .state/procs), whoever started it:
 * `npm start`, `npm run up`, a test or a bench. `npm run down` stops every registered process and
 * `npm run status` lists them. The start time from /proc tells a live entry from a reused pid.
 */
export const PROCESS_REGISTRY = join(process.env.SHOP_STATE_DIR ?? join(REPO_ROOT, '.state'), 'procs');

function startTicks(pid: number): string | undefined {
  try {
    // Field 22 of /proc/<pid>/stat, counted after the parenthesised command (which may hold spaces).
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, ...rest] = fields.slice(fields.lastIndexOf(')') + 2).split(' ');
    return state === 'Z' ? undefined : rest[18]; // a zombie is dead, whoever has yet to reap it
  } catch {
    return undefined;
  }
}

function register(name: string, port: number | undefined): () => void {
  const file = join(PROCESS_REGISTRY, `${process.pid}.json`);
  try {
    mkdirSync(PROCESS_REGISTRY, { recursive: true });
    writeFileSync(file, JSON.stringify({ name, pid: process.pid, port, startTicks: startTicks(process.pid) }));
  } catch {
    // A read-only file system (a container): nothing to register, the supervisor stops us.
  }
  return () => rmSync(file, { force: true });
}

const withDeadline = (work: unknown, ms: number) =>
  new Promise<boolean>((resolve, reject) => {
    const timer = setTimeout(() => resolve(false), ms);
    Promise.resolve(work).then(
      () => (clearTimeout(timer), resolve(true)),
      (error: unknown) => (clearTimeout(timer), reject(error as Error)),
    );
  });

let stopping = false;
/** Whether this process has begun to shut down (what is still retrying then is cut short, not reported). */
export const shuttingDown = (): boolean => stopping;

/**
 * Runs the closers in reverse order of registration on SIGTERM/SIGINT (stop taking work first,
 * then release connections), and exits 0. All of them together get `graceMs`, each at most half of
 * what is left: one that does not finish in its time (a Kafka consumer leaving a group whose broker is gone) is abandoned, and one warn
 * line names everything abandoned. Abandoning loses nothing: consumers commit an offset only after
 * its transaction, and the relay confirms a WAL position only after Kafka acknowledged it, so
 * whatever was not acknowledged is read again by the next process. A second signal exits at once.
 */
export function onShutdown(logger: Logger, closers: Closer[], options: ShutdownOptions): void {
  const unregister = register(options.name, options.port);
  process.on('exit', unregister);
  const stop = async (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const deadline = Date.now() + options.graceMs;
    const abandoned: string[] = [];
    const failed: string[] = [];
    for (const closer of [...closers].reverse()) {
      // Each may use half of what is left, so one that hangs (an HTTP request waiting on the
      // broker) leaves time for the others; what one does not use goes to the next.
      const share = Math.max((deadline - Date.now()) / 2, 100);
      try {
        if (!(await withDeadline(closer.close(), share))) abandoned.push(closer.name);
      } catch (error) {
        failed.push(`${closer.name}: ${(error as Error).message}`);
      }
    }
    if (abandoned.length > 0 || failed.length > 0) {
      logger.warn({ abandoned, failed, graceMs: options.graceMs }, 'stopped without closing everything (nothing unacknowledged is lost)');
    } else logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  // Test harnesses and supervisors set this so a process never outlives a SIGKILLed parent.
  if (process.env.EXIT_WITH_PARENT === '1') {
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) void stop('parent exited');
    }, 1_000).unref();
  }
}

/** A registered process of ours: what `npm run down` stops and `npm run status` lists. */
export interface RegisteredProcess {
  name: string;
  pid: number;
  port?: number;
  startTicks?: string;
}

/** The registered processes that still run; entries of dead ones (a SIGKILL leaves them) are removed. */
export function registeredProcesses(): RegisteredProcess[] {
  let files: string[];
  try {
    files = readdirSync(PROCESS_REGISTRY).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  const live: RegisteredProcess[] = [];
  for (const f of files) {
    const file = join(PROCESS_REGISTRY, f);
    try {
      const entry = JSON.parse(readFileSync(file, 'utf8')) as RegisteredProcess;
      if (entry.startTicks !== undefined && startTicks(entry.pid) === entry.startTicks) live.push(entry);
      else rmSync(file, { force: true });
    } catch {
      rmSync(file, { force: true });
    }
  }
  return live.sort((a, b) => a.name.localeCompare(b.name));
}
