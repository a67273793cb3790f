import { describe, expect, it } from 'vitest';
import { isoTimestamp } from './row-text.ts';

describe('isoTimestamp', () => {
  it('gives what Date#toISOString gives, for every fraction length and for other offsets', () => {
    const cases: [string, string][] = [
      ['2026-11-25 16:07:25.123456+00', '2026-11-25T16:07:25.123Z'],
      ['2026-11-25 16:07:25.1+00', '2026-11-25T16:07:25.100Z'],
      ['2026-11-25 16:07:25+00', '2026-11-25T16:07:25.000Z'],
      ['2026-11-25 17:07:25.5+01', '2026-11-25T16:07:25.500Z'],
      ['2026-11-25 10:37:25.25-05:30', '2026-11-25T16:07:25.250Z'],
    ];
    for (const [raw, iso] of cases) expect(isoTimestamp(raw), raw).toBe(iso);
  });
});
