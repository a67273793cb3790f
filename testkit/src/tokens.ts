// Customer and admin JWTs for local runs, tests, benches and chaos scripts: HS256 with the
// secret the services use (AUTH_JWT_SECRET, else the documented local one).
import { SignJWT } from 'jose';
import { DEV_JWT_SECRET } from '@shop/lib/auth/options';

export interface TokenClaims {
  /** The customer id (the token's `sub`). */
  sub: string;
  /** `['admin']` for an admin token. */
  roles?: string[];
  /** Seconds from now (default one hour); negative for an expired token. */
  ttlSeconds?: number;
  /** Seconds from now before which the token is not valid yet (default: valid now). */
  notBeforeSeconds?: number;
  issuer?: string;
  audience?: string;
}

const secretOf = (env: NodeJS.ProcessEnv) => new TextEncoder().encode(env.AUTH_JWT_SECRET || DEV_JWT_SECRET);

export async function mintToken(claims: TokenClaims, secret: Uint8Array = secretOf(process.env)): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT(claims.roles ? { roles: claims.roles } : {})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuedAt(now)
    .setExpirationTime(now + (claims.ttlSeconds ?? 3_600));
  if (claims.notBeforeSeconds) jwt.setNotBefore(now + claims.notBeforeSeconds);
  const issuer = claims.issuer ?? process.env.AUTH_ISSUER;
  const audience = claims.audience ?? process.env.AUTH_AUDIENCE;
  if (issuer) jwt.setIssuer(issuer);
  if (audience) jwt.setAudience(audience);
  return jwt.sign(secret);
}

/** `{ authorization: 'Bearer …' }` for a customer, minted once per customer id and reused. */
export function customerTokens(ttlSeconds = 86_400): (customerId: string) => Promise<Record<string, string>> {
  const cache = new Map<string, Promise<Record<string, string>>>();
  return (customerId) => {
    let headers = cache.get(customerId);
    if (!headers) {
      headers = mintToken({ sub: customerId, ttlSeconds }).then((t) => ({ authorization: `Bearer ${t}` }));
      cache.set(customerId, headers);
    }
    return headers;
  };
}
