// A process's life as an operator sees it: `npm run down` stops whatever started the processes
// (here `npm start` in "another terminal" and a test's own processes), `npm run status` lists
// them, and a SIGTERM while Kafka is gone is bounded by the shutdown grace and exits 0.
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { REPO_ROOT } from '@shop/lib/db/databases';
import { infra } from '../support/infra.ts';
import { relayHarness } from '../support/relay.ts';
import { startProcess, TEST_LOGS, waitFor } from '../support/processes.ts';

const exec = promisify(execFile);
const stackScript = (cmd: string, env: NodeJS.ProcessEnv = process.env) =>
  exec(process.execPath, [join(REPO_ROOT, 'scripts/stack.mjs'), cmd], { cwd: REPO_ROOT, env, timeout: 120_000 });

describe('process lifecycle', { timeout: 240_000 }, () => {
  afterAll(async () => {
    await infra('kafka-start');
  });

  it('npm run down stops a stack that npm start runs in another terminal, and a test’s own process; status lists them first', async () => {
    // `npm start`'s processes on ports of their own, so they cannot be mistaken for anything else.
    const ports = { ORDER_PORT: 3201, INVENTORY_PORT: 3202, PAYMENT_PORT: 3203, NOTIFICATION_PORT: 3204, RELAY_PORT: 3205, OPS_CONSOLE_PORT: 3206 };
    // Its relay on slots of its own, dropped when the file ends.
    const relay = relayHarness();
    const env = {
      ...process.env,
      ...relay.env,
      ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
      RELAY_URL: 'http://127.0.0.1:3205',
      ADMIN_TOKEN: 'test-admin-token',
    };
    const foreground = spawn(process.execPath, [join(REPO_ROOT, 'scripts/stack.mjs'), 'start'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    foreground.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const foregroundExit = new Promise<number | null>((r) => foreground.on('exit', r));
    // Whatever happens below, nothing of this test outlives it.
    onTestFinished(async () => {
      if (foreground.exitCode === null) await stackScript('down').catch(() => undefined);
    });
    await waitFor(async () => out.includes('all processes are ready'), {
      what: 'npm start to be ready',
      timeoutMs: 120_000,
      abortIf: () => foreground.exitCode !== null,
    });
    const own = await startProcess('payment-service', { env: { PORT: '3207' } });

    const { stdout: status } = await stackScript('status').catch((e: { stdout: string }) => e); // exit 1: the managed copies are stopped
    for (const port of [...Object.values(ports), 3207]) expect(status).toContain(`127.0.0.1:${port}`);

    // Probes and pollers are logged at debug: `npm start`'s terminal shows what happens to orders.
    for (let i = 0; i < 5; i++)
      for (const path of ['/lag', '/metrics', '/healthz', '/readyz']) await (await fetch(`http://127.0.0.1:${ports.RELAY_PORT}${path}`)).arrayBuffer();
    await (await fetch(`http://127.0.0.1:${ports.ORDER_PORT}/orders/not-an-id`)).arrayBuffer();
    await waitFor(async () => out.includes('/orders/:id'), { what: 'the order request logged', timeoutMs: 5_000 });
    const polled = out.split('\n').filter((l) => /"route":"\/(lag|metrics|healthz|readyz)"/.test(l));
    expect(polled).toEqual([]);

    const { stdout: down } = await stackScript('down');
    expect(down).toMatch(/stopped order-service \(pid \d+/);
    expect(await own.exited).toBe(0);
    expect(await foregroundExit).toBe(0);
    for (const port of Object.values(ports)) await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    const { stdout: after } = await stackScript('status').catch((e: { stdout: string }) => e);
    expect(after).not.toContain('also running');
  });

  it('stops within the shutdown grace when Kafka is gone: at most one warn line, naming what it left, no error, exit 0', async () => {
    const graceMs = 1_500;
    const env = { SHUTDOWN_GRACE_MS: String(graceMs) };
    const relay = relayHarness();
    const processes = await Promise.all([
      startProcess('order-service', { env }),
      startProcess('payment-service', { env }),
      startProcess('outbox-relay', { env: { ...relay.env, ...env }, logName: `relay-${relay.prefix}` }),
    ]);
    for (const p of processes) await waitFor(async () => (await fetch(`${p.url}/readyz`)).status === 200, { what: `${p.name} ready`, timeoutMs: 60_000 });
    await infra('kafka-stop');
    // Probes keep asking while the broker is away (a readiness check connects to it), and the
    // consumers crash and try again: what a shutdown has to cut short.
    const probing = setInterval(() => processes.forEach((p) => void fetch(`${p.url}/readyz`).catch(() => undefined)), 200);
    await new Promise((r) => setTimeout(r, 4_000));
    const results = await Promise.all(
      processes.map(async (p) => {
        const started = Date.now();
        const code = await p.stop();
        return { name: p.name, code, tookMs: Date.now() - started };
      }),
    );
    clearInterval(probing);
    for (const r of results) expect({ ...r, tookMs: r.tookMs < graceMs + 2_000 }).toEqual({ ...r, code: 0, tookMs: true });

    let abandonedSomething = false;
    for (const p of processes) {
      const file = p.name === 'outbox-relay' ? `relay-${relay.prefix}-${p.port}.log` : `${p.name}-${p.port}.log`;
      const lines = readFileSync(join(TEST_LOGS, file), 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { level: number; msg: string; abandoned?: string[] });
      const shutdown = lines.slice(lines.findIndex((l) => l.msg === 'shutting down'));
      expect({ process: p.name, errors: shutdown.filter((l) => l.level >= 50) }).toEqual({ process: p.name, errors: [] });
      const warnings = shutdown.filter((l) => l.level === 40);
      expect(warnings.length).toBeLessThanOrEqual(1);
      if (warnings.length === 1) expect(warnings[0].abandoned?.length).toBeGreaterThan(0);
      else expect(shutdown.at(-1)?.msg).toBe('stopped');
      abandonedSomething ||= warnings.length === 1;
    }
    // The probes' requests hang on the broker: without the grace this shutdown would hang too.
    expect(abandonedSomething).toBe(true);
  });
});
