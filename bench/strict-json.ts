// What refusing duplicate member names costs on the placement path: parseJsonBody (JSON.parse
// plus one pass over the text, lib/src/http/strict-json.ts) beside JSON.parse alone, on a
// placement body, in ns per body; and that as a share of the CPU a whole order costs (the e2e
// bench's CPU ms per order). Stated beside the machine's calibration (pgbench), measured first.
import { parseJsonBody, unholdableField } from '@shop/lib/http/strict-json';
import { pgbenchCeiling } from './ceiling.ts';
import { median, table } from './stats.ts';

const BODY = JSON.stringify({
  currency: 'EUR',
  paymentToken: 'tok_ok',
  items: [
    { sku: 'SKU-1', quantity: 2, unitPriceCents: 500 },
    { sku: 'SKU-2', quantity: 1 },
  ],
});

function nsPerBody(parse: (text: string) => unknown, rounds: number): number {
  let sink = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) sink += (parse(BODY) as { items: unknown[] }).items.length;
  const ns = Number(process.hrtime.bigint() - start) / rounds;
  if (sink === 0) throw new Error('unreachable');
  return ns;
}

export async function strictJsonBench(
  rounds = Number(process.env.BENCH_ROUNDS ?? 200_000),
  runs = Number(process.env.BENCH_RUNS ?? 5),
  ceilingSeconds = 10,
): Promise<void> {
  const tps = median(await pgbenchCeiling(ceilingSeconds, 1));
  const plain: number[] = [];
  const strict: number[] = [];
  for (let r = 0; r < runs; r++) {
    plain.push(nsPerBody(JSON.parse, rounds));
    strict.push(
      nsPerBody((t) => {
        const v = parseJsonBody(t);
        unholdableField(v, 'body');
        return v;
      }, rounds),
    );
  }
  const extra = median(strict) - median(plain);
  console.log(`calibration: pgbench ${tps.toFixed(0)} tx/s`);
  console.log(
    table(
      ['placement body (' + BODY.length + ' bytes)', 'ns per body (median of ' + runs + ')'],
      [
        ['JSON.parse', median(plain).toFixed(0)],
        ['parseJsonBody + control-character walk', median(strict).toFixed(0)],
        ['added per request', extra.toFixed(0)],
        ['added ÷ 3.7 CPU ms per order (e2e bench)', `${((extra / 3_700_000) * 100).toFixed(3)} %`],
      ],
    ),
  );
}
