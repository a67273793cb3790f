import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EnvReader } from './config.ts';
import { openPaymentToken, readPaymentTokenKey, sealPaymentToken } from './payment-token.ts';

describe('sealed payment tokens', () => {
  const key = randomBytes(32);

  it('opens only for the order and the key it was sealed with, and never shows the token', () => {
    const sealed = sealPaymentToken('tok_visa_4242', 'order-1', key);
    expect(sealed).not.toContain('tok_visa');
    expect(sealed).not.toBe(sealPaymentToken('tok_visa_4242', 'order-1', key)); // a fresh IV each time
    expect(openPaymentToken(sealed, 'order-1', key)).toBe('tok_visa_4242');
    expect(openPaymentToken(sealed, 'order-2', key)).toBeUndefined();
    expect(openPaymentToken(sealed, 'order-1', randomBytes(32))).toBeUndefined();
    expect(openPaymentToken(sealed.slice(0, -2), 'order-1', key)).toBeUndefined();
    expect(openPaymentToken('tok_visa_4242', 'order-1', key)).toBeUndefined();
  });

  it('needs a 32-byte key in production, and refuses a wrong one anywhere', () => {
    const missing = new EnvReader({});
    readPaymentTokenKey(missing, 'production');
    expect(() => missing.done()).toThrow(/PAYMENT_TOKEN_KEY must be set/);
    const short = new EnvReader({ PAYMENT_TOKEN_KEY: randomBytes(16).toString('base64') });
    readPaymentTokenKey(short);
    expect(() => short.done()).toThrow(/32 bytes/);
    const good = new EnvReader({ PAYMENT_TOKEN_KEY: key.toString('base64') });
    expect(readPaymentTokenKey(good, 'production')).toEqual(key);
    good.done();
  });
});
