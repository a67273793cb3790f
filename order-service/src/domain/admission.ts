// Whether a new order may come in, pure. The signal is how many open orders are already late
// (placed longer ago than `lateMs`, far beyond a healthy placement → terminal p99 of under a
// second): when the workflow stalls (an outage, a backlog) they pile up within seconds, long
// before the accepted orders reach their deadline, and a single stuck order does not close the
// door. The count of open orders is a second, coarse bound: it grows with the rate even when
// healthy, so it only caps the backlog.

export interface Backlog {
  /** Orders not yet COMPLETED or CANCELLED. */
  open: number;
  /** Open orders placed more than `lateMs` ago. */
  late: number;
  /** Age of the oldest open order, ms (0 when none is open). */
  oldestMs: number;
}

export interface AdmissionLimits {
  /** An open order older than this is late (ORDER_ADMISSION_LATE_MS). */
  lateMs: number;
  /** Refuse while more than this many orders are late; 0 = never for this reason (ORDER_ADMISSION_MAX_LATE). */
  maxLate: number;
  /** Refuse while more than this many orders are open; 0 = no bound (ORDER_ADMISSION_MAX_OPEN). */
  maxOpen: number;
}

export type RefusalReason = 'late_orders' | 'open_orders';
export const REFUSAL_REASONS: readonly RefusalReason[] = ['late_orders', 'open_orders'];

export type Admission = { admit: true } | { admit: false; reason: RefusalReason; why: string };

export function admit(backlog: Backlog, limits: AdmissionLimits): Admission {
  if (limits.maxLate > 0 && backlog.late > limits.maxLate) {
    return { admit: false, reason: 'late_orders', why: `${backlog.late} open orders are older than ${limits.lateMs} ms (limit ${limits.maxLate})` };
  }
  if (limits.maxOpen > 0 && backlog.open > limits.maxOpen) {
    return { admit: false, reason: 'open_orders', why: `${backlog.open} orders are open (limit ${limits.maxOpen})` };
  }
  return { admit: true };
}
