// What the customers of a soak got, beside the invariants: how their orders ended, and how many
// the door refused for good (503 after every retry). "Could complete" leaves out what stock or
// payment refused and what never got in: of those, the share COMPLETED is the soak's measure of
// completing through outages (the rest timed out or were cancelled by their customer).
import pg from 'pg';
import { serviceDatabaseUrl } from '@shop/lib/db/databases';
import type { LoadRecord } from './load.ts';

export interface Outcome {
  completed: number;
  outOfStock: number;
  declined: number;
  timedOut: number;
  cancelledByCustomer: number;
  /** Answered 503 on every try until the client gave up. */
  refusedAtDoor: number;
  /** 503 answers in all (a refused try that a later retry got in counts here too). */
  doorAnswers: number;
  /** completed ÷ (completed + timed out + cancelled by customer). */
  completedOfPossible: number;
}

export async function outcome(records: LoadRecord[]): Promise<Outcome> {
  const db = new pg.Client({ connectionString: serviceDatabaseUrl('orders') });
  await db.connect();
  try {
    const ids = records.map((r) => r.orderId).filter((x): x is string => Boolean(x));
    const rows = await db.query<{ status: string; reason: string | null; n: number }>(
      'select status, cancel_reason as reason, count(*)::int as n from orders where id = any($1::uuid[]) group by 1, 2',
      [ids],
    );
    const count = (status: string, reason: string | null = null) => rows.rows.find((r) => r.status === status && r.reason === reason)?.n ?? 0;
    const completed = count('COMPLETED');
    const timedOut = count('CANCELLED', 'TIMEOUT');
    const cancelledByCustomer = count('CANCELLED', 'CUSTOMER_CANCELLED');
    return {
      completed,
      outOfStock: count('CANCELLED', 'OUT_OF_STOCK'),
      declined: count('CANCELLED', 'PAYMENT_DECLINED'),
      timedOut,
      cancelledByCustomer,
      refusedAtDoor: records.filter((r) => r.status === 503).length,
      doorAnswers: records.reduce((n, r) => n + r.refusals, 0),
      completedOfPossible: completed / Math.max(1, completed + timedOut + cancelledByCustomer),
    };
  } finally {
    await db.end();
  }
}
