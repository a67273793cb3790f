// Who is calling. Every route says who may call it in its config (createApp refuses a route that
// does not): `auth: 'public'` (probes, the catalog, the console's login), `auth: 'customer'` (the
// customer routes) or `auth: 'admin'` (stock writes, DLQ replay, the console). Runs on onRequest,
// before the body is even read, so a refused caller costs no parsing and writes nothing.
// docs/http-api.md, "Authentication".
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Registry } from 'prom-client';
import type { AuthOptions } from '../auth/options.ts';
import { createVerifier, InvalidToken, type Principal } from '../auth/verifier.ts';
import { AppError } from '../errors.ts';
import { counter } from './metrics.ts';

export type { Principal } from '../auth/verifier.ts';

/** Who may call a route: anyone, a customer (their own data; an admin too), or an admin only. */
export type AuthKind = 'public' | 'customer' | 'admin';
export const AUTH_KINDS: readonly AuthKind[] = ['public', 'customer', 'admin'];

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: AuthKind;
  }
  interface FastifyRequest {
    /** The verified caller; undefined on a customer route with AUTH_MODE=off (anyone). */
    principal?: Principal;
  }
}

const REALM = 'Bearer realm="shop"';
const BEARER = /^Bearer[ ]+([\x21-\x7E]+)$/i;

function challenge(reply: FastifyReply, error?: InvalidToken): never {
  // RFC 6750 §3: no error attribute when no credentials were sent, invalid_token otherwise.
  const why = error ? `, error="invalid_token", error_description="${error.message.replaceAll('"', "'")}"` : '';
  reply.header('www-authenticate', `${REALM}${why}`);
  throw error ?? new AppError('unauthorized', 'this route needs Authorization: Bearer <token>', { status: 401 });
}

async function plugin(app: FastifyInstance, opts: AuthOptions & { registry: Registry }) {
  const verifier = opts.mode === 'jwt' ? createVerifier(opts) : undefined;
  const adminToken = Buffer.from(opts.adminToken);
  const refusals = counter(opts.registry, { name: 'auth_refusals_total', help: 'Requests refused a bearer token, by reason', labelNames: ['reason'] });
  const isAdminToken = (token: string) => {
    const given = Buffer.from(token);
    return given.length === adminToken.length && timingSafeEqual(given, adminToken);
  };

  app.decorateRequest('principal', undefined);
  app.addHook('onRequest', async (request, reply) => {
    const needs = request.routeOptions.config.auth;
    // Public, or already known (the console's session cookie, read before this hook).
    if (needs === 'public' || needs === undefined || request.principal) return;
    const header = request.headers.authorization;
    if (header === undefined) {
      if (needs === 'customer' && !verifier) return;
      refusals.inc({ reason: 'missing' });
      challenge(reply);
    }
    const token = BEARER.exec(header)?.[1];
    if (token && isAdminToken(token)) {
      request.principal = { kind: 'admin', actor: 'admin-token' };
      return;
    }
    if (!verifier) {
      // AUTH_MODE=off: customer routes take anyone, admin routes only the admin token.
      if (needs === 'customer') return;
      refusals.inc({ reason: 'not_admin_token' });
      challenge(reply, new InvalidToken('signature', 'the admin token is not valid'));
    }
    let principal: Principal;
    try {
      if (!token) throw new InvalidToken('malformed', 'Authorization must be "Bearer <token>"');
      principal = await verifier.verify(token);
    } catch (error) {
      if (!(error instanceof InvalidToken)) throw error;
      refusals.inc({ reason: error.refusal });
      request.log.info({ refusal: error.refusal }, 'bearer token refused');
      challenge(reply, error);
    }
    request.principal = principal;
    if (needs === 'admin' && principal.kind !== 'admin') {
      refusals.inc({ reason: 'not_admin' });
      throw new AppError('forbidden', 'this route needs an admin', { status: 403 });
    }
  });
}

/** Registered once per app, before the routes (not encapsulated: its hook sees every route). */
export const authentication = fp(plugin, { name: 'authentication', fastify: '5.x' });

/**
 * Who a request counts against, for what is kept per caller (Idempotency-Keys, rate limits, open
 * waits): the token's customer or admin, or the remote address when there is no token (AUTH_MODE=off).
 */
export function callerOf(request: FastifyRequest): string {
  const p = request.principal;
  return p?.kind === 'customer' ? `customer:${p.customerId}` : p?.kind === 'admin' ? `admin:${p.actor}` : `ip:${request.ip}`;
}

/** A caller (callerOf, or another client name) as a short fixed-size key part: any id, any bytes. */
export function callerKey(caller: string): string {
  return createHash('sha256').update(caller).digest('base64url').slice(0, 22);
}

/** May this caller see and act on an order of `customerId`? (Anyone with AUTH_MODE=off.) */
export function mayAccess(request: FastifyRequest, customerId: string): boolean {
  const p = request.principal;
  return p === undefined || p.kind === 'admin' || p.customerId === customerId;
}

/**
 * For reads of an order's records kept by another service (payments, notifications): a customer
 * sees them only when every record is theirs, and gets 404 otherwise (none yet, or another's),
 * as for an order that does not exist, so ids cannot be probed. An admin sees all.
 */
export function assertOwnRecords(request: FastifyRequest, owners: readonly (string | null)[], what: string): void {
  const p = request.principal;
  if (p?.kind !== 'customer') return;
  if (owners.length === 0 || owners.some((owner) => owner !== p.customerId)) throw new AppError('not_found', `${what} not found`, { status: 404 });
}

/**
 * The customer an order is placed for: the token's `sub` (a body `customerId` that disagrees is
 * 403); an admin or AUTH_MODE=off names it in the body. Undefined: nobody named one.
 */
export function customerFor(request: FastifyRequest, named: string | undefined): string | undefined {
  const p = request.principal;
  if (p?.kind !== 'customer') return named;
  if (named !== undefined && named !== p.customerId) throw new AppError('forbidden', 'customerId is not the customer of the token', { status: 403 });
  return p.customerId;
}

/** Who did an admin action, for the audit trail: only an `auth: 'admin'` route has one. */
export function actorOf(request: FastifyRequest): string {
  const p = request.principal;
  if (p?.kind !== 'admin') throw new Error(`actorOf on ${request.routeOptions.url}: not an admin route`);
  return p.actor;
}
