// The fault proxy: a TCP proxy in front of Postgres and Kafka for each process of the stack
// (layout in routes.ts), and a small HTTP control API that the chaos CLI and the tests use to
// add latency, stall (partition) or reset one route or several.
//
//   GET  /readyz           200 once every route listens
//   GET  /routes           each route, its fault, its connections and bytes
//   POST /faults           {"kind": "latency"|"partition"|"reset", "process"?, "target"?, "ms"?, "seconds"?}
//   POST /heal             {"process"?, "target"?}: ends the faults of the routes named (all by default)
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, createServer, type Server } from 'node:net';
import { Link, type LinkFaults } from './link.ts';
import { proxyLayout, type ProxyRoute } from './routes.ts';
import { FAULT_KINDS, type FaultRequest, type RouteView } from './control.ts';

class RouteProxy {
  readonly route: ProxyRoute;
  readonly faults: LinkFaults = { latencyMs: 0, stalled: false };
  readonly links = new Set<Link>();
  readonly #ends = new Set<NodeJS.Timeout>();
  #server: Server;
  #accepted = 0;

  constructor(route: ProxyRoute) {
    this.route = route;
    this.#server = createServer({ noDelay: true }, (client) => {
      this.#accepted++;
      const upstream = connect({ ...route.upstream, noDelay: true });
      const link = new Link(
        client,
        upstream,
        () => this.faults,
        () => this.links.delete(link),
      );
      this.links.add(link);
    });
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.route.listen, '127.0.0.1', () => resolve());
    });
  }

  apply(f: FaultRequest): void {
    if (f.kind === 'reset') {
      for (const link of this.links) link.reset();
      return;
    }
    if (f.kind === 'latency') this.faults.latencyMs = f.ms ?? 0;
    else this.faults.stalled = true;
    if (f.seconds !== undefined) {
      const end = setTimeout(() => {
        this.#ends.delete(end);
        if (f.kind === 'latency') this.faults.latencyMs = 0;
        else this.faults.stalled = false;
        this.#wake();
      }, f.seconds * 1000);
      this.#ends.add(end);
    }
    this.#wake();
  }

  heal(): void {
    for (const t of this.#ends) clearTimeout(t);
    this.#ends.clear();
    this.faults.latencyMs = 0;
    this.faults.stalled = false;
    this.#wake();
  }

  view(): RouteView {
    let toUpstream = 0;
    let toClient = 0;
    for (const link of this.links) {
      const [up, down] = link.bytes;
      toUpstream += up;
      toClient += down;
    }
    return { ...this.route, ...this.faults, connections: this.links.size, accepted: this.#accepted, openBytes: { toUpstream, toClient } };
  }

  #wake(): void {
    for (const link of this.links) link.wake();
  }
}

const layout = proxyLayout();
const proxies = layout.routes.map((r) => new RouteProxy(r));
const matching = (body: { process?: string; target?: string }) =>
  proxies.filter((p) => (body.process === undefined || p.route.process === body.process) && (body.target === undefined || p.route.target === body.target));

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) text += chunk;
  const value: unknown = text ? JSON.parse(text) : {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('the body must be a JSON object');
  return value as Record<string, unknown>;
}

/** The routes a request names: a process of the stack and a target, each optional. */
function parseWhere(body: Record<string, unknown>): { process?: string; target?: string } {
  const { process, target } = body;
  if (process !== undefined && typeof process !== 'string') throw new Error('process must be a string');
  if (target !== undefined && typeof target !== 'string') throw new Error('target must be a string');
  return { process, target };
}

/** Checks a fault request: a known kind and the numbers it needs. */
function parseFault(body: Record<string, unknown>): FaultRequest {
  const { kind, ms, seconds } = body;
  if (!FAULT_KINDS.includes(kind as FaultRequest['kind'])) throw new Error(`kind must be one of ${FAULT_KINDS.join(', ')}`);
  if (kind === 'latency' && !(typeof ms === 'number' && ms >= 0 && ms <= 60_000)) throw new Error('latency needs ms between 0 and 60000');
  if (seconds !== undefined && !(typeof seconds === 'number' && seconds > 0 && seconds <= 3600)) throw new Error('seconds must be between 0 and 3600');
  if (kind === 'partition' && seconds === undefined) throw new Error('a partition needs seconds (it heals by itself)');
  return { kind: kind as FaultRequest['kind'], ...parseWhere(body), ms: ms as number | undefined, seconds };
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const send = (status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const path = new URL(req.url ?? '/', 'http://proxy').pathname;
  if (req.method === 'GET' && (path === '/readyz' || path === '/healthz')) return send(200, { status: 'ok' });
  if (req.method === 'GET' && path === '/routes') return send(200, { routes: proxies.map((p) => p.view()) });
  if (req.method === 'POST' && (path === '/faults' || path === '/heal')) {
    let where: { process?: string; target?: string };
    let fault: FaultRequest | undefined;
    try {
      const body = await readJson(req);
      where = parseWhere(body);
      if (path === '/faults') fault = parseFault(body);
    } catch (error) {
      return send(400, { error: (error as Error).message });
    }
    const hit = matching(where);
    if (hit.length === 0) return send(404, { error: `no route matches process ${where.process ?? '*'} and target ${where.target ?? '*'}` });
    for (const p of hit) {
      if (fault) p.apply(fault);
      else p.heal();
    }
    console.log(JSON.stringify({ at: new Date().toISOString(), [fault ? 'fault' : 'heal']: fault ?? where, routes: hit.map((p) => p.route.name) }));
    return send(200, { routes: hit.map((p) => p.route.name) });
  }
  send(404, { error: `${req.method} ${path} is not a route of the fault proxy` });
}

await Promise.all(proxies.map((p) => p.listen()));
const control = createHttpServer((req, res) => void handle(req, res));
control.listen(layout.controlPort, '127.0.0.1', () => console.log(`fault proxy: control on 127.0.0.1:${layout.controlPort}, ${proxies.length} routes`));
const stop = () => {
  control.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
