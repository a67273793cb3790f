// The fault proxy's control API as the chaos CLI, the soak and the tests call it.
import { proxyLayout, type ProxyRoute } from './routes.ts';

export const FAULT_KINDS = ['latency', 'partition', 'reset'] as const;

export interface FaultRequest {
  kind: (typeof FAULT_KINDS)[number];
  /** A process of the stack (every copy of it); all of them when absent. */
  process?: string;
  /** `postgres` or `kafka`; both when absent. */
  target?: string;
  /** latency: added to each direction. */
  ms?: number;
  /** How long the fault lasts; latency stays until /heal without it, a partition needs it. */
  seconds?: number;
}

export interface RouteView extends ProxyRoute {
  latencyMs: number;
  stalled: boolean;
  connections: number;
  accepted: number;
  /** Bytes forwarded on the connections open now. */
  openBytes: { toUpstream: number; toClient: number };
}

const controlUrl = (path: string) => `http://127.0.0.1:${proxyLayout().controlPort}${path}`;

async function call<T>(path: string, body?: unknown): Promise<T> {
  const res = await fetch(controlUrl(path), {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? undefined : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  }).catch((error: Error) => {
    throw new Error(`the fault proxy is not running on ${controlUrl('')} (start the stack with FAULT_PROXY=1): ${error.message}`);
  });
  const json = (await res.json()) as T & { error?: string };
  if (!res.ok) throw new Error(`fault proxy: ${json.error ?? res.status}`);
  return json;
}

export const proxyRunning = (): Promise<boolean> =>
  fetch(controlUrl('/readyz'), { signal: AbortSignal.timeout(1_000) }).then(
    (r) => r.ok,
    () => false,
  );

export const proxyRoutes = async (): Promise<RouteView[]> => (await call<{ routes: RouteView[] }>('/routes')).routes;

/** Applies a fault; answers the names of the routes it hit. */
export const injectFault = async (fault: FaultRequest): Promise<string[]> => (await call<{ routes: string[] }>('/faults', fault)).routes;

export const healFaults = async (where: { process?: string; target?: string } = {}): Promise<string[]> =>
  (await call<{ routes: string[] }>('/heal', where)).routes;

/** "10s", "500ms", "2m" or a bare number of seconds. */
export function parseSeconds(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not a duration (10s, 500ms, 2m)`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n / 1000 : m[2] === 'm' ? n * 60 : n;
}
