// What a hostile client tries first, against every write route: duplicate member names at any
// depth, NUL and other control characters in any string, numbers beyond 2^53 and 1e308, deep
// nesting, 10 KB strings, wrong types, invalid UTF-8 in headers. Each is a 4xx problem+json
// without a stack trace, and none writes a row, an outbox event, a Kafka message or a Redis key.
import { request as httpRequest } from 'node:http';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { startProcess, type RunningProcess } from '../support/processes.ts';
import { placeOrder, setStock, startStack, uniqueSku, type Stack } from '../support/stack.ts';
import { WRONG, withField, writeRoutes, type Route } from '../support/write-routes.ts';
import { writeProbe } from '../support/writes.ts';

const probe = writeProbe();
let stack: Stack;
let opsConsole: RunningProcess;
let sku: string;
beforeAll(async () => {
  stack = await startStack({ env: { ORDER_DEADLINE_MS: '600000' } });
  opsConsole = await startProcess('ops-console', { env: { RELAY_URL: stack.relay.url } });
  sku = uniqueSku('HOSTILE');
  await setStock(stack, sku, 5);
  await placeOrder(stack, { items: [{ sku, quantity: 1 }] }); // topics and groups exist before the first snapshot
});
const ROUTES = writeRoutes({ sku: () => sku, url: (service) => (service === 'ops-console' ? opsConsole.url : stack.url(service)) });

const HOLE = '"\u0001hole\u0001"'; // where a raw JSON text goes into a serialised body
const rawWith = (route: Route, path: string, raw: string) => JSON.stringify(withField(route.valid(), path, HOLE.slice(1, -1))).replace(HOLE, raw);

/** The paths of the objects in a body ('' is the body itself), where a duplicate name can go. */
function objectPaths(value: unknown, path = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => objectPaths(v, `${path}/${i}`));
  if (typeof value !== 'object' || value === null) return [];
  return [path, ...Object.entries(value).flatMap(([k, v]) => objectPaths(v, `${path}/${k}`))];
}

/** The body's text with `"name": raw` as the first member of the object at `path` (a name it has already). */
function withDuplicate(route: Route, path: string, name: string, raw: string): string {
  const marker = '\u0001dup\u0001';
  const body = route.valid();
  const target =
    path === ''
      ? body
      : (path
          .slice(1)
          .split('/')
          .reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], body) as object);
  const marked = { [marker]: 0, ...target };
  const text = JSON.stringify(path === '' ? marked : withField(body, path.slice(1), marked));
  return text.replace(`${JSON.stringify(marker)}:0`, `${JSON.stringify(name)}:${raw}`);
}

const CONTROL = fc.constantFrom(...[...Array(32).keys(), 0x7f, 0x85, 0x9f].filter((c) => c !== 9 && c !== 10 && c !== 13).map((c) => String.fromCharCode(c)));
const ANY_JSON = fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v) ?? 'null');
const HUGE_NUMBERS = fc.constantFrom('9007199254740993', '-9007199254740993', '1e308', '1e309', '-1e309', '123456789012345678901234567890', '2.5e20');

interface Hostile {
  route: Route;
  what: string;
  body: string;
  /** The problem type, when only one is right. */
  type?: string;
  /** The field the problem must name. */
  field?: string;
}

function hostile(route: Route): fc.Arbitrary<Hostile> {
  const fields = route.fields;
  const strings = fields.filter(([, kind]) => kind === 'string').map(([p]) => p);
  const integers = fields.filter(([, kind]) => kind === 'integer').map(([p]) => p);
  const objects = objectPaths(route.valid()).map((path) => {
    const target =
      path === ''
        ? route.valid()
        : path
            .slice(1)
            .split('/')
            .reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], route.valid());
    return { path, names: Object.keys(target as object) };
  });
  return fc.oneof(
    fc
      .constantFrom(...objects)
      .chain(({ path, names }) => fc.tuple(fc.constant(path), fc.constantFrom(...names), ANY_JSON))
      .map(([path, name, raw]) => ({ route, what: `duplicate ${path}/${name}`, body: withDuplicate(route, path, name, raw), type: 'malformed_json' })),
    fc.tuple(fc.constantFrom(...strings), fc.string({ maxLength: 8 }), CONTROL, fc.string({ maxLength: 8 })).map(([path, a, c, b]) => ({
      route,
      what: `control U+${c.charCodeAt(0).toString(16)} in ${path}`,
      body: JSON.stringify(withField(route.valid(), path, a + c + b)),
      field: `body/${path}`,
    })),
    fc
      .tuple(CONTROL, fc.string({ maxLength: 8 }))
      .map(([c, name]) => ({ route, what: 'control character in a member name', body: JSON.stringify({ ...route.valid(), [`${name}${c}`]: 1 }) })),
    fc
      .tuple(fc.constantFrom(...integers), HUGE_NUMBERS)
      .map(([path, raw]) => ({ route, what: `${raw} in ${path}`, body: rawWith(route, path, raw), field: `body/${path}` })),
    fc
      .tuple(fc.constantFrom(...fields.map(([p]) => p)), fc.integer({ min: 100, max: 20_000 }))
      .map(([path, depth]) => ({ route, what: `nesting ${depth} deep in ${path}`, body: rawWith(route, path, '['.repeat(depth) + ']'.repeat(depth)) })),
    fc
      .constantFrom(...strings)
      .map((path) => ({ route, what: `10 KB in ${path}`, body: JSON.stringify(withField(route.valid(), path, 'x'.repeat(10_240))), field: `body/${path}` })),
    fc
      .constantFrom(...fields)
      .chain(([path, kind]) => fc.tuple(fc.constant(path), WRONG[kind]))
      .map(([path, value]) => ({ route, what: `wrong type in ${path}`, body: JSON.stringify(withField(route.valid(), path, value)), field: `body/${path}` })),
  );
}

/** A raw request (node:http lets a header carry bytes that are not UTF-8; fetch does not). */
function send(url: string, method: string, headers: Record<string, string>, body: string): Promise<{ status: number; type: string; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function expectClientProblem(what: string, res: { status: number; type: string; text: string }, expected: { type?: string; field?: string } = {}) {
  expect({ what, status: res.status >= 400 && res.status < 500 ? '4xx' : res.status, type: res.type }).toEqual({
    what,
    status: '4xx',
    type: expect.stringMatching(/^application\/problem\+json/),
  });
  expect(res.text).not.toMatch(/\bstack\b|\n\s+at |\.ts:\d+/);
  const problem = JSON.parse(res.text) as { type: string; status: number; errors?: { field: string }[] };
  expect(problem.status).toBe(res.status);
  if (expected.type) expect({ what, type: problem.type }).toEqual({ what, type: `https://errors.shop.local/${expected.type}` });
  if (expected.field) expect({ what, fields: problem.errors?.map((e) => e.field) }).toEqual({ what, fields: expect.arrayContaining([expected.field]) });
}

describe('hostile request bodies', { timeout: 600_000 }, () => {
  it('answers each with a 4xx problem+json naming the field, and writes nothing anywhere', async () => {
    const before = await probe.settled();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROUTES).chain((route) => hostile(route)),
        async (h) => {
          const res = await send(h.route.url(), h.route.method, h.route.headers(), h.body);
          expectClientProblem(h.what, res, { type: h.type, field: h.field });
        },
      ),
      { numRuns: 300 },
    );
    await probe.expectUnchanged(before);
  });

  it('refuses {"onHand": -1, "onHand": 5} and a second, valid "items" as malformed JSON', async () => {
    const before = await probe.settled();
    const [orders, products, adjustments] = ROUTES;
    const cases: [Route, string][] = [
      [products, '{"name": "w", "onHand": -1, "onHand": 5}'],
      [adjustments, '{"delta": 0, "delta": 5, "reason": "x"}'],
      [
        orders,
        `{"customerId": "c1", "currency": "EUR", "paymentToken": "tok_ok", "items": [], "items": [{"sku": "${sku}", "quantity": 1, "unitPriceCents": 1}]}`,
      ],
      [
        orders,
        `{"customerId": "c1", "currency": "EUR", "paymentToken": "tok_ok", "items": [{"sku": "${sku}", "quantity": 1, "quant\\u0069ty": 2, "unitPriceCents": 1}]}`,
      ],
    ];
    for (const [route, body] of cases) expectClientProblem(body, await send(route.url(), route.method, route.headers(), body), { type: 'malformed_json' });
    await probe.expectUnchanged(before);
  });

  it('refuses invalid UTF-8 and control bytes in the headers a write route reads', async () => {
    const before = await probe.settled();
    const [orders, products, adjustments] = ROUTES;
    const latin1 = (bytes: number[]) => Buffer.from(bytes).toString('latin1'); // sent as these bytes
    const cases: [Route, Record<string, string>][] = [
      [orders, { 'idempotency-key': latin1([0x6b, 0xff, 0xfe, 0xc3]) }],
      [adjustments, { 'idempotency-key': latin1([0xc0, 0xaf]) }],
      [products, { 'if-match': latin1([0x22, 0xed, 0xa0, 0x80, 0x22]) }],
      [products, { authorization: `Bearer ${latin1([0xff, 0x41])}` }],
    ];
    for (const [route, headers] of cases) {
      const res = await send(route.url(), route.method, { ...route.headers(), ...headers }, JSON.stringify(route.valid()));
      expectClientProblem(`${route.name} ${JSON.stringify(headers)}`, res);
    }
    await probe.expectUnchanged(before);
  });
});
