// Delivers notifications to NOTIFY_WEBHOOK_URL with exponential backoff, recording attempts.
// Delivery is after the commit and best effort across restarts: the stored row is the record.
import { exponentialBackoff, sleep } from '@shop/lib/backoff';
import type { Logger } from '@shop/lib/logger';
import type { PrismaClient as Db } from '../generated/prisma/client.ts';
import type { Deliver } from './orders.ts';

export function webhookDelivery(prisma: Db, url: string | undefined, logger: Logger, attempts: number): Deliver {
  return (n) => {
    if (!url) return;
    void (async () => {
      const backoff = exponentialBackoff(200, 10_000);
      for (let attempt = 1; attempt <= attempts; attempt++) {
        let error: string | undefined;
        try {
          const res = await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(n),
            signal: AbortSignal.timeout(5_000),
          });
          if (!res.ok) error = `HTTP ${res.status}`;
        } catch (e) {
          error = (e as Error).message;
        }
        await prisma.notification
          .update({ where: { id: n.id }, data: { attempts: attempt, lastError: error ?? null, deliveredAt: error ? null : new Date() } })
          .catch(() => undefined);
        if (!error) return;
        logger.warn({ correlationId: n.orderId, attempt, err: error }, 'webhook delivery failed');
        await sleep(backoff.next());
      }
    })();
  };
}
