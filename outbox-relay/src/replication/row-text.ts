// Outbox columns kept as the text Postgres sent, and turned into envelope fields cheaply.
import type { Pgoutput } from 'pg-logical-replication';

/**
 * pgoutput's parser turns each column into a JS value with pg's global type parsers, cached on
 * the relation message it emits before the first row of a table: giving the payload and
 * created_at columns an identity parser there keeps their text as is, for every later row of
 * that relation (the jsonb text goes into the envelope verbatim, the timestamp is reformatted).
 */
export function keepPayloadText(relation: Pgoutput.MessageRelation): void {
  for (const column of relation.columns) {
    if (column.name === 'payload' || column.name === 'created_at') column.parser = (raw: string) => raw;
  }
}

const UTC_TIMESTAMP = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?\+00$/;

/**
 * Postgres's timestamptz text as the envelope's ISO form (what Date#toISOString gives): done
 * with string operations for the usual UTC session, through Date otherwise.
 */
export function isoTimestamp(raw: string): string {
  const m = UTC_TIMESTAMP.exec(raw);
  if (!m) return new Date(raw.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00')).toISOString();
  return `${m[1]}T${m[2]}.${(m[3] ?? '').padEnd(3, '0').slice(0, 3)}Z`;
}
