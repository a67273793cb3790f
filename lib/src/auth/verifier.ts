// Verifies a bearer JWT into the caller it names. jose checks the signature against an explicit
// algorithm allow-list (so `alg: none` and an HS256 token signed with a public key are refused),
// then exp/nbf (with the clock tolerance), issuer and audience.
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { subjectProblem } from './subject.ts';
import { AppError } from '../errors.ts';
import type { JwtOptions } from './options.ts';

/** Who is calling: a customer (the token's `sub`) or an admin (a role claim, or the admin token). */
export type Principal = { kind: 'customer'; customerId: string } | { kind: 'admin'; actor: string };

/** Why a token was refused, for the `auth_refusals_total` metric and the 401's detail. */
export type Refusal = 'expired' | 'not_yet_valid' | 'claims' | 'signature' | 'algorithm' | 'unknown_key' | 'malformed';

export class InvalidToken extends AppError {
  readonly refusal: Refusal;

  constructor(refusal: Refusal, message: string) {
    super('unauthorized', message, { status: 401 });
    this.refusal = refusal;
  }
}

export interface TokenVerifier {
  verify(token: string): Promise<Principal>;
}

// A key set that cannot be fetched is our outage, not the caller's bad token: 503, retry later.
const KEY_SET_UNAVAILABLE = new Set(['ERR_JWKS_TIMEOUT', 'ERR_JOSE_GENERIC', 'ERR_JWKS_INVALID']);

function refusalOf(error: unknown): InvalidToken | AppError {
  const code = (error as { code?: string }).code;
  if (error instanceof errors.JWTExpired) return new InvalidToken('expired', 'the token has expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf' || error.claim === 'iat') return new InvalidToken('not_yet_valid', 'the token is not valid yet');
    return new InvalidToken('claims', `the token's "${error.claim}" claim is not accepted`);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return new InvalidToken('signature', 'the token signature does not verify');
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported)
    return new InvalidToken('algorithm', 'the token algorithm is not accepted');
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys)
    return new InvalidToken('unknown_key', 'the token names no known key');
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return new InvalidToken('malformed', 'the token is malformed');
  if (code && KEY_SET_UNAVAILABLE.has(code)) return keySetUnavailable(error);
  if (error instanceof errors.JOSEError) return new InvalidToken('malformed', 'the token is not accepted');
  return keySetUnavailable(error);
}

const keySetUnavailable = (cause: unknown) => new AppError('temporarily_unavailable', 'the signing keys cannot be fetched right now', { status: 503, cause });

function principalOf(payload: JWTPayload, adminRole: string): Principal {
  const roles = Array.isArray(payload.roles) ? payload.roles : [];
  const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
  if (roles.includes(adminRole) || scopes.includes(adminRole)) return { kind: 'admin', actor: payload.sub! };
  return { kind: 'customer', customerId: payload.sub! };
}

export function createVerifier(options: JwtOptions): TokenVerifier {
  const { key } = options;
  // The secret imported once: handed over as bytes, jose imports it again for every token.
  const getKey: Promise<CryptoKey> | JWTVerifyGetKey =
    key.kind === 'secret'
      ? crypto.subtle.importKey('raw', key.secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify'])
      : createRemoteJWKSet(key.url, { cooldownDuration: key.cooldownMs, cacheMaxAge: key.maxAgeMs, timeoutDuration: key.timeoutMs });
  const verifyOptions = {
    algorithms: [...key.algorithms],
    issuer: options.issuer,
    audience: options.audience,
    clockTolerance: options.clockToleranceS,
    requiredClaims: ['sub', 'exp'],
  };
  // A client sends one token with many requests: each is verified once per TTL, not per request
  // (HS256 costs ~0.17 ms of CPU, ES256 ~0.33: BENCHMARKS.md). Keyed by the whole token, so a
  // changed signature is a miss; a failure is never remembered.
  const verified = new Map<string, { principal: Principal; until: number }>();
  const remember = (token: string, principal: Principal, exp: number) => {
    if (options.cacheSize === 0) return;
    if (verified.size >= options.cacheSize) verified.delete(verified.keys().next().value!); // the oldest
    verified.set(token, { principal, until: Math.min(exp * 1000, Date.now() + options.cacheTtlMs) });
  };
  return {
    async verify(token) {
      const hit = verified.get(token);
      if (hit && hit.until > Date.now()) return hit.principal;
      if (hit) verified.delete(token);
      let payload: JWTPayload;
      try {
        // Two call forms, one per key kind (jose's overloads do not take the union).
        payload = (typeof getKey === 'function' ? await jwtVerify(token, getKey, verifyOptions) : await jwtVerify(token, await getKey, verifyOptions)).payload;
      } catch (error) {
        throw refusalOf(error);
      }
      const subProblem = typeof payload.sub === 'string' ? subjectProblem(payload.sub) : 'must be a string';
      if (subProblem) throw new InvalidToken('claims', `the token's "sub" claim ${subProblem}`);
      const principal = principalOf(payload, options.adminRole);
      remember(token, principal, payload.exp!);
      return principal;
    },
  };
}
