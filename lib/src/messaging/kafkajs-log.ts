// Which of kafkajs' own log lines a reader of our logs needs to see. kafkajs logs at WARN or
// ERROR, often with a stack, many conditions it then retries by itself: a group coordinator
// still loading on a fresh broker, the first metadata, a topic that another process created a
// moment earlier, a connection a restart closed. Those are normal on every start and stop, so
// they go to debug. When retrying does not help, the operation fails to its caller, and that
// failure is logged by our code (the consumer's crash listener, the relay's publish error, a
// route's 503), so a real problem still shows once, by what it broke.
import { createRequire } from 'node:module';
import { logLevel } from 'kafkajs';

const require = createRequire(import.meta.url);
// kafkajs' table of protocol errors (not exported by its package index): which codes it retries.
const { errorCodes } = require('kafkajs/src/protocol/error.js') as { errorCodes: { message: string; retriable: boolean }[] };
const RETRIED_BY_KAFKAJS = new Set(errorCodes.filter((e) => e.retriable).map((e) => e.message));

/**
 * Our producers are idempotent with a bounded retry count on purpose: a send that exhausts it
 * fails back to the relay, which sends the batch again, and consumers drop duplicates by event id.
 */
const EXPECTED = new Set(['Limiting retries for the idempotent producer may invalidate EoS guarantees', 'The group is rebalancing, re-joining']);
// Reported by our consumer's crash listener (with the group, once per crash) instead.
const REPORTED_BY_US = /^(Crash: |Restarting the consumer in )/;
// A failed connection rejects the requests on it; their callers retry or report. A response
// that arrives for a request kafkajs no longer waits for (timed out, or rejected with its
// connection) finds no match: its caller already had that failure.
const CONNECTION = /^(Connection error: |Connection timeout$|Failed to connect to broker, reconnecting$|Closed connection$|Response without match$)/;

const SEND_RETRY = 'Failed to send messages: ';

export type Level = 'warn' | 'debug';

/** The level for one kafkajs line (kafkajs levels: ERROR 1, WARN 2, INFO 4, DEBUG 5). */
export function kafkajsLineLevel(level: number, message: string, fields: Record<string, unknown>): Level {
  if (level > (logLevel.WARN as number)) return 'debug';
  if (EXPECTED.has(message) || REPORTED_BY_US.test(message) || CONNECTION.test(message)) return 'debug';
  // The producer's own retry of a send (a partition's leader moving on a fresh broker): when the
  // retries run out, the send fails to the relay, which reports it.
  if (message.startsWith(SEND_RETRY) && RETRIED_BY_KAFKAJS.has(message.slice(SEND_RETRY.length))) return 'debug';
  if (message.startsWith('Response ')) {
    const error = typeof fields.error === 'string' ? fields.error : '';
    // CreateTopics answers "Topic creation errors" for a topic that already exists; ensureTopics treats that as done.
    if (RETRIED_BY_KAFKAJS.has(error) || error === 'Topic creation errors') return 'debug';
  }
  return 'warn';
}
