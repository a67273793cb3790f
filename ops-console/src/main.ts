// The operations console (port 3006): the relay's lag and throughput, consumer lag, dead letters
// with replay, one order across services, and every process' health, on one page. It reads the
// relay over HTTP (/lag, /metrics), Kafka through its admin API, and the services' outbox
// tables read-only, so neither the relay nor any service knows it exists.
import pg from 'pg';
import { EnvReader, readCommonConfig } from '@shop/lib/config';
import { SERVICE_DATABASES, serviceDatabaseUrl } from '@shop/lib/db/databases';
import { readAuthOptions } from '@shop/lib/auth/options';
import { authentication } from '@shop/lib/http/auth';
import { createApp } from '@shop/lib/http/app';
import { createRegistry } from '@shop/lib/http/metrics';
import { onShutdown } from '@shop/lib/lifecycle';
import { createLogger } from '@shop/lib/logger';
import { COMPONENTS, RELAY, SERVICES } from '@shop/lib/manifest';
import { createKafka } from '@shop/lib/messaging/kafka';
import { DeadLetters } from './dlq.ts';
import { DashboardMonitor } from './monitor.ts';
import { dashboardRoutes } from './routes.ts';
import { consoleSessions, readSessionOptions } from './session.ts';

const env = new EnvReader();
const common = readCommonConfig(env);
const self = COMPONENTS.find((c) => c.name === 'ops-console')!;
const port = env.int('PORT', self.port, { min: 0, max: 65535 });
const pollMs = env.int('CONSOLE_POLL_MS', 1_000, { min: 100, max: 60_000 });
const relayUrl = env.str(RELAY.urlEnv, `http://127.0.0.1:${RELAY.port}`);
const serviceUrls = Object.fromEntries(SERVICES.map((s) => [s.name, env.str(s.urlEnv, `http://127.0.0.1:${s.port}`)]));
const databases = SERVICE_DATABASES.map((db) => [db, serviceDatabaseUrl(db, env)] as const);
// A trace viewer (Jaeger, Tempo, …): the order lookup links an order's trace id to <TRACE_UI_URL>/<traceId>.
const traceUiUrl = env.optional('TRACE_UI_URL');
const auth = readAuthOptions(env);
const sessions = readSessionOptions(env);
env.done();

const logger = createLogger('ops-console', common.logLevel);
const registry = createRegistry('ops-console');
const kafka = createKafka({ clientId: 'ops-console', brokers: common.kafkaBrokers, logger });
const admin = kafka.admin();
const pools = new Map(databases.map(([name, url]) => [name as string, new pg.Pool({ connectionString: url, max: 2 })]));
for (const pool of pools.values()) pool.on('error', () => undefined);

const app = createApp({ service: 'ops-console', logger, registry, timeouts: common.http });
const monitor = new DashboardMonitor(relayUrl, admin, serviceUrls);
const deadLetters = new DeadLetters(kafka, admin);
// The session cookie first: a signed-in admin needs no bearer token on each request.
await app.register(consoleSessions, { ...sessions, auth });
await app.register(authentication, { ...auth, registry });
// The order lookup reads order-service as an admin (any customer's order), with the admin token.
await app.register(dashboardRoutes, { monitor, deadLetters, pools, orderServiceUrl: serviceUrls['order-service'], adminToken: auth.adminToken, traceUiUrl });

onShutdown(
  logger,
  [
    { name: 'kafka admin', close: () => admin.disconnect() },
    { name: 'dead-letter reader', close: () => deadLetters.stop() },
    { name: 'monitor', close: () => monitor.stop() },
    { name: 'database pools', close: () => Promise.all([...pools.values()].map((p) => p.end())) },
    { name: 'http server', close: () => app.close() },
  ],
  { name: 'ops-console', port, graceMs: common.shutdownGraceMs },
);

await app.listen({ host: common.host, port });
monitor.start(pollMs);
// The page works without Kafka (it says so); dead letters appear once Kafka answers.
const followDeadLetters = (): void =>
  void admin
    .connect()
    .then(() => deadLetters.start())
    .catch((error: Error) => {
      logger.warn({ err: error.message }, 'dead-letter view unavailable until Kafka is reachable');
      setTimeout(followDeadLetters, 5_000).unref();
    });
followDeadLetters();
logger.info({ port, relay: relayUrl }, 'ops-console listening');
