import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchStatus, startProcess, waitFor, type RunningProcess } from '../support/processes.ts';
import { infra } from '../support/infra.ts';

const SERVICES = ['order-service', 'inventory-service', 'payment-service', 'notification-service'];

describe('service health and readiness', () => {
  const procs: RunningProcess[] = [];
  beforeAll(async () => {
    procs.push(...(await Promise.all(SERVICES.map((s) => startProcess(s)))));
  });
  afterAll(async () => {
    await infra('redis-start');
    await infra('kafka-start');
  });

  it('every service answers /healthz, /readyz and /metrics', async () => {
    for (const p of procs) {
      expect(await fetchStatus(`${p.url}/healthz`)).toBe(200);
      const ready = await waitFor(
        async () => {
          const res = await fetch(`${p.url}/readyz`);
          return res.status === 200 ? res.json() : undefined;
        },
        { what: `${p.name} ready` },
      );
      expect(ready).toMatchObject({ ready: true, checks: { database: { ok: true }, redis: { ok: true }, kafka: { ok: true } } });
      const metrics = await (await fetch(`${p.url}/metrics`)).text();
      expect(metrics).toContain(`process_cpu_user_seconds_total{service="${p.name}"}`);
    }
  });

  it('readiness goes false while Redis is stopped and true when it is back', async () => {
    await infra('redis-stop');
    for (const p of procs) {
      const body = await waitFor(
        async () => {
          const res = await fetch(`${p.url}/readyz`);
          return res.status === 503 ? res.json() : undefined;
        },
        { what: `${p.name} not ready` },
      );
      expect(body).toMatchObject({ ready: false, checks: { redis: { ok: false }, database: { ok: true } } });
      expect(await fetchStatus(`${p.url}/healthz`)).toBe(200);
    }
    await infra('redis-start');
    for (const p of procs) {
      await waitFor(async () => (await fetchStatus(`${p.url}/readyz`)) === 200, { what: `${p.name} ready again`, timeoutMs: 20_000 });
    }
  });

  it('stops gracefully on SIGTERM', async () => {
    const p = await startProcess('inventory-service');
    expect(await p.stop()).toBe(0);
  });

  it('boots while Kafka is down and serves once Kafka is back, instead of crashing', async () => {
    await infra('kafka-stop');
    const p = await startProcess('payment-service', { waitReady: false });
    // Well past kafkajs's own connection retries (~5 s), which used to end the process.
    await new Promise((r) => setTimeout(r, 8_000));
    expect(p.child.exitCode).toBeNull();
    await infra('kafka-start');
    await waitFor(async () => (await fetchStatus(`${p.url}/readyz`)) === 200, { what: 'payment-service ready after Kafka came back', timeoutMs: 60_000 });
    expect(p.child.exitCode).toBeNull();
  });
});
