// The audit trail of admin actions (table admin_audit in each service's database). The row is
// written inside the transaction of the change it records; the log line after the commit.
import type { Logger } from '../logger.ts';
import type { Tx } from './prisma.ts';

export interface AdminAction {
  /** The admin token ("admin-token") or the `sub` of an admin JWT. */
  actor: string;
  /** e.g. "stock.set", "stock.adjust", "dlq.replay". */
  action: string;
  /** What it acted on: a SKU, a dead letter's topic/partition/offset. */
  subject: string;
  before: unknown;
  after: unknown;
  requestId: string;
}

export async function recordAdminAction(tx: Tx, a: AdminAction): Promise<void> {
  await tx.$queryRawUnsafe(
    'INSERT INTO admin_audit (actor, action, subject, before, after, request_id) VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6)',
    a.actor,
    a.action,
    a.subject,
    JSON.stringify(a.before ?? null),
    JSON.stringify(a.after ?? null),
    a.requestId,
  );
}

export const logAdminAction = (logger: Pick<Logger, 'info'>, a: AdminAction) => logger.info({ audit: a }, 'admin action');
