// The console's admin login. An admin signs in once with what the admin API takes (the admin token
// or an admin JWT); the console answers with a session cookie (HttpOnly, SameSite=Strict, Secure
// outside local use) signed with CONSOLE_SESSION_SECRET, so any console replica can check it and
// the token itself is never kept by the browser. A request with a valid cookie is an admin's; one
// that changes something must also carry the session's CSRF token (x-csrf-token), which the page
// reads from GET /api/me: a form on another site cannot.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { EnvReader } from '@shop/lib/config';
import type { AuthOptions } from '@shop/lib/auth/options';
import { createVerifier, InvalidToken } from '@shop/lib/auth/verifier';
import { AppError } from '@shop/lib/errors';

export const COOKIE = 'shop_console';
const DEV_SECRET = 'dev-console-session-secret-change-me';

export interface SessionOptions {
  secret: Buffer;
  /** The cookie's Secure attribute: on unless the console runs locally over plain HTTP. */
  secure: boolean;
  ttlMs: number;
}

export function readSessionOptions(env: EnvReader, nodeEnv = process.env.NODE_ENV): SessionOptions {
  const production = nodeEnv === 'production';
  const secret = env.optional('CONSOLE_SESSION_SECRET') ?? (production ? '' : DEV_SECRET);
  if (production && (secret.length < 32 || secret === DEV_SECRET)) env.fail('CONSOLE_SESSION_SECRET must be set (32+ characters) when NODE_ENV=production');
  return {
    secret: Buffer.from(secret),
    secure: env.bool('CONSOLE_COOKIE_SECURE', production),
    ttlMs: env.int('CONSOLE_SESSION_TTL_S', 8 * 3600, { min: 60, max: 7 * 86_400 }) * 1000,
  };
}

const sign = (secret: Buffer, text: string) => createHmac('sha256', secret).update(text).digest('base64url');
const same = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** `<actor>.<expires>.<nonce>.<signature>`, each part base64url or digits. */
function issue(opts: SessionOptions, actor: string): string {
  const body = `${Buffer.from(actor).toString('base64url')}.${Date.now() + opts.ttlMs}.${randomBytes(12).toString('base64url')}`;
  return `${body}.${sign(opts.secret, body)}`;
}

function actorOfCookie(opts: SessionOptions, value: string): string | undefined {
  const parts = value.split('.');
  if (parts.length !== 4) return undefined;
  const body = parts.slice(0, 3).join('.');
  if (!same(parts[3], sign(opts.secret, body)) || Number(parts[1]) < Date.now()) return undefined;
  return Buffer.from(parts[0], 'base64url').toString();
}

const csrfOf = (opts: SessionOptions, cookie: string) => sign(opts.secret, `csrf:${cookie}`);

function cookieOf(request: FastifyRequest): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === COOKIE) return value.join('=');
  }
  return undefined;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The session cookie, when the caller is signed in with one (CSRF is then checked on writes). */
    consoleSession?: string;
  }
}

async function plugin(app: FastifyInstance, opts: SessionOptions & { auth: AuthOptions }) {
  const verifier = opts.auth.mode === 'jwt' ? createVerifier(opts.auth) : undefined;
  const adminToken = opts.auth.adminToken;
  const setCookie = (reply: FastifyReply, value: string, maxAgeS: number) =>
    reply.header('set-cookie', `${COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${opts.secure ? '; Secure' : ''}`);

  app.decorateRequest('consoleSession', undefined);
  // Before the bearer check (lib/src/http/auth.ts): a valid cookie makes the caller an admin.
  app.addHook('onRequest', async (request) => {
    const cookie = cookieOf(request);
    const actor = cookie && actorOfCookie(opts, cookie);
    if (!actor) return;
    request.principal = { kind: 'admin', actor };
    request.consoleSession = cookie;
    const writes = request.method !== 'GET' && request.method !== 'HEAD' && request.routeOptions.config.auth !== 'public';
    const csrf = request.headers['x-csrf-token'];
    if (writes && (typeof csrf !== 'string' || !same(csrf, csrfOf(opts, cookie)))) {
      throw new AppError('forbidden', "this request needs the session's x-csrf-token (GET /api/me)", { status: 403 });
    }
  });

  /** The admin a token names, or undefined: the admin token itself, or a JWT with the admin role. */
  const adminOf = async (token: string): Promise<string | undefined> => {
    if (same(token, adminToken)) return 'admin-token';
    if (!verifier) return undefined;
    try {
      const principal = await verifier.verify(token);
      return principal.kind === 'admin' ? principal.actor : undefined;
    } catch (error) {
      if (error instanceof InvalidToken) return undefined;
      throw error;
    }
  };

  app.post(
    '/login',
    {
      config: { auth: 'public' },
      schema: {
        body: { type: 'object', properties: { token: { type: 'string', minLength: 1, maxLength: 8192 } }, required: ['token'], additionalProperties: false },
      },
    },
    async (request, reply) => {
      const actor = await adminOf((request.body as { token: string }).token);
      if (!actor) throw new AppError('unauthorized', 'not an admin token', { status: 401 });
      const cookie = issue(opts, actor);
      setCookie(reply, cookie, Math.floor(opts.ttlMs / 1000));
      request.log.info({ actor }, 'console sign-in');
      return { actor, csrfToken: csrfOf(opts, cookie) };
    },
  );

  app.get('/api/me', { config: { auth: 'admin' } }, async (request) => ({
    actor: request.principal?.kind === 'admin' ? request.principal.actor : null,
    // Only a cookie session needs one; a bearer caller sends its token instead.
    csrfToken: request.consoleSession ? csrfOf(opts, request.consoleSession) : null,
  }));

  app.post('/logout', { config: { auth: 'admin' } }, async (_request, reply) => {
    setCookie(reply, '', 0);
    return { signedOut: true };
  });
}

/** Registered before the authentication plugin, so its hook sees the cookie first. */
export const consoleSessions = fp(plugin, { name: 'console-sessions', fastify: '5.x' });
