// What tracing costs: the same open-loop load on the same stack with tracing off, then on at
// sampling ratio 1.0 (every order traced, spans exported over OTLP/HTTP to a sink in this
// process that only counts them), CPU per order by process, in one invocation beside the
// machine's pgbench ceiling.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { serviceDatabaseUrl } from '@shop/lib/db/databases';
import { stackDown, stackUp } from '@shop/testkit/processes';
import { pgbenchCeiling } from './ceiling.ts';
import { e2eRun, warmUp, type E2eRun } from './e2e.ts';
import { CPU_GROUPS, type CpuGroup } from './process-cpu.ts';
import { assertNoReplicationReaders } from './stack.ts';
import { median, table } from './stats.ts';

/** An OTLP/HTTP endpoint that counts the spans it is sent and drops them. */
async function spanSink(): Promise<{ url: string; spans: () => number; close: () => Promise<void> }> {
  let spans = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const request = JSON.parse(body) as { resourceSpans?: { scopeSpans?: { spans?: unknown[] }[] }[] };
      for (const rs of request.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) spans += ss.spans?.length ?? 0;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans: () => spans,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** `npm run bench -- tracing`: the comparison alone, beside its own pgbench ceiling. */
export async function tracingBench(rate = Number(process.env.BENCH_RATE ?? 200), seconds = Number(process.env.BENCH_SECONDS ?? 30)): Promise<void> {
  await stackDown();
  await assertNoReplicationReaders();
  const ceiling = median(await pgbenchCeiling(10, 3));
  await tracingComparison(rate, seconds);
  console.log(`pgbench ceiling of this machine (order + outbox insert, 8 clients, median of 3 × 10 s): ${ceiling.toFixed(0)} tx/s`);
}

/** The same window with tracing off, then on (the e2e bench ends with it, at its sustained rate). */
export async function tracingComparison(rate: number, seconds: number): Promise<void> {
  const db = new pg.Pool({ connectionString: serviceDatabaseUrl('orders'), max: 2 });
  const sink = await spanSink();
  const measure = async (env: NodeJS.ProcessEnv): Promise<E2eRun> => {
    await stackDown();
    await stackUp(env);
    await warmUp(db);
    await e2eRun(rate, 20, db); // not counted: the processes' own warm-up
    return e2eRun(rate, seconds, db);
  };
  const off = await measure(process.env);
  const spansBefore = sink.spans();
  const on = await measure({ ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_TRACES_SAMPLER_ARG: '1' });
  await new Promise((r) => setTimeout(r, 3_000)); // the last export batches
  const spansPerOrder = (sink.spans() - spansBefore) / on.placed;
  await stackDown();
  await stackUp(); // leave the stack as a developer expects it: running, untraced
  await sink.close();
  await db.end();

  const stack = CPU_GROUPS.filter((g) => g !== 'load generator');
  // What tracing runs in: the four services and the relay (Postgres, Kafka and Redis do the same work either way).
  const ours = stack.filter((g) => g.endsWith('-service') || g === 'outbox-relay');
  const sum = (r: E2eRun, groups: readonly CpuGroup[]) => groups.reduce((s, g) => s + r.cpuMsPerOrder[g], 0);
  const row = (name: string, r: E2eRun) => [
    name,
    ...stack.map((g) => r.cpuMsPerOrder[g].toFixed(2)),
    sum(r, ours).toFixed(2),
    sum(r, stack).toFixed(2),
    r.p50.toFixed(0),
    r.p99.toFixed(0),
  ];
  console.log(`\nCPU ms per order at ${rate}/s for ${seconds} s, tracing off and on (ratio 1.0, OTLP/HTTP JSON to a local sink):\n`);
  console.log(table(['tracing', ...stack, 'services + relay', 'all but the load generator', 'terminal p50 ms', 'p99 ms'], [row('off', off), row('on', on)]));
  const added = sum(on, ours) - sum(off, ours);
  console.log(
    `\nspans exported per order: ${spansPerOrder.toFixed(1)}; tracing adds ${added.toFixed(2)} CPU ms per order to the services and the relay ` +
      `(${((added / sum(off, ours)) * 100).toFixed(0)} % of theirs); all processes: ${(sum(on, stack) - sum(off, stack)).toFixed(2)} ms (Postgres and Kafka vary by that much between runs)`,
  );
}
