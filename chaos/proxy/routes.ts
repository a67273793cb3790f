// Where the fault proxy sits (FAULT_PROXY=1): one port per process of the stack and per target, so
// a fault can hit one service's link to Postgres or Kafka and nothing else. The stack script,
// the infrastructure script (the broker's extra listeners), the proxy and the chaos CLI all read
// this one layout.
//
// Kafka hands its clients the addresses to connect to (metadata), so a proxy in front of the
// bootstrap port alone would be bypassed after the first request. The broker therefore gets one
// extra listener per process that advertises that process's proxy port: every connection the
// client opens, to bootstrap or to the partition leader, goes through the proxy.
import { RELAY, SERVICES, type StackProcessName } from '@shop/lib/manifest';

export const FAULT_TARGETS = ['postgres', 'kafka'] as const;
export type FaultTarget = (typeof FAULT_TARGETS)[number];

/** The processes behind the proxy, in this order (their index picks their ports). */
export const PROXIED: readonly StackProcessName[] = [...SERVICES.map((s) => s.name), RELAY.name];

export interface ProxyRoute {
  /** `<process>/<target>`, e.g. `payment-service/postgres`. */
  name: string;
  process: StackProcessName;
  target: FaultTarget;
  /** The proxy listens here (127.0.0.1)… */
  listen: number;
  /** …and forwards to here. */
  upstream: { host: string; port: number };
}

export interface ProxyLayout {
  /** The proxy's control API (`/routes`, `/faults`, `/heal`, `/readyz`). */
  controlPort: number;
  routes: ProxyRoute[];
  /** What the broker's server.properties adds: the listeners the Kafka routes forward to. */
  brokerListeners: { name: string; port: number; advertisedPort: number }[];
}

/**
 * FAULT_PROXY_PORT (default 29000) is the control port; Postgres routes listen on +10 + i, Kafka
 * routes on +20 + i (i = the process's index in PROXIED). The broker's extra listeners sit at
 * KAFKA_PORT + 100 + i, so a second broker on other ports (the cold-start test's) does not clash.
 */
export function proxyLayout(env: NodeJS.ProcessEnv = process.env): ProxyLayout {
  const base = Number(env.FAULT_PROXY_PORT ?? 29_000);
  const pg = { host: env.PGHOST ?? '127.0.0.1', port: Number(env.PGPORT ?? 5432) };
  const kafkaHost = env.KAFKA_HOST ?? '127.0.0.1';
  const kafkaPort = Number(env.KAFKA_PORT ?? 9092);
  const routes: ProxyRoute[] = [];
  const brokerListeners: ProxyLayout['brokerListeners'] = [];
  PROXIED.forEach((process, i) => {
    routes.push({ name: `${process}/postgres`, process, target: 'postgres', listen: base + 10 + i, upstream: pg });
    const listener = { name: `FAULTPROXY${i}`, port: kafkaPort + 100 + i, advertisedPort: base + 20 + i };
    brokerListeners.push(listener);
    routes.push({ name: `${process}/kafka`, process, target: 'kafka', listen: listener.advertisedPort, upstream: { host: kafkaHost, port: listener.port } });
  });
  return { controlPort: base, routes, brokerListeners };
}

/**
 * What a process started behind the proxy gets in its environment: its Postgres and Kafka
 * addresses point at its own routes (every process builds its database URLs from PGHOST/PGPORT
 * unless a `<NAME>_DATABASE_URL` names another server).
 */
export function proxiedEnv(app: StackProcessName, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const routes = proxyLayout(env).routes.filter((r) => r.process === app);
  const pg = routes.find((r) => r.target === 'postgres');
  const kafka = routes.find((r) => r.target === 'kafka');
  if (!pg || !kafka) return {}; // the ops console talks to the services' HTTP APIs only
  return { PGHOST: '127.0.0.1', PGPORT: String(pg.listen), KAFKA_BROKERS: `127.0.0.1:${kafka.listen}` };
}

// `node chaos/proxy/routes.ts kafka-listeners` prints the broker's extra listener settings, one
// per line as <listeners>|<advertised.listeners>|<listener.security.protocol.map>, for infra.sh.
if (import.meta.main) {
  if (process.argv[2] !== 'kafka-listeners') {
    console.error('usage: node chaos/proxy/routes.ts kafka-listeners');
    process.exit(2);
  }
  const host = process.env.KAFKA_HOST ?? '127.0.0.1';
  for (const l of proxyLayout().brokerListeners) console.log(`${l.name}://${host}:${l.port}|${l.name}://127.0.0.1:${l.advertisedPort}|${l.name}:PLAINTEXT`);
}
