// The transactional batch runner: it owns the transaction, the inbox mark, the outbox append
// and the retry on a lost race, so a consumer only says what an event means. A fetched batch is
// one load of every aggregate it touches (`batchDecider`), the pure rules applied event by event
// over that state in memory, and set-based writes; a batch of one is the same code.
import { AppError } from '../errors.ts';
import type { SqlDatabase } from '../db/sql.ts';
import type { SqlTransaction } from '../db/prisma.ts';
import { eventEnvelope, type AnyEvent } from '../events/catalog.ts';
import type { Logger } from '../logger.ts';
import { appendToOutbox } from '../outbox/append.ts';
import { inSpan, ROOT_CONTEXT, SpanKind } from '../tracing/tracing.ts';
import type { BatchItem, Envelope, MessageHandler } from './consumer.ts';
import { markProcessedMany } from './inbox.ts';
import { causedTrace, markDuplicate } from './tracing.ts';

const DB_ATTRIBUTES = { 'db.system.name': 'postgresql' };

/** What an event did: events to append to the outbox (caused by the consumed one), a line for the log. */
export interface Outcome {
  events?: readonly AnyEvent[];
  /** Logged at info with the event's context. */
  summary?: string;
}

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
  /** Called on each lost race (a metric). */
  onLostRace?: () => void;
}

const DEFAULT_RACES: RacePolicy = { maxLostRaces: 100 };

type Duplicate = 'duplicate';

/**
 * The items of a batch in one transaction: the inbox mark drops what was applied before (or
 * twice in the batch), `body` handles the fresh ones and returns their outcomes in order, and
 * their events go to the outbox in one insert. Lost races start over from the inbox mark.
 */
async function inTransaction<I extends BatchItem<AnyEvent>>(
  db: SqlDatabase,
  items: I[],
  body: (tx: SqlTransaction, fresh: I[]) => Promise<Outcome[]>,
  policy: RacePolicy,
): Promise<(Outcome | Duplicate)[]> {
  const parent = items[0].meta.trace?.transaction ?? ROOT_CONTEXT;
  for (let race = 1; ; race++) {
    try {
      const result = await inSpan('db transaction', parent, { kind: SpanKind.CLIENT, attributes: DB_ATTRIBUTES }, (ctx) =>
        db.transaction(async (tx) => {
          const firstTime = await markProcessedMany(tx, items);
          const fresh = items.filter((i) => firstTime.delete(i.event.id));
          const outcomes = await body(tx, fresh);
          const envelopes = fresh.flatMap(({ event, meta }, n) =>
            (outcomes[n].events ?? []).map((e) =>
              eventEnvelope(e, { aggregateId: event.aggregateId, correlationId: event.correlationId, causationId: event.id, trace: causedTrace(meta) }),
            ),
          );
          if (envelopes.length > 0) {
            await inSpan('outbox append', ctx, { attributes: { ...DB_ATTRIBUTES, 'outbox.events': envelopes.length } }, () => appendToOutbox(tx, envelopes));
          }
          const byId = new Map(fresh.map((f, n) => [f, outcomes[n]]));
          return items.map((i) => byId.get(i) ?? 'duplicate');
        }),
      );
      items.forEach((item, n) => result[n] === 'duplicate' && markDuplicate(item.meta));
      return result;
    } catch (error) {
      if (!(error instanceof LostRaceError) || race >= policy.maxLostRaces) throw error;
      policy.onLostRace?.();
    }
  }
}

function report(log: Logger, outcome: Outcome | Duplicate) {
  if (outcome === 'duplicate') return log.info('duplicate delivery skipped');
  if (outcome.summary) log.info({ events: outcome.events?.map((e) => e.type) ?? [] }, outcome.summary);
}

/** What a decider's step did (one event or none, a line for the log), as the runner's Outcome. */
export const outcomeOf = (step: { event?: AnyEvent; summary: string }): Outcome => ({ events: step.event ? [step.event] : [], summary: step.summary });

/**
 * A consumer that handles a batch as a whole (after emmett's decide/evolve, for many aggregates
 * at once): `load` reads every aggregate the events touch in one go, locking rows in one
 * canonical order (so two batches never deadlock: one waits for the other); `apply` runs the
 * pure rules for one event over that state and records its changes there, so a later event of
 * the same order or SKU sees them; `store` writes what changed, set-based.
 */
export interface BatchDecider<E extends AnyEvent, S, P = undefined> {
  /** False for events this consumer does nothing with (a batch of only those opens no transaction). */
  handles(event: Envelope<E>): boolean;
  /**
   * Work outside (before) the transaction, for the whole batch at once (a payment provider's
   * calls); what it returns goes to `load`. Redeliveries reach it too: it must be idempotent.
   */
  prepare?(items: BatchItem<E>[]): Promise<P>;
  /**
   * With `prepare`: the events a batch holds at most one of per order, so a later one is not
   * prepared before the earlier one is applied. Work inside the transaction needs no such split:
   * it runs in partition order and sees what the earlier events changed.
   */
  preparesOutside?(event: Envelope<E>): boolean;
  load(tx: SqlTransaction, events: Envelope<E>[], prepared: P): Promise<S>;
  /** No I/O: the outcome of one event against the state so far. */
  apply(state: S, event: Envelope<E>, log: Logger): Outcome;
  store(tx: SqlTransaction, state: S): Promise<void>;
  /** After the commit, with the state as stored (announce it: fence a cache, push to clients). Not after a rollback. */
  committed?(state: S): Promise<void> | void;
}

export function batchDecider<E extends AnyEvent, S, P = undefined>(
  db: SqlDatabase,
  decider: BatchDecider<E, S, P>,
  races: Partial<RacePolicy> = {},
): MessageHandler<E> {
  const policy = { ...DEFAULT_RACES, ...races };
  const run = async (items: BatchItem<E>[]) => {
    const todo = items.filter((i) => decider.handles(i.event));
    if (todo.length === 0) return;
    const prepared = (await decider.prepare?.(todo)) as P;
    let stored: S | undefined;
    const outcomes = await inTransaction(
      db,
      todo,
      async (tx, fresh) => {
        if (fresh.length === 0) return [];
        const state = await decider.load(
          tx,
          fresh.map((f) => f.event),
          prepared,
        );
        const done = fresh.map((f) => decider.apply(state, f.event, f.log));
        await decider.store(tx, state);
        stored = state; // the last attempt's: a lost race decides again
        return done;
      },
      policy,
    );
    if (stored !== undefined) await decider.committed?.(stored);
    todo.forEach((t, n) => report(t.log, outcomes[n]));
  };
  const one: MessageHandler<E> = (event, meta, log) => run([{ event, meta, log }]);
  one.batch = run;
  const prepares = decider.preparesOutside?.bind(decider);
  if (prepares) one.batchKey = (event) => (prepares(event) ? event.aggregateId : undefined);
  return one;
}
