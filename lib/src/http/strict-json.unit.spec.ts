import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.ts';
import { parseJsonBody, unholdableField } from './strict-json.ts';

const refusal = (text: string) => {
  try {
    parseJsonBody(text);
  } catch (error) {
    return error instanceof AppError ? `${error.status} ${error.code}` : String(error);
  }
  return 'accepted';
};

describe('parseJsonBody', () => {
  it('refuses a member name twice in one object, at any depth and however it is escaped', () => {
    for (const text of [
      '{"onHand": -1, "onHand": 5}',
      '{"a": {"b": 1, "b": 2}}',
      '[{"x": 1}, {"y": [{"z": 1, "z": 1}]}]',
      '{"delta": 0, "d\\u0065lta": 5}',
      '{"a\\"b": 1, "a\\u0022b": 2}',
      '{"k" : 1 ,\n "k"\t: 2}',
    ])
      expect({ text, refusal: refusal(text) }).toEqual({ text, refusal: '400 malformed_json' });
  });

  it('takes the same name in different objects, names that only look alike, and strings that look like members', () => {
    for (const text of [
      '{"a": {"a": {"a": 1}}}',
      '[{"a": 1}, {"a": 2}]',
      '{"a": 1, "A": 2, "a ": 3}',
      '{"s": "\\"a\\": 1", "a": "x:y"}',
      '{"e": "\\\\", "f": "\\\\\\""}',
    ])
      expect({ text, refusal: refusal(text) }).toEqual({ text, refusal: 'accepted' });
  });

  it('refuses prototype poisoning, an empty body and text that is not JSON', () => {
    for (const text of ['{"__proto__": {"x": 1}}', '{"constructor": {"prototype": {}}}', '', '  ', '{"a": ', 'NaN'])
      expect({ text, refusal: refusal(text) }).toEqual({ text, refusal: '400 malformed_json' });
    expect(refusal('{"constructor": 1, "prototype": 2}')).toBe('accepted');
  });

  it('agrees with JSON.parse on every JSON value without duplicate names', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = JSON.stringify(value);
        expect(parseJsonBody(text)).toEqual(JSON.parse(text));
      }),
      { numRuns: 500 },
    );
  });
});

describe('unholdableField', () => {
  it('names the first string that a text column cannot hold, member names included', () => {
    expect(unholdableField({ name: 'a\u0000b' }, 'body')).toBe('body/name');
    expect(unholdableField({ items: [{ sku: 'ok' }, { sku: 'x\u001f' }] }, 'body')).toBe('body/items/1/sku');
    expect(unholdableField({ ['k\u0000']: 1 }, 'body')).toBe('body/k?');
    expect(unholdableField({ s: 'lone \ud800' }, 'body')).toBe('body/s');
    expect(unholdableField({ s: 'c1 \u0085' }, 'body')).toBe('body/s');
    expect(unholdableField({ s: 'tab\tnewline\ncr\r, 😀, ü' }, 'body')).toBeUndefined();
    expect(unholdableField(undefined, 'body')).toBeUndefined();
  });

  it('walks a body nested 100,000 deep without exhausting the stack', () => {
    let deep: unknown = 'x\u0000';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(unholdableField(deep, 'body')).toMatch(/^body(\/0){100000}$/);
  });
});
