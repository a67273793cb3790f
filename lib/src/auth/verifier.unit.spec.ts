import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { EnvReader } from '../config.ts';
import { readAuthOptions, type JwtOptions } from './options.ts';
import { createVerifier, InvalidToken } from './verifier.ts';

const SECRET = 'verifier-unit-secret-0123456789abcdef';
const options = (vars: Record<string, string> = {}) => readAuthOptions(new EnvReader({ AUTH_JWT_SECRET: SECRET, ...vars })) as JwtOptions & { mode: 'jwt' };
const sign = (claims: Record<string, unknown>, exp: number) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('c-1').setExpirationTime(exp).sign(new TextEncoder().encode(SECRET));
const inSeconds = (s: number) => Math.floor(Date.now() / 1000) + s;

describe('token verifier', () => {
  it('reads a customer from sub and an admin from roles or scope', async () => {
    const v = createVerifier(options());
    expect(await v.verify(await sign({}, inSeconds(60)))).toEqual({ kind: 'customer', customerId: 'c-1' });
    expect(await v.verify(await sign({ roles: ['admin'] }, inSeconds(60)))).toEqual({ kind: 'admin', actor: 'c-1' });
    expect(await v.verify(await sign({ scope: 'orders:read admin' }, inSeconds(60)))).toEqual({ kind: 'admin', actor: 'c-1' });
    expect(await v.verify(await sign({ roles: 'admin' }, inSeconds(60)))).toEqual({ kind: 'customer', customerId: 'c-1' });
  });

  it('remembers a verified token no longer than its exp', async () => {
    const v = createVerifier({ ...options(), clockToleranceS: 0 });
    const token = await sign({}, inSeconds(1));
    expect(await v.verify(token)).toEqual({ kind: 'customer', customerId: 'c-1' });
    await new Promise((r) => setTimeout(r, 2_100));
    await expect(v.verify(token)).rejects.toMatchObject({ refusal: 'expired' });
    await expect(v.verify(token)).rejects.toBeInstanceOf(InvalidToken);
  });
});
