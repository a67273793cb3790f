// The transactional handler mode: the runner owns the transaction, the inbox mark, the outbox
// append and the retry on a lost race, so a handler only says what an event means. For each
// consumed event the handler returns the work to do in the inbox transaction (or nothing, when
// the event is not for this consumer: no transaction at all). Work that must happen outside
// that transaction (a payment provider call, its own attempt record) happens in the handler
// before it returns the work.
import { AppError } from '../errors.ts';
import type { SqlDatabase } from '../db/sql.ts';
import type { SqlTransaction } from '../db/prisma.ts';
import { eventEnvelope, type AnyEvent } from '../events/catalog.ts';
import type { Logger } from '../logger.ts';
import { appendToOutbox } from '../outbox/append.ts';
import type { BatchItem, Envelope, MessageHandler } from './consumer.ts';
import { markProcessedMany, type MessageMeta } from './inbox.ts';

/** What the work did: events to append to the outbox (caused by the consumed one), a line for the log, what to do once committed. */
export interface Outcome {
  events?: readonly AnyEvent[];
  /** Logged at info with the event's context. */
  summary?: string;
  /** Runs after COMMIT, never after a rollback (e.g. hand a notification to its delivery). */
  afterCommit?: () => void;
}

export type Work = (tx: SqlTransaction, log: Logger) => Promise<Outcome | undefined>;

/** The work an event means, or undefined when this consumer does nothing with it. */
export type TransactionalHandler<E extends AnyEvent> = (event: Envelope<E>, log: Logger) => Promise<Work | undefined> | Work | undefined;

/**
 * Another writer changed what the work read between its read and its write (an optimistic
 * version check failed): the whole transaction is tried again from the read, at once. Not a
 * failure, so it does not count against the consumer's retry policy for transient errors.
 */
export class LostRaceError extends AppError {
  constructor(what: string) {
    super('lost_race', `${what} changed concurrently`, { canRetry: true });
  }
}

export interface RacePolicy {
  /** How many lost races in a row before the error goes to the consumer's own retry policy. */
  maxLostRaces: number;
}

/** How many handlers of a batch prepare at once (their work outside the transaction: provider calls). */
const PREPARE_CONCURRENCY = 16;

export function transactional<E extends AnyEvent>(
  db: SqlDatabase,
  handler: TransactionalHandler<E>,
  policy: RacePolicy = { maxLostRaces: 100 },
): MessageHandler<E> {
  /** The works of `items` in one transaction, lost races retried; each item's outcome, or 'duplicate'. */
  const commit = async (items: { event: Envelope<E>; meta: MessageMeta; log: Logger; work: Work }[]) => {
    for (let race = 1; ; race++) {
      try {
        return await db.transaction(async (tx) => {
          const fresh = await markProcessedMany(tx, items);
          const outcomes: (Outcome | 'duplicate')[] = [];
          const envelopes = [];
          for (const { event, log, work } of items) {
            // Not new, or a second copy of the same event in this batch: already applied.
            if (!fresh.delete(event.id)) {
              outcomes.push('duplicate');
              continue;
            }
            const done = (await work(tx, log)) ?? {};
            const meta = { aggregateId: event.aggregateId, correlationId: event.correlationId, causationId: event.id };
            for (const e of done.events ?? []) envelopes.push(eventEnvelope(e, meta));
            outcomes.push(done);
          }
          await appendToOutbox(tx, envelopes);
          return outcomes;
        });
      } catch (error) {
        if (!(error instanceof LostRaceError) || race >= policy.maxLostRaces) throw error;
      }
    }
  };
  const report = (log: Logger, outcome: Outcome | 'duplicate') => {
    if (outcome === 'duplicate') return log.info('duplicate delivery skipped');
    if (outcome.summary) log.info({ events: outcome.events?.map((e) => e.type) ?? [] }, outcome.summary);
    outcome.afterCommit?.();
  };

  const one: MessageHandler<E> = async (event, meta, log) => {
    const work = await handler(event, log);
    if (!work) return;
    const [outcome] = await commit([{ event, meta, log, work }]);
    report(log, outcome);
  };
  // A fetched batch (at most one message per order: the consumer splits it so): every handler
  // prepares (bounded concurrency), then one transaction holds the inbox rows, every work in
  // partition order and one multi-row outbox insert.
  one.batch = async (items: BatchItem<E>[]) => {
    const prepared: { event: Envelope<E>; meta: MessageMeta; log: Logger; work: Work | undefined }[] = [];
    for (let i = 0; i < items.length; i += PREPARE_CONCURRENCY) {
      const slice = items.slice(i, i + PREPARE_CONCURRENCY);
      prepared.push(...(await Promise.all(slice.map(async (it) => ({ ...it, work: await handler(it.event, it.log) })))));
    }
    const todo = prepared.filter((p): p is typeof p & { work: Work } => p.work !== undefined);
    if (todo.length === 0) return;
    const outcomes = await commit(todo);
    todo.forEach((t, i) => report(t.log, outcomes[i]));
  };
  return one;
}
