// Real child processes for integration tests: each gets a free port and its own log file,
// and is killed when the test file ends (registered cleanup, like platformatic's helpers).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { REPO_ROOT } from '@shop/lib/db/databases';
import { waitFor } from '@shop/testkit/wait';

export { waitFor }; // the tests' helpers and the benches share one

export const TEST_LOGS = join(REPO_ROOT, 'test-output', 'logs');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface RunningProcess {
  name: string;
  url: string;
  port: number;
  child: ChildProcess;
  /** SIGKILL, then wait for the exit. */
  kill(): Promise<void>;
  /** SIGTERM (graceful), then wait for the exit; returns the exit code. */
  stop(): Promise<number | null>;
  exited: Promise<number | null>;
}

const running = new Set<RunningProcess>();
// Registered at module load (collection time): a hook registered later, inside a test or a
// beforeAll, would never run.
afterAll(() => stopAll());

/**
 * Graceful first, so consumers leave their groups and the next test file does not wait for
 * their sessions to expire; SIGKILL whatever does not stop in time.
 */
export async function stopAll(): Promise<void> {
  await Promise.all(
    [...running].map(async (p) => {
      const timer = setTimeout(() => void p.kill(), 8_000);
      await p.stop();
      clearTimeout(timer);
    }),
  );
}

export async function startProcess(name: string, opts: { env?: Record<string, string>; waitReady?: boolean; logName?: string } = {}): Promise<RunningProcess> {
  // freePort() closes its probe socket before the child binds, so another socket (an outgoing
  // Kafka or Postgres connection) can take the port in between: then try again on a new one.
  for (let attempt = 1; ; attempt++) {
    try {
      return await spawnProcess(name, opts);
    } catch (error) {
      if (!(error instanceof EarlyExit) || !error.portTaken || opts.env?.PORT || attempt >= 3) throw error;
    }
  }
}

class EarlyExit extends Error {
  readonly logTail: string;

  constructor(what: string, logTail: string) {
    super(`${what} exited before it was ready; last lines of its log:\n${logTail}`);
    this.logTail = logTail;
  }
  get portTaken(): boolean {
    return this.logTail.includes('EADDRINUSE');
  }
}

async function spawnProcess(name: string, opts: { env?: Record<string, string>; waitReady?: boolean; logName?: string }): Promise<RunningProcess> {
  const port = opts.env?.PORT ? Number(opts.env.PORT) : await freePort();
  mkdirSync(TEST_LOGS, { recursive: true });
  const logFile = join(TEST_LOGS, `${opts.logName ?? name}-${port}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, [join(REPO_ROOT, name, 'src', 'main.ts')], {
    cwd: REPO_ROOT,
    // Customer routes take anyone (AUTH_MODE=off) unless a test turns authentication on (auth.e2e).
    // Without tokens every request is one client (127.0.0.1): the per-client caps are lifted here
    // and set by the tests that prove them (limits.e2e).
    env: {
      ...process.env,
      LOG_LEVEL: 'info',
      ADMIN_TOKEN: 'test-admin-token',
      AUTH_MODE: 'off',
      EXIT_WITH_PARENT: '1',
      ORDER_RATE_LIMIT_PER_MIN: '0',
      ORDER_MAX_WAITS_PER_CLIENT: '10000',
      ...opts.env,
      PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const proc: RunningProcess = {
    name,
    port,
    url: `http://127.0.0.1:${port}`,
    child,
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      running.delete(proc);
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const code = await exited;
      running.delete(proc);
      return code;
    },
  };
  running.add(proc);
  if (opts.waitReady === false) return proc;
  try {
    await waitFor(async () => (await fetchStatus(`${proc.url}/healthz`)) === 200, {
      timeoutMs: 60_000,
      what: `${name} to listen`,
      abortIf: () => child.exitCode !== null,
    });
  } catch (error) {
    if (child.exitCode === null) throw error;
    running.delete(proc);
    await new Promise((r) => log.end(r));
    const tail = readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-15).join('\n');
    throw new EarlyExit(`${name} on port ${port}`, tail);
  }
  return proc;
}

export async function fetchStatus(url: string): Promise<number | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3_000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return undefined;
  }
}
