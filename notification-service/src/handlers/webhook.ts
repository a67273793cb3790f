// Delivers notifications to NOTIFY_WEBHOOK_URL after the commit, recording each attempt. Each
// delivery is signed as Standard Webhooks (and Svix, Stripe in spirit) do: `webhook-id`,
// `webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>`
// with NOTIFY_WEBHOOK_SECRET, so the receiver can check who sent it and refuse replays. A redirect
// is a failure, never followed (it could send the signed body elsewhere). After
// NOTIFY_WEBHOOK_ATTEMPTS failures the delivery is given up and the row dead-lettered.
import { createHmac } from 'node:crypto';
import type { Counter } from 'prom-client';
import { exponentialBackoff, sleep } from '@shop/lib/backoff';
import type { EnvReader } from '@shop/lib/config';
import type { Logger } from '@shop/lib/logger';
import type { PrismaClient as Db } from '../generated/prisma/client.ts';
import type { Deliver } from './orders.ts';

export interface WebhookOptions {
  url: string;
  secret: string;
  attempts: number;
  timeoutMs: number;
}

/** NOTIFY_WEBHOOK_*; undefined when no webhook is configured (notifications are only logged). */
export function readWebhookOptions(env: EnvReader, nodeEnv = process.env.NODE_ENV): WebhookOptions | undefined {
  const url = env.optional('NOTIFY_WEBHOOK_URL');
  const secret = env.optional('NOTIFY_WEBHOOK_SECRET') ?? '';
  const attempts = env.int('NOTIFY_WEBHOOK_ATTEMPTS', 5, { min: 1, max: 20 });
  const timeoutMs = env.int('NOTIFY_WEBHOOK_TIMEOUT_MS', 5_000, { min: 100, max: 60_000 });
  if (!url) return undefined;
  let protocol = '';
  try {
    protocol = new URL(url).protocol;
  } catch {
    env.fail(`NOTIFY_WEBHOOK_URL=${JSON.stringify(url)} is not a URL`);
  }
  if (nodeEnv === 'production' && protocol !== 'https:') env.fail('NOTIFY_WEBHOOK_URL must be https when NODE_ENV=production');
  if (Buffer.byteLength(secret) < 32) env.fail('NOTIFY_WEBHOOK_SECRET must be set (32+ bytes) with NOTIFY_WEBHOOK_URL: every delivery is signed with it');
  return { url, secret, attempts, timeoutMs };
}

/** The headers that sign `body` (Standard Webhooks): what a receiver recomputes to verify it. */
export function signatureHeaders(secret: string, id: string, body: string, at = new Date()): Record<string, string> {
  const timestamp = String(Math.floor(at.getTime() / 1000));
  const signature = createHmac('sha256', secret).update(`${id}.${timestamp}.${body}`).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${signature}` };
}

async function attempt(opts: WebhookOptions, id: string, body: string): Promise<string | undefined> {
  try {
    const res = await fetch(opts.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...signatureHeaders(opts.secret, id, body) },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
    await res.arrayBuffer().catch(() => undefined);
    if (res.status >= 300 && res.status < 400) return `HTTP ${res.status}: redirects are not followed`;
    return res.ok ? undefined : `HTTP ${res.status}`;
  } catch (e) {
    return (e as Error).message;
  }
}

export function webhookDelivery(prisma: Db, opts: WebhookOptions | undefined, logger: Logger, deadLetters: Counter): Deliver {
  return (n) => {
    if (!opts) return;
    const body = JSON.stringify(n);
    void (async () => {
      const backoff = exponentialBackoff(200, 10_000);
      for (let tries = 1; tries <= opts.attempts; tries++) {
        const error = await attempt(opts, n.id, body);
        const last = tries === opts.attempts;
        await prisma.notification
          .update({
            where: { id: n.id },
            data: { attempts: tries, lastError: error ?? null, deliveredAt: error ? null : new Date(), deadLetteredAt: error && last ? new Date() : null },
          })
          .catch(() => undefined);
        if (!error) return;
        if (last) {
          deadLetters.inc();
          logger.warn({ correlationId: n.orderId, attempts: tries, err: error }, 'webhook delivery given up; notification dead-lettered');
          return;
        }
        logger.warn({ correlationId: n.orderId, attempt: tries, err: error }, 'webhook delivery failed');
        await sleep(backoff.next());
      }
    })();
  };
}
