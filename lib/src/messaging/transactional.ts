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
import type { Envelope, MessageHandler } from './consumer.ts';
import { markProcessed } from './inbox.ts';

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

export function transactional<E extends AnyEvent>(
  db: SqlDatabase,
  handler: TransactionalHandler<E>,
  policy: RacePolicy = { maxLostRaces: 100 },
): MessageHandler<E> {
  return async (event, meta, log) => {
    const work = await handler(event, log);
    if (!work) return;
    for (let race = 1; ; race++) {
      try {
        const outcome = await db.transaction(async (tx) => {
          if (!(await markProcessed(tx, event, meta))) return 'duplicate' as const;
          const done = (await work(tx, log)) ?? {};
          if (done.events?.length) {
            const meta = { aggregateId: event.aggregateId, correlationId: event.correlationId, causationId: event.id };
            await appendToOutbox(
              tx,
              done.events.map((e) => eventEnvelope(e, meta)),
            );
          }
          return done;
        });
        if (outcome === 'duplicate') {
          log.info('duplicate delivery skipped');
          return;
        }
        if (outcome.summary) log.info({ events: outcome.events?.map((e) => e.type) ?? [] }, outcome.summary);
        outcome.afterCommit?.();
        return;
      } catch (error) {
        if (!(error instanceof LostRaceError) || race >= policy.maxLostRaces) throw error;
      }
    }
  };
}
