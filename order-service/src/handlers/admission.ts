// Back-pressure at the door: POST /orders answers 503 `overloaded` (with Retry-After) while the
// workflow is too far behind to finish a new order in time (domain/admission.ts decides). The
// backlog is read once per `refreshMs` from the orders table, never per request, and exported
// as metrics; if it cannot be read (the database is down), the last reading stands and the
// insert itself answers 503.
import type { FastifyReply } from 'fastify';
import type { Registry } from 'prom-client';
import { AppError } from '@shop/lib/errors';
import type { SqlDatabase } from '@shop/lib/db/sql';
import { counter, prom } from '@shop/lib/http/metrics';
import { repeatEvery } from '@shop/lib/repeat';
import { admit, REFUSAL_REASONS, type AdmissionLimits, type Backlog } from '../domain/admission.ts';
import { readBacklog } from '../db/orders.ts';

export interface AdmissionOptions extends AdmissionLimits {
  refreshMs: number;
  /** Seconds a refused client is told to wait (Retry-After). */
  retryAfterSeconds: number;
}

export interface Door {
  /** Throws 503 `overloaded` (and sets Retry-After) when new orders are refused. */
  check(reply: FastifyReply): void;
  stop(): void;
}

export function openDoor(db: SqlDatabase, registry: Registry, opts: AdmissionOptions): Door {
  let backlog: Backlog = { open: 0, late: 0, oldestMs: 0 };
  const open = new prom.Gauge({ name: 'orders_open', help: 'Orders not yet completed or cancelled', registers: [registry] });
  const oldest = new prom.Gauge({ name: 'order_oldest_open_age_seconds', help: 'Age of the oldest open order', registers: [registry] });
  const late = new prom.Gauge({ name: 'orders_late', help: `Open orders placed more than ORDER_ADMISSION_LATE_MS ago`, registers: [registry] });
  const refused = counter(registry, { name: 'orders_refused_total', help: 'POST /orders refused at the door, by reason', labelNames: ['reason'] });
  for (const reason of REFUSAL_REASONS) refused.inc({ reason }, 0);
  const stop = repeatEvery(opts.refreshMs, async () => {
    backlog = await readBacklog(db, opts.lateMs);
    open.set(backlog.open);
    oldest.set(backlog.oldestMs / 1000);
    late.set(backlog.late);
  });
  return {
    check(reply) {
      const decision = admit(backlog, opts);
      if (decision.admit) return;
      refused.inc({ reason: decision.reason });
      reply.header('retry-after', String(opts.retryAfterSeconds));
      throw new AppError('overloaded', `not taking new orders for now: ${decision.why}`, {
        status: 503,
        details: { reason: decision.reason, retryAfterSeconds: opts.retryAfterSeconds },
      });
    },
    stop,
  };
}
