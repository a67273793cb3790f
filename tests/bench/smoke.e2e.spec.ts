// The benchmark scripts still run (their figures are not judged here: that is bench/, not CI).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@shop/lib/db/databases';
import { STACK_PROCESSES, stackDown } from '@shop/testkit/processes';

const exec = promisify(execFile);
afterAll(() => stackDown());

describe('bench smoke', { timeout: 180_000 }, () => {
  it('runs every benchmark script briefly', async () => {
    const { stdout } = await exec(process.execPath, ['bench/run.ts', 'smoke'], { cwd: REPO_ROOT, timeout: 170_000 });
    expect(stdout).toMatch(/tx\/s \| [\d,]+/);
    expect(stdout).toMatch(/\| added per request \| -?\d+ \|/);
    expect(stdout).toMatch(/POST \/orders, \d+ in flight, relay paused, orders\/s \| [\d,]+/);
    expect(stdout).toMatch(/\| as-built \| 20 orders\/s \| \d+ \|/);
    expect(stdout).toMatch(/\| one-per-db \| 20 orders\/s \| \d+ \|/);
    expect(stdout).toMatch(/smoke e2e at 20\/s: terminal p50 \d+ ms, p99 \d+ ms, open 0, errors 0/);
    // every process of an order shows up with some CPU: a broken /proc reading would give 0
    const cpu = /CPU ms per order: (.*)/.exec(stdout)?.[1] ?? '';
    for (const name of [
      'postgres',
      'order-service',
      'inventory-service',
      'payment-service',
      'notification-service',
      'outbox-relay',
      'kafka',
      'load generator',
    ]) {
      expect(Number(new RegExp(`${name} ([\\d.]+)`).exec(cpu)?.[1])).toBeGreaterThan(0);
    }
    expect(stdout).toMatch(/peak RSS \(MiB\): \{"order-service":\d+/);
    // every Node process was profiled inside the window, and its flame graph written
    for (const name of STACK_PROCESSES) {
      const row = new RegExp(`\\| ${name} \\| ([\\d.]+) \\| (\\d+) \\| (.+) \\|`).exec(stdout);
      expect(row, `${name} profile row`).not.toBeNull();
      expect(Number(row![1])).toBeGreaterThan(0);
      expect(Number(row![2])).toBeGreaterThan(0);
      expect(row![3]).toMatch(/ \d+ %/);
    }
    const dir = /flame graphs \(\.svg\): (\S+)/.exec(stdout)?.[1] ?? '';
    expect(readFileSync(join(dir, 'order-service.svg'), 'utf8')).toMatch(/^<svg[^]*<title>all \(\d+ samples, 100\.00 %\)<\/title>/);
    expect(readFileSync(join(dir, 'outbox-relay.folded'), 'utf8')).toMatch(/^\S.* \d+$/m);
    expect(stdout).toMatch(/\| POST \/orders at 50\/s for 2 s \(full\) \| median \|/);
    expect(stdout).toMatch(/\| commit probe p99 ms \(the disk under Postgres\) \| [\d.,]+ \|/);
    for (const alg of ['HS256', 'ES256']) expect(stdout).toMatch(new RegExp(`\\| ${alg}, every request verified \\| [\\d.]+ \\| -?[\\d.]+ \\|`));
  });
});
