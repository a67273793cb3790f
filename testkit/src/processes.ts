// The processes of the stack as `scripts/stack.mjs` runs them: their names and where it keeps
// their pid files. Benches and failure injection find the processes they measure or hurt here.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '@shop/lib/db/databases';
import { SERVICES, stackInstances, type StackProcessName } from '@shop/lib/manifest';

/** Every copy stack.mjs runs (STACK_INSTANCES), first copies first, in the manifest's order. */
export const STACK_INSTANCES = stackInstances();
/** Their names: `order-service`, … and `order-service-2`, … when there are more copies. */
export const STACK_PROCESSES: readonly string[] = STACK_INSTANCES.map((p) => p.name);
export type StackProcess = string;
/** The copies of one process of the manifest. */
export const instancesOf = (app: StackProcessName): string[] => STACK_INSTANCES.filter((p) => p.app === app).map((p) => p.name);
/** The copies of the four services (soak's "kill a service" picks among them). */
export const SERVICE_INSTANCES: readonly string[] = STACK_INSTANCES.filter((p) => SERVICES.some((s) => s.name === p.app)).map((p) => p.name);

/** stack.mjs's state folder (pid files in run/, logs in logs/). */
export const STATE_DIR = process.env.SHOP_STATE_DIR ?? join(REPO_ROOT, '.state');

/** The pid of a process of the stack while it runs; undefined when it is stopped or dead. */
export function runningPid(name: StackProcess): number | undefined {
  const file = join(STATE_DIR, 'run', `${name}.pid`);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8'));
  try {
    process.kill(pid, 0);
  } catch {
    return undefined;
  }
  // A killed process that nobody reaped is a zombie: dead for our purposes.
  const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
  return /^\d+ \(.*\) Z/.test(stat) ? undefined : pid;
}

const exec = promisify(execFile);
const stackScript = (...args: string[]) => [join(REPO_ROOT, 'scripts/stack.mjs'), ...args];

/**
 * Starts what of the stack is not running and waits until it is ready (`stack.mjs up`). `env`
 * reaches the processes it starts: STACK_NODE_ARGS, a test's own settings.
 */
export async function stackUp(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  await exec(process.execPath, stackScript('up'), { cwd: REPO_ROOT, timeout: 180_000, env });
}

/** Stops the stack, or only the processes named (`stack.mjs down …`): SIGTERM, SIGKILL after 10 s. */
export async function stackDown(...names: StackProcess[]): Promise<void> {
  await exec(process.execPath, stackScript('down', ...names), { cwd: REPO_ROOT, timeout: 120_000 });
}
