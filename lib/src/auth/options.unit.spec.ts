import { describe, expect, it } from 'vitest';
import { ConfigError, EnvReader } from '../config.ts';
import { DEV_JWT_SECRET, readAuthOptions } from './options.ts';

function problems(vars: Record<string, string>, nodeEnv?: string): string[] {
  const env = new EnvReader(vars);
  readAuthOptions(env, nodeEnv);
  try {
    env.done();
    return [];
  } catch (error) {
    return (error as ConfigError).problems;
  }
}

describe('auth options', () => {
  it('defaults to JWT with the local secret outside production', () => {
    const options = readAuthOptions(new EnvReader({}), undefined);
    expect(options).toMatchObject({ mode: 'jwt', adminToken: 'dev-admin-token', key: { kind: 'secret', algorithms: ['HS256'] } });
  });

  it('refuses what production must not run with', () => {
    expect(problems({ AUTH_MODE: 'off', ADMIN_TOKEN: 'a-long-enough-admin-token' }, 'production')).toEqual([
      'AUTH_MODE=off is refused when NODE_ENV=production',
    ]);
    expect(problems({}, 'production')).toEqual([
      'ADMIN_TOKEN must be set when NODE_ENV=production',
      'AUTH_JWT_SECRET or AUTH_JWKS_URL must be set when NODE_ENV=production',
    ]);
    expect(problems({ ADMIN_TOKEN: 'dev-admin-token', AUTH_JWT_SECRET: DEV_JWT_SECRET }, 'production')).toEqual([
      'ADMIN_TOKEN must be at least 16 characters when NODE_ENV=production',
      'AUTH_JWT_SECRET must not be the documented local secret when NODE_ENV=production',
    ]);
    expect(problems({ ADMIN_TOKEN: 'a-long-enough-admin-token', AUTH_JWKS_URL: 'http://idp.local/jwks' }, 'production')).toEqual([
      'AUTH_JWKS_URL must be https when NODE_ENV=production',
      'AUTH_ISSUER and AUTH_AUDIENCE must be set when NODE_ENV=production',
    ]);
  });

  it('refuses a short secret, two key sources, and algorithms outside the allow-list', () => {
    expect(problems({ AUTH_JWT_SECRET: 'short' })).toEqual(['AUTH_JWT_SECRET must be at least 32 bytes']);
    expect(problems({ AUTH_JWT_SECRET: 'x'.repeat(32), AUTH_JWKS_URL: 'https://idp/jwks' })).toEqual(['set AUTH_JWKS_URL or AUTH_JWT_SECRET, not both']);
    expect(problems({ AUTH_JWKS_URL: 'https://idp/jwks', AUTH_JWT_ALGORITHMS: 'ES256,HS256,none' })).toEqual([
      'AUTH_JWT_ALGORITHMS: HS256 is not one of RS256, ES256',
      'AUTH_JWT_ALGORITHMS: none is not one of RS256, ES256',
    ]);
    expect(readAuthOptions(new EnvReader({ AUTH_JWKS_URL: 'https://idp/jwks', AUTH_JWT_ALGORITHMS: 'ES256' }))).toMatchObject({
      key: { kind: 'jwks', algorithms: ['ES256'] },
    });
  });
});
