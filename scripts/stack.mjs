#!/usr/bin/env node
// Runs the processes of the manifest (lib/src/manifest.ts): four services, the relay and the ops console.
//   start   foreground, logs prefixed on this terminal, Ctrl-C stops everything
//   up      background (pid files in .state/run, logs in .state/logs); starts only what is not
//           running, so it also restarts a process that died; returns once all are ready
//   down    stops the background processes, every copy (or only those named: down outbox-relay)
//   STACK_INSTANCES=2 (or order-service=2,outbox-relay=2) runs more copies of the services and the relay
//   FAULT_PROXY=1 starts the fault proxy first and connects every service and relay to Postgres
//           and Kafka through it (chaos/proxy), so `npm run chaos -- latency|partition|reset` works
//   status  shows what runs
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const STATE = process.env.SHOP_STATE_DIR ?? join(ROOT, '.state');
const RUN = join(STATE, 'run');
const LOGS = join(STATE, 'logs');
mkdirSync(RUN, { recursive: true });
mkdirSync(LOGS, { recursive: true });

const HOST = process.env.HOST ?? '127.0.0.1';
// The processes and their ports come from the manifest (TypeScript: this script runs on a Node
// that strips types, which scripts/run.sh guarantees).
// STACK_INSTANCES=2 (or order-service=2,outbox-relay=2) runs more copies: <name>-2 on port + 1000.
const { stackInstances } = await import('../lib/src/manifest.ts');
export const PROCESSES = stackInstances(process.env);
// The fault proxy runs before everything it fronts; it is a process of the stack only under FAULT_PROXY=1.
const { proxyLayout, proxiedEnv } = await import('../chaos/proxy/routes.ts');
const PROXY = { name: 'fault-proxy', app: 'fault-proxy', port: proxyLayout(process.env).controlPort, main: join(ROOT, 'chaos', 'proxy', 'main.ts') };
const viaProxy = process.env.FAULT_PROXY === '1';

// The processes run on the Node that runs this script (scripts/run.sh picks it) and load our
// TypeScript with Node's own type stripping. STACK_NODE names another binary, for benches that
// compare runtimes; testkit's nodeRuntime says which flags it needs (tsx when it cannot strip types).
const runtime = process.env.STACK_NODE ? (await import('../testkit/src/node-runtime.ts')).nodeRuntime(process.env.STACK_NODE) : undefined;
const NODE = runtime?.binary ?? process.execPath;
const env = (p) => ({
  ...process.env,
  ...(viaProxy ? proxiedEnv(p.app, process.env) : {}),
  PORT: String(p.port),
  ADMIN_TOKEN: process.env.ADMIN_TOKEN ?? 'dev-admin-token',
});
// STACK_NODE_ARGS: extra Node flags for every process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
// to profile the stack under a bench (Node refuses --cpu-prof in NODE_OPTIONS).
const NODE_ARGS = (process.env.STACK_NODE_ARGS ?? '').split(' ').filter(Boolean);
const args = (p) => [...NODE_ARGS, ...(runtime?.args ?? []), p.main ?? join(ROOT, p.app, 'src', 'main.ts')];
function requireTypeScript() {
  if (process.env.STACK_NODE || process.features.typescript) return;
  console.error(`Node ${process.version} cannot run the services' TypeScript: use npm start / npm run up, which run on Node >=24`);
  process.exit(2);
}
const pidFile = (p) => join(RUN, `${p.name}.pid`);
// A SIGKILLed process whose parent never reaps it lingers as a zombie: kill(pid, 0) still
// succeeds, so /proc is asked too.
const alive = (pid) => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
};
const runningPid = (p) => {
  if (!existsSync(pidFile(p))) return undefined;
  const pid = Number(readFileSync(pidFile(p), 'utf8'));
  return alive(pid) ? pid : undefined;
};

async function ready(p) {
  try {
    const res = await fetch(`http://${HOST}:${p.port}/readyz`, { signal: AbortSignal.timeout(3000) });
    return res.status === 200;
  } catch {
    return false;
  }
}

async function waitReady(p, pid, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (pid && !alive(pid)) throw new Error(`${p.name} exited while starting; see ${join(LOGS, p.name + '.log')}`);
    if (await ready(p)) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${p.name} not ready after ${timeoutMs} ms; see ${join(LOGS, p.name + '.log')}`);
}

async function printUrls() {
  for (const p of PROCESSES) console.log(`  ${p.name.padEnd(22)} http://${HOST}:${p.port}`);
  if (!process.env.ADMIN_TOKEN) console.log('  ADMIN_TOKEN defaults to "dev-admin-token" for local use (set ADMIN_TOKEN to change it)');
  if (process.env.AUTH_MODE === 'off') return console.log('  AUTH_MODE=off: the customer routes take anyone');
  // A customer's token for the README's "Try it" (npm run token -- <customerId> mints others).
  const { mintToken } = await import('../testkit/src/tokens.ts');
  console.log(`  customer token (alice, 24 h):\n    export TOKEN=${await mintToken({ sub: 'alice', ttlSeconds: 86_400 })}`);
}

// A process started behind the proxy leaves a marker beside its pid file: `up` with FAULT_PROXY=1
// refuses to mix in processes that talk to Postgres and Kafka directly, and keeps the proxy
// running for those that need it.
const proxyMarker = (p) => join(RUN, `${p.name}.via-proxy`);

function spawnDetached(p) {
  const log = openSync(join(LOGS, `${p.name}.log`), 'a');
  const child = spawn(NODE, args(p), { cwd: ROOT, env: env(p), detached: true, stdio: ['ignore', log, log] });
  child.unref();
  writeFileSync(pidFile(p), String(child.pid));
  if (viaProxy) writeFileSync(proxyMarker(p), '');
  else rmSync(proxyMarker(p), { force: true });
  return child.pid;
}

async function up() {
  requireTypeScript();
  const running = PROCESSES.filter((p) => runningPid(p));
  const direct = running.filter((p) => !existsSync(proxyMarker(p)));
  if (viaProxy && direct.length > 0) {
    throw new Error(`FAULT_PROXY=1, but ${direct.map((p) => p.name).join(', ')} run without the proxy: npm run down first`);
  }
  if ((viaProxy || running.some((p) => existsSync(proxyMarker(p)))) && !runningPid(PROXY)) {
    const pid = spawnDetached(PROXY);
    await waitReady(PROXY, pid);
    console.log(`started ${PROXY.name} (control http://${HOST}:${PROXY.port})`);
  }
  const started = [];
  for (const p of PROCESSES) {
    if (runningPid(p)) continue;
    started.push([p, spawnDetached(p)]);
  }
  await Promise.all(started.map(([p, pid]) => waitReady(p, pid)));
  console.log(started.length ? `started ${started.map(([p]) => p.name).join(', ')}` : 'everything was already running');
  await printUrls();
}

// Every process of ours registers itself (lib/src/lifecycle.ts), whoever started it: `npm start`
// in another terminal, a test, a bench. `down` stops those too, and `status` lists them.
const { registeredProcesses } = await import('../lib/src/lifecycle.ts');

async function stopPid(pid) {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

async function down(...names) {
  // Copies started under another STACK_INSTANCES are stopped too: every pid file counts.
  const known = new Map(PROCESSES.map((p) => [p.name, p]));
  for (const f of readdirSync(RUN)) if (f.endsWith('.pid') && !known.has(f.slice(0, -4))) known.set(f.slice(0, -4), { name: f.slice(0, -4) });
  for (const p of [...known.values()].filter((q) => names.length === 0 || names.includes(q.name))) {
    const pid = runningPid(p);
    if (pid) {
      await stopPid(pid);
      console.log(`stopped ${p.name}`);
    }
    rmSync(pidFile(p), { force: true });
    rmSync(proxyMarker(p), { force: true });
  }
  const others = registeredProcesses().filter((r) => names.length === 0 || names.includes(r.name));
  await Promise.all(others.map((r) => stopPid(r.pid)));
  for (const r of others) console.log(`stopped ${r.name} (pid ${r.pid}, started outside \`npm run up\`)`);
}

async function status() {
  let allUp = true;
  for (const p of PROCESSES) {
    const pid = runningPid(p);
    const isReady = pid ? await ready(p) : false;
    allUp &&= isReady;
    console.log(`${p.name.padEnd(22)} ${pid ? `pid ${pid}` : 'stopped'}${pid ? (isReady ? ', ready' : ', NOT ready') : ''}  http://${HOST}:${p.port}`);
  }
  const managed = new Set(PROCESSES.map(runningPid));
  const others = registeredProcesses().filter((r) => !managed.has(r.pid));
  if (others.length > 0) console.log('also running (started by `npm start`, a test or a bench; `npm run down` stops them):');
  for (const r of others) console.log(`  ${r.name.padEnd(20)} pid ${r.pid}${r.port ? `  http://${HOST}:${r.port}` : ''}`);
  process.exitCode = allUp ? 0 : 1;
}

// In a terminal, each JSON line is shown as one readable, coloured line (pino-pretty); piped or
// redirected, the lines stay JSON for whatever reads them.
async function lineFormatter() {
  if (!process.stdout.isTTY) return (line) => line;
  const { prettyFactory } = (await import('pino-pretty')).default;
  const pretty = prettyFactory({ colorize: true, singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' });
  return (line) => (line.startsWith('{') ? pretty(line).trimEnd() : line);
}

async function start() {
  requireTypeScript();
  if (viaProxy) throw new Error('FAULT_PROXY=1 runs with the background stack: npm run up, then npm run chaos -- latency kafka 200');
  const format = await lineFormatter();
  const children = PROCESSES.map((p) => {
    // Own process group: a terminal's Ctrl-C reaches only this script, which stops each process
    // once (a second signal would force its exit); EXIT_WITH_PARENT ends them if this script dies.
    const child = spawn(NODE, args(p), { cwd: ROOT, env: { ...env(p), EXIT_WITH_PARENT: '1' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const prefix = `${p.name.padEnd(21)}|`;
    for (const stream of [child.stdout, child.stderr]) {
      let rest = '';
      stream.on('data', (chunk) => {
        const lines = (rest + chunk).split('\n');
        rest = lines.pop();
        for (const line of lines) console.log(prefix, format(line));
      });
    }
    child.on('exit', (code, signal) => console.log(prefix, `exited (${signal ?? code})`));
    return child;
  });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    console.log('stopping...');
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  await Promise.all(PROCESSES.map((p, i) => waitReady(p, children[i].pid)));
  console.log('all processes are ready (Ctrl-C stops them):');
  await printUrls();
  await Promise.all(children.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.on('exit', r)))));
  // The infrastructure outlives the processes so the next start is quick; say so, and how to stop it.
  console.log("the stack's processes stopped; Postgres, Redis and the Kafka broker keep running (`npm run down` stops Kafka)");
}

const commands = { start, up, down, status };
const cmd = process.argv[2] ?? 'status';
if (!commands[cmd]) {
  console.error(`usage: node scripts/stack.mjs ${Object.keys(commands).join('|')}`);
  process.exit(2);
}
commands[cmd](...process.argv.slice(3)).catch((error) => {
  console.error(error.message);
  process.exit(1);
});
