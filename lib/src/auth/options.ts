// Who may call the customer and admin routes: settings from AUTH_* variables, validated with the
// rest of a process's configuration (docs/security.md, "Authentication").
import type { EnvReader } from '../config.ts';

/** Signature algorithms accepted per key source; anything else (`none`, HS with a public key) is refused. */
export const SECRET_ALGORITHMS = ['HS256'] as const;
export const JWKS_ALGORITHMS = ['RS256', 'ES256'] as const;

export type KeySource =
  | { kind: 'secret'; secret: Uint8Array<ArrayBuffer>; algorithms: readonly string[] }
  | {
      kind: 'jwks';
      url: URL;
      algorithms: readonly string[];
      /** A token with an unknown key id refetches the key set at most this often (AUTH_JWKS_COOLDOWN_MS). */
      cooldownMs: number;
      /** Keys are refetched after this long even if every kid is known (AUTH_JWKS_MAX_AGE_MS). */
      maxAgeMs: number;
      timeoutMs: number;
    };

export interface JwtOptions {
  mode: 'jwt';
  key: KeySource;
  issuer?: string;
  audience?: string;
  clockToleranceS: number;
  /** The claim value that makes a token an admin's: in `roles` (array) or `scope` (space separated). */
  adminRole: string;
  /** Verified tokens remembered (AUTH_CACHE_SIZE, 0 = verify every request) … */
  cacheSize: number;
  /** … for at most this long, and never past their `exp` (AUTH_CACHE_TTL_S). */
  cacheTtlMs: number;
}

export type AuthOptions = { mode: 'off'; adminToken: string } | (JwtOptions & { adminToken: string });

/** The local secret when none is set: documented, refused in production. */
export const DEV_JWT_SECRET = 'dev-jwt-secret-change-me-0123456789';
export const DEV_ADMIN_TOKEN = 'dev-admin-token';

export function readAuthOptions(env: EnvReader, nodeEnv = process.env.NODE_ENV): AuthOptions {
  const production = nodeEnv === 'production';
  const mode = env.str('AUTH_MODE', 'jwt', { pattern: /^(jwt|off)$/ });
  const adminToken = env.optional('ADMIN_TOKEN') ?? (production ? '' : DEV_ADMIN_TOKEN);
  if (!adminToken) env.fail('ADMIN_TOKEN must be set when NODE_ENV=production');
  else if (production && adminToken.length < 16) env.fail('ADMIN_TOKEN must be at least 16 characters when NODE_ENV=production');
  if (mode === 'off') {
    // Anyone could then read and cancel anyone's orders: only for exploring on one machine.
    if (production) env.fail('AUTH_MODE=off is refused when NODE_ENV=production');
    return { mode: 'off', adminToken };
  }
  const jwksUrl = env.optional('AUTH_JWKS_URL');
  const secret = env.optional('AUTH_JWT_SECRET');
  const common = {
    mode: 'jwt' as const,
    adminToken,
    issuer: env.optional('AUTH_ISSUER'),
    audience: env.optional('AUTH_AUDIENCE'),
    clockToleranceS: env.int('AUTH_CLOCK_TOLERANCE_S', 30, { min: 0, max: 600 }),
    adminRole: env.str('AUTH_ADMIN_ROLE', 'admin', { pattern: /^[\w:.-]{1,100}$/ }),
    cacheSize: env.int('AUTH_CACHE_SIZE', 10_000, { min: 0, max: 1_000_000 }),
    cacheTtlMs: env.int('AUTH_CACHE_TTL_S', 60, { min: 1, max: 3_600 }) * 1000,
  };
  if (jwksUrl) {
    if (secret) env.fail('set AUTH_JWKS_URL or AUTH_JWT_SECRET, not both');
    let url = new URL('http://invalid.');
    try {
      url = new URL(jwksUrl);
    } catch {
      env.fail(`AUTH_JWKS_URL=${JSON.stringify(jwksUrl)} is not a URL`);
    }
    if (production && url.protocol !== 'https:') env.fail('AUTH_JWKS_URL must be https when NODE_ENV=production');
    if (production && (!common.issuer || !common.audience)) env.fail('AUTH_ISSUER and AUTH_AUDIENCE must be set when NODE_ENV=production');
    return {
      ...common,
      key: {
        kind: 'jwks',
        url,
        algorithms: env.list('AUTH_JWT_ALGORITHMS', [...JWKS_ALGORITHMS]).filter((a) => allowed(env, a, JWKS_ALGORITHMS)),
        cooldownMs: env.int('AUTH_JWKS_COOLDOWN_MS', 30_000, { min: 0, max: 3_600_000 }),
        maxAgeMs: env.int('AUTH_JWKS_MAX_AGE_MS', 600_000, { min: 1_000, max: 86_400_000 }),
        timeoutMs: env.int('AUTH_JWKS_TIMEOUT_MS', 5_000, { min: 100, max: 60_000 }),
      },
    };
  }
  if (!secret && production) env.fail('AUTH_JWT_SECRET or AUTH_JWKS_URL must be set when NODE_ENV=production');
  const text = secret ?? DEV_JWT_SECRET;
  if (production && secret === DEV_JWT_SECRET) env.fail('AUTH_JWT_SECRET must not be the documented local secret when NODE_ENV=production');
  // RFC 7518 §3.2: an HS256 key has at least as many bits as the hash.
  if (Buffer.byteLength(text) < 32) env.fail('AUTH_JWT_SECRET must be at least 32 bytes');
  return { ...common, key: { kind: 'secret', secret: new TextEncoder().encode(text), algorithms: SECRET_ALGORITHMS } };
}

function allowed(env: EnvReader, algorithm: string, list: readonly string[]): boolean {
  if (list.includes(algorithm)) return true;
  env.fail(`AUTH_JWT_ALGORITHMS: ${algorithm} is not one of ${list.join(', ')}`);
  return false;
}
