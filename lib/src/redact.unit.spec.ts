import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';
import { REDACTED, redactSecrets } from './redact.ts';

function capture() {
  const lines: Record<string, unknown>[] = [];
  return { lines, stream: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } };
}

describe('redactSecrets', () => {
  it('returns the very object when it holds no secret', () => {
    const clean = { correlationId: 'o-1', items: [{ sku: 'A', quantity: 1 }], nested: { a: { b: 1 } } };
    expect(redactSecrets(clean)).toBe(clean);
  });

  it('censors secrets at the top, in nested objects and in arrays, without touching the original', () => {
    const original = {
      paymentToken: 'tok_1',
      event: { payload: { orderId: 'o-1', paymentToken: 'tok_2' } },
      req: { headers: { authorization: 'Bearer x', 'idempotency-key': 'k-1', accept: '*/*' } },
      batch: [{ adminToken: 'a' }, { ok: true }],
    };
    const snapshot = structuredClone(original);
    const out = redactSecrets(original);
    expect(out).toEqual({
      paymentToken: REDACTED,
      event: { payload: { orderId: 'o-1', paymentToken: REDACTED } },
      req: { headers: { authorization: REDACTED, 'idempotency-key': REDACTED, accept: '*/*' } },
      batch: [{ adminToken: REDACTED }, { ok: true }],
    });
    expect(original).toEqual(snapshot);
    expect(out.batch[1]).toBe(original.batch[1]); // only the path to a secret is copied
  });

  it('keeps an error an error when one of its properties is a secret', () => {
    const error = Object.assign(new TypeError('declined'), { password: 'p' });
    const out = redactSecrets({ err: error }).err;
    expect(out).toBeInstanceOf(TypeError);
    expect(out.message).toBe('declined');
    expect(out.stack).toBe(error.stack);
    expect(out.password).toBe(REDACTED);
    expect(error.password).toBe('p');
  });

  it('leaves class instances alone and stops at cycles by depth', () => {
    const buffer = Buffer.from('paymentToken');
    expect(redactSecrets({ buffer }).buffer).toBe(buffer);
    const cyclic: Record<string, unknown> = { name: 'c' };
    cyclic.self = cyclic;
    expect(redactSecrets(cyclic)).toBe(cyclic);
  });
});

describe('createLogger', () => {
  it('writes no secret from a log call, a top-level child binding or an error', () => {
    const { lines, stream } = capture();
    const logger = createLogger('test', 'info', {}, stream);
    logger.info({ correlationId: 'o-1', command: { paymentToken: 'tok_secret' } }, 'charging');
    logger.child({ password: 'hunter2', correlationId: 'o-2' }).warn({ err: Object.assign(new Error('boom'), { adminToken: 'adm' }) }, 'failed');
    const text = JSON.stringify(lines);
    expect(text).not.toMatch(/tok_secret|hunter2|"adm"/);
    expect(lines[0]).toMatchObject({ correlationId: 'o-1', command: { paymentToken: REDACTED }, msg: 'charging', service: 'test' });
    expect(lines[1]).toMatchObject({ correlationId: 'o-2', password: REDACTED, err: { message: 'boom', type: 'Error', adminToken: REDACTED } });
  });
});
