// The manifest is the one list of processes: what else names them must agree with it.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@shop/lib/db/databases';
import { TOPICS } from '@shop/lib/events/catalog';
import { SERVICES, STACK, stackInstances } from '@shop/lib/manifest';

const read = (file: string) => readFileSync(join(REPO_ROOT, file), 'utf8');

/** The lines of one top-level service of compose.yaml (from its name to the next service). */
function composeService(compose: string, name: string): string {
  const start = compose.indexOf(`\n  ${name}:\n`);
  if (start < 0) return '';
  const rest = compose.slice(start + 1);
  const next = rest.slice(1).search(/\n {2}\S/);
  return next < 0 ? rest : rest.slice(0, next + 1);
}

describe('the service manifest', () => {
  it('agrees with compose.yaml: one service per process, its command and its port', () => {
    const compose = read('compose.yaml');
    for (const p of STACK) {
      const block = composeService(compose, p.name);
      expect({ name: p.name, block }).toMatchObject({ name: p.name, block: expect.stringContaining(`command: ['${p.name}/src/main.ts']`) });
      expect(block).toContain(`PORT: ${p.port}`);
      expect(block).toContain(`ports: ['${p.port}:${p.port}']`);
    }
  });

  it('agrees with the npm workspaces and the Dockerfile', () => {
    const workspaces = (JSON.parse(read('package.json')) as { workspaces: string[] }).workspaces;
    const dockerfile = read('Dockerfile');
    for (const p of STACK) expect(workspaces).toContain(p.name);
    for (const w of workspaces) expect(dockerfile).toContain(`COPY ${w}/package.json ${w}/`);
  });

  it('gives every service a Prisma schema generating into it, and topics the catalog knows', () => {
    for (const s of SERVICES) {
      const schema = join('prisma', s.database, 'schema.prisma');
      expect(existsSync(join(REPO_ROOT, schema))).toBe(true);
      expect(read(schema)).toContain(`output       = "../../${s.name}/src/generated/prisma"`);
      expect(Object.keys(TOPICS)).toContain(s.publishes);
      // what main.ts subscribes to is what the manifest says it consumes
      const consumeLine = read(`${s.name}/src/main.ts`).match(/consume\(\s*\[([^\]]*)\]/)?.[1] ?? '';
      expect(
        consumeLine
          .split(',')
          .map((t) => t.trim().replace('TOPICS.', ''))
          .sort(),
      ).toEqual([...s.consumes].sort());
    }
    expect(new Set(STACK.map((p) => p.port)).size).toBe(STACK.length);
  });

  it('runs the copies STACK_INSTANCES asks for: services and the relay, each copy on its own port, the console once', () => {
    expect(stackInstances({}).map((p) => p.name)).toEqual(STACK.map((p) => p.name));
    const two = stackInstances({ STACK_INSTANCES: '2' });
    expect(two.map((p) => `${p.name}:${p.port}`)).toEqual([
      ...STACK.map((p) => `${p.name}:${p.port}`),
      'order-service-2:4001',
      'inventory-service-2:4002',
      'payment-service-2:4003',
      'notification-service-2:4004',
      'outbox-relay-2:4005',
    ]);
    expect(two.filter((p) => p.app === 'outbox-relay').map((p) => p.instance)).toEqual([1, 2]);
    const some = stackInstances({ STACK_INSTANCES: 'inventory-service=3, outbox-relay=2', INVENTORY_PORT: '3102' });
    expect(some.filter((p) => p.instance > 1).map((p) => `${p.name}:${p.port}`)).toEqual([
      'inventory-service-2:4102',
      'outbox-relay-2:4005',
      'inventory-service-3:5102',
    ]);
    expect(() => stackInstances({ STACK_INSTANCES: 'ops-console=2' })).toThrow(/not <process>=<count>/);
    expect(() => stackInstances({ STACK_INSTANCES: 'order-service=9' })).toThrow(/outside 1..4/);
  });
});
