// Request bodies as I-JSON (RFC 7493): no duplicate member names, no text that a column cannot hold.
// JSON.parse keeps the last of two equal names; a gateway, WAF or audit log in front of us may
// keep the first, so one body would mean two things (a request-smuggling vector). Refused instead.
import { AppError } from '../errors.ts';

const malformed = (message: string) => new AppError('malformed_json', message, { status: 400 });

interface ObjectFrame {
  names: Set<string>;
  /** The object is the value of a `constructor` member: a `prototype` member in it is refused. */
  underConstructor: boolean;
}

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * One pass over text that JSON.parse already accepted (so it is well formed): each object's member
 * names, decoded, must differ. Also refuses what Fastify's parser refuses, prototype poisoning:
 * a `__proto__` member, or a `constructor` object with a `prototype` member.
 */
function checkMemberNames(text: string): void {
  const frames: (ObjectFrame | undefined)[] = []; // undefined: an array
  let lastName: string | undefined; // the member whose value comes next
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      let end = i + 1;
      let escaped = false;
      for (let d = text.charCodeAt(end); d !== 0x22; d = text.charCodeAt(end)) {
        if (d === 0x5c) {
          escaped = true;
          end += 2;
        } else end++;
      }
      let next = end + 1;
      while (isSpace(text.charCodeAt(next))) next++;
      if (text.charCodeAt(next) !== 0x3a) {
        i = end; // a string value
        lastName = undefined;
        continue;
      }
      const name = escaped ? (JSON.parse(text.slice(i, end + 1)) as string) : text.slice(i + 1, end);
      const frame = frames[frames.length - 1]!;
      if (frame.names.has(name)) throw malformed(`the member name ${JSON.stringify(name)} appears twice in one object`);
      if (name === '__proto__' || (name === 'prototype' && frame.underConstructor)) throw malformed('the body could poison an object prototype');
      frame.names.add(name);
      lastName = name;
      i = next;
    } else if (c === 0x7b) {
      frames.push({ names: new Set(), underConstructor: lastName === 'constructor' });
      lastName = undefined;
    } else if (c === 0x5b) {
      frames.push(undefined);
      lastName = undefined;
    } else if (c === 0x7d || c === 0x5d) {
      frames.pop();
    } else if (c === 0x2c) {
      lastName = undefined;
    }
  }
}

/** Parses a JSON request body, refusing duplicate member names and prototype poisoning (400 malformed_json). */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') throw malformed('the body is empty; send a JSON value');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw malformed(`the body is not JSON: ${(error as Error).message}`);
  }
  // Only objects can repeat a name: a body without one needs no second pass.
  if (text.includes(':')) checkMemberNames(text);
  return value;
}

// Control characters (tab, newline and carriage return aside) and unpaired surrogates: Postgres
// refuses NUL in text and jsonb and cannot encode a lone surrogate; the rest no field of ours means.
const UNHOLDABLE = /(?![\t\n\r])[\p{Cc}\p{Cs}]/u;
export const UNHOLDABLE_MESSAGE = 'must not contain control characters (other than tab, newline and carriage return) or unpaired surrogates';

/**
 * The first string in a parsed value (a member name or a value, at any depth) that a text column
 * cannot hold, as a field path like `body/items/0/sku`. Iterative: a deeply nested body cannot
 * exhaust the stack.
 */
export function unholdableField(value: unknown, root: string): string | undefined {
  const stack: [unknown, string][] = [[value, root]];
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      if (UNHOLDABLE.test(v)) return path;
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) stack.push([v[i], `${path}/${i}`]);
    } else if (typeof v === 'object' && v !== null) {
      for (const [k, member] of Object.entries(v)) {
        if (UNHOLDABLE.test(k)) return `${path}/${k.replace(new RegExp(UNHOLDABLE.source, 'gu'), '?')}`;
        stack.push([member, `${path}/${k}`]);
      }
    }
  }
  return undefined;
}
