// The customer's payment token never travels or rests as the client sent it: order-service seals
// it (AES-256-GCM) before it is stored or written to the outbox, and only payment-service, which
// hands it to the provider, opens it. An outbox row, a Kafka message, a dead letter, a log line
// or the console can only ever show the sealed form, useless without PAYMENT_TOKEN_KEY.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { EnvReader } from './config.ts';

const VERSION = 'v1';
/** The local key when none is set: derived from a documented phrase, refused in production. */
const DEV_KEY = createHash('sha256').update('dev-payment-token-key').digest();

/** PAYMENT_TOKEN_KEY: 32 bytes, base64 (e.g. `openssl rand -base64 32`); production must set it. */
export function readPaymentTokenKey(env: EnvReader, nodeEnv = process.env.NODE_ENV): Buffer {
  const given = env.optional('PAYMENT_TOKEN_KEY');
  if (!given) {
    if (nodeEnv === 'production') env.fail('PAYMENT_TOKEN_KEY must be set when NODE_ENV=production (32 bytes, base64)');
    return DEV_KEY;
  }
  const key = Buffer.from(given, 'base64');
  if (key.length !== 32) env.fail('PAYMENT_TOKEN_KEY must be 32 bytes, base64-encoded');
  return key;
}

/** `v1.<iv>.<ciphertext>.<tag>`, base64url; the order id is bound in, so a sealed token cannot be moved to another order. */
export function sealPaymentToken(token: string, orderId: string, key: Buffer): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(orderId));
  const sealed = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
  return [VERSION, iv.toString('base64url'), sealed.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
}

/** The token, or undefined when `sealed` was not sealed for this order with this key. */
export function openPaymentToken(sealed: string, orderId: string, key: Buffer): string | undefined {
  const [version, iv, data, tag] = sealed.split('.');
  if (version !== VERSION || !iv || !data || !tag) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url')).setAAD(Buffer.from(orderId));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}
