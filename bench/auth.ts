// The cost of verifying a bearer token per request, HS256 (shared secret) against ES256 (a key
// from a JWKS URL, fetched once and cached), through the services' own authentication plugin in
// one Fastify app: CPU µs per request of an authenticated route minus the same route without
// authentication. Each request carries the next of 1,000 customers' tokens, with the cache of
// verified tokens off (every request verifies) and on (each token verified once, as when a
// client reuses its token). Printed beside the pgbench ceiling.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { DEV_JWT_SECRET, readAuthOptions } from '@shop/lib/auth/options';
import { EnvReader } from '@shop/lib/config';
import { createRegistry } from '@shop/lib/http/metrics';
import { authentication } from '@shop/lib/http/auth';
import { mintToken } from '@shop/testkit/tokens';
import { pgbenchCeiling } from './ceiling.ts';
import { median, table } from './stats.ts';

const CUSTOMERS = 1_000;

async function keySetServer(): Promise<{ url: string; sign: (sub: string) => Promise<string>; close: () => void }> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench-1', alg: 'ES256', use: 'sig' };
  const server = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const now = Math.floor(Date.now() / 1000);
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`,
    sign: (sub) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'ES256', kid: 'bench-1' })
        .setSubject(sub)
        .setIssuedAt(now)
        .setExpirationTime(now + 3_600)
        .sign(privateKey),
    close: () => server.close(),
  };
}

/** An app with one route, authenticated as `auth` says (AUTH_* variables) or not at all. */
async function appWith(vars: Record<string, string> | undefined) {
  const app = Fastify({ logger: false });
  if (vars) await app.register(authentication, { ...readAuthOptions(new EnvReader(vars), 'development'), registry: createRegistry('bench') });
  app.get('/orders', { config: { auth: vars ? 'customer' : undefined } }, async (request) => ({ who: request.principal?.kind ?? 'anyone' }));
  await app.ready();
  return app;
}

/** CPU µs per request over `n` requests, each with the next token. */
async function cpuPerRequest(app: Awaited<ReturnType<typeof appWith>>, tokens: string[], n: number): Promise<number> {
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const res = await app.inject({ method: 'GET', url: '/orders', headers: { authorization: `Bearer ${tokens[i % tokens.length]}` } });
    if (res.statusCode !== 200) throw new Error(`auth bench: ${res.statusCode} ${res.body}`);
  }
  const used = process.cpuUsage(before);
  return (used.user + used.system) / n;
}

export async function authBench(
  requests = Number(process.env.BENCH_AUTH_REQUESTS ?? 20_000),
  runs = Number(process.env.BENCH_RUNS ?? 3),
  ceilingSeconds = 10,
): Promise<void> {
  const ceiling = median(await pgbenchCeiling(ceilingSeconds, runs));
  const keys = await keySetServer();
  try {
    const customers = Array.from({ length: CUSTOMERS }, (_, i) => `bench-${i}`);
    const secret = new TextEncoder().encode(DEV_JWT_SECRET);
    const hsTokens = await Promise.all(customers.map((sub) => mintToken({ sub }, secret)));
    const esTokens = await Promise.all(customers.map((sub) => keys.sign(sub)));
    const HS = { AUTH_MODE: 'jwt', AUTH_JWT_SECRET: DEV_JWT_SECRET };
    const ES = { AUTH_MODE: 'jwt', AUTH_JWKS_URL: keys.url };
    const cases = [
      { name: 'no authentication', app: await appWith(undefined), tokens: hsTokens },
      { name: 'HS256, every request verified', app: await appWith({ ...HS, AUTH_CACHE_SIZE: '0' }), tokens: hsTokens },
      { name: 'ES256, every request verified', app: await appWith({ ...ES, AUTH_CACHE_SIZE: '0' }), tokens: esTokens },
      { name: 'HS256, verified tokens cached', app: await appWith(HS), tokens: hsTokens },
      { name: 'ES256, verified tokens cached', app: await appWith(ES), tokens: esTokens },
    ];
    const us = cases.map(() => [] as number[]);
    // A first pass warms the JIT (and fetches the key set once); then `runs` measured passes.
    for (let pass = 0; pass <= runs; pass++) {
      const now: number[] = [];
      for (const c of cases) now.push(await cpuPerRequest(c.app, c.tokens, requests));
      if (pass === 0) continue;
      now.forEach((v, i) => us[i].push(v));
      console.error(`auth run ${pass}/${runs}: ${cases.map((c, i) => `${c.name} ${now[i].toFixed(1)} µs`).join(', ')}`);
    }
    await Promise.all(cases.map((c) => c.app.close()));
    // The least disturbed pass of each case: GC and the other processes on the two cores only add.
    const best = us.map((runsUs) => Math.min(...runsUs));
    console.log(
      table(
        [`token verification, ${requests} requests, best of ${runs} (pgbench ceiling ${ceiling.toFixed(0)} tx/s)`, 'CPU µs per request', 'of which verifying'],
        cases.map((c, i) => [c.name, best[i].toFixed(1), i === 0 ? '0' : (best[i] - best[0]).toFixed(1)]),
      ),
    );
  } finally {
    keys.close();
  }
}
