// Deny by default: every route of every process says who may call it (createApp refuses to start
// otherwise), and this walks every route each process has registered, as its OpenAPI document
// lists them, asking without credentials. Only the routes named public below may answer; a new
// route that is open fails here until someone decides, in this list, that it should be.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { startProcess, type RunningProcess } from '../support/processes.ts';
import { startStack, type Stack } from '../support/stack.ts';

const AUTH = { AUTH_MODE: 'jwt', AUTH_JWT_SECRET: 'routes-test-secret-0123456789abcdef012' };
const PUBLIC = new Set([
  'GET /healthz',
  'GET /readyz',
  'GET /metrics',
  'GET /docs',
  'GET /lag', // the relay's, read by dashboards like /metrics
  'GET /products/{sku}', // the catalog
  'GET /', // the console's page: a redirect to its sign-in form until signed in
  'GET /login',
  'POST /login',
  'GET /assets/{name}',
]);

let stack: Stack;
let opsConsole: RunningProcess;
beforeAll(async () => {
  stack = await startStack({ env: AUTH });
  opsConsole = await startProcess('ops-console', { env: { ...AUTH, RELAY_URL: stack.relay.url } });
});

interface OpenApi {
  paths: Record<string, Record<string, { security?: unknown[] }>>;
}

describe('every route says who may call it', { timeout: 120_000 }, () => {
  it('answers 401 without credentials on every route but the public ones, in every process', async () => {
    const processes = {
      'order-service': stack.url('order-service'),
      'inventory-service': stack.url('inventory-service'),
      'payment-service': stack.url('payment-service'),
      'notification-service': stack.url('notification-service'),
      'outbox-relay': stack.relay.url,
      'ops-console': opsConsole.url,
    };
    const walked: string[] = [];
    for (const [name, url] of Object.entries(processes)) {
      const spec = (await (await fetch(`${url}/docs`)).json()) as OpenApi;
      for (const [path, methods] of Object.entries(spec.paths)) {
        for (const [method, operation] of Object.entries(methods)) {
          const route = `${method.toUpperCase()} ${path}`;
          const declaredPublic = Array.isArray(operation.security) && operation.security.length === 0;
          const concrete = path.replace('{id}', randomUUID()).replace(/\{\w+\}/g, 'X');
          const res = await fetch(`${url}${concrete}`, { method: method.toUpperCase(), redirect: 'manual' });
          await res.arrayBuffer();
          walked.push(`${name} ${route}`);
          if (PUBLIC.has(route)) expect({ name, route, declaredPublic }).toEqual({ name, route, declaredPublic: true });
          else expect({ name, route, status: res.status, declaredPublic }).toEqual({ name, route, status: 401, declaredPublic: false });
        }
      }
    }
    // The walk saw the routes that matter (the OpenAPI documents are complete).
    for (const route of [
      'order-service POST /orders',
      'order-service GET /orders/{id}/events',
      'inventory-service PUT /products/{sku}',
      'payment-service GET /payments',
      'notification-service GET /notifications',
      'ops-console GET /api/overview',
      'ops-console POST /api/dlq/replay',
    ])
      expect(walked).toContain(route);
  });
});
