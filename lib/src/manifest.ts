// The one list of the system's processes: each service's name, port, database and the topics it
// publishes and consumes. The stack scripts, the infrastructure script, the database list, the
// relay's slots, the operations console and the compose file check all read it, so adding a
// service starts here (docs/architecture.md, "Adding a service").
export const SERVICES = [
  {
    name: 'order-service',
    port: 3001,
    portEnv: 'ORDER_PORT',
    urlEnv: 'ORDER_SERVICE_URL',
    database: 'orders',
    publishes: 'order',
    consumes: ['inventory', 'payment'],
  },
  {
    name: 'inventory-service',
    port: 3002,
    portEnv: 'INVENTORY_PORT',
    urlEnv: 'INVENTORY_SERVICE_URL',
    database: 'inventory',
    publishes: 'inventory',
    consumes: ['order'],
  },
  {
    name: 'payment-service',
    port: 3003,
    portEnv: 'PAYMENT_PORT',
    urlEnv: 'PAYMENT_SERVICE_URL',
    database: 'payments',
    publishes: 'payment',
    consumes: ['order'],
  },
  {
    name: 'notification-service',
    port: 3004,
    portEnv: 'NOTIFICATION_PORT',
    urlEnv: 'NOTIFICATION_SERVICE_URL',
    database: 'notifications',
    publishes: 'notification',
    consumes: ['order'],
  },
] as const;

/** Processes of the stack that are not services: they own no database and publish no events of their own. */
export const COMPONENTS = [
  { name: 'outbox-relay', port: 3005, portEnv: 'RELAY_PORT', urlEnv: 'RELAY_URL' },
  { name: 'ops-console', port: 3006, portEnv: 'OPS_CONSOLE_PORT', urlEnv: 'OPS_CONSOLE_URL' },
] as const;
export const RELAY = COMPONENTS[0];

/** Everything `npm start` runs, services first (chaos' "kill a service" picks among those). */
export const STACK = [...SERVICES, ...COMPONENTS] as const;

export type ServiceName = (typeof SERVICES)[number]['name'];
export type StackProcessName = (typeof STACK)[number]['name'];
export type ServiceDatabaseName = (typeof SERVICES)[number]['database'];

/** Where a process of the stack listens: `<portEnv>` when set, else its default port. */
export const portOf = (p: (typeof STACK)[number], env: NodeJS.ProcessEnv = process.env): number => Number(env[p.portEnv] ?? p.port);
/** Its base URL: `<urlEnv>` when set, else 127.0.0.1 on its port. */
export const urlOf = (p: (typeof STACK)[number], env: NodeJS.ProcessEnv = process.env): string => env[p.urlEnv] ?? `http://127.0.0.1:${portOf(p, env)}`;

/** One running copy of a process of the stack (`stack.mjs` starts one of each, or more with STACK_INSTANCES). */
export interface StackInstance {
  /** `<app>` for the first copy, `<app>-<n>` for the n-th: its pid file and log are named so. */
  name: string;
  app: StackProcessName;
  instance: number;
  port: number;
}

/** Copies of one process on top of the first listen this far apart: order-service-2 on 4001. */
const INSTANCE_PORT_STEP = 1_000;
/** What may run more than once: the services (a consumer group shares the partitions) and the relay (a standby per slot). */
const SCALABLE: readonly StackProcessName[] = [...SERVICES.map((s) => s.name), RELAY.name];

/**
 * The copies STACK_INSTANCES asks for: a count for every service and the relay ("2"), or counts
 * by name ("order-service=2,outbox-relay=2"); 1 to 4 each. The ops console runs once. First
 * copies come first, in the manifest's order.
 */
export function stackInstances(env: NodeJS.ProcessEnv = process.env): StackInstance[] {
  const spec = (env.STACK_INSTANCES ?? '').trim();
  const counts = new Map<string, number>();
  if (/^\d+$/.test(spec)) for (const name of SCALABLE) counts.set(name, Number(spec));
  else if (spec) {
    for (const part of spec.split(',')) {
      const [name, count] = part.split('=').map((x) => x.trim());
      if (!SCALABLE.includes(name as StackProcessName) || !/^\d+$/.test(count ?? '')) {
        throw new Error(`STACK_INSTANCES: "${part}" is not <process>=<count> with a process among ${SCALABLE.join(', ')}`);
      }
      counts.set(name, Number(count));
    }
  }
  for (const [name, n] of counts) if (n < 1 || n > 4) throw new Error(`STACK_INSTANCES: ${name}=${n} is outside 1..4`);
  const most = Math.max(1, ...counts.values());
  const out: StackInstance[] = [];
  for (let instance = 1; instance <= most; instance++) {
    for (const p of STACK) {
      if (instance > (counts.get(p.name) ?? 1)) continue;
      const name = instance === 1 ? p.name : `${p.name}-${instance}`;
      out.push({ name, app: p.name, instance, port: portOf(p, env) + INSTANCE_PORT_STEP * (instance - 1) });
    }
  }
  return out;
}

// `node lib/src/manifest.ts databases|processes` prints a list for the shell scripts.
if (import.meta.main) {
  const what = process.argv[2];
  if (what === 'databases') console.log(SERVICES.map((s) => s.database).join(' '));
  else if (what === 'processes') console.log(STACK.map((p) => p.name).join(' '));
  else {
    console.error('usage: node lib/src/manifest.ts databases|processes');
    process.exit(2);
  }
}
