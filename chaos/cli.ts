// npm run chaos -- <action> [target]            one fault against the stack of `npm run up`
// npm run chaos -- latency [process] <postgres|kafka> <ms> [duration] | partition [process] <target> <duration>
//                  | reset [process] <target> | heal      through the fault proxy (FAULT_PROXY=1 npm run up)
// npm run chaos -- soak --orders N --faults F --seed S [--rate R] [--sustained E]   (E: the e2e bench's sustained rate, printed beside R)
import { ACTIONS } from './faults.ts';
import { soak } from './soak.ts';

const [action, ...rest] = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = rest.indexOf(`--${name}`);
  return i >= 0 ? Number(rest[i + 1]) : fallback;
};

if (action === 'soak') {
  const opts = { orders: flag('orders', 1000), faults: flag('faults', 8), seed: flag('seed', 1), rate: flag('rate', 50) };
  // The soak's rate is set against what the stack sustains (BENCHMARKS.md); say which, if told.
  const sustained = flag('sustained', 0);
  const share = sustained > 0 ? ` (${((opts.rate / sustained) * 100).toFixed(0)} % of the ${sustained}/s the e2e bench sustained)` : '';
  console.log(`[soak] ${opts.orders} orders at ${opts.rate}/s${share}, ${opts.faults} faults, seed ${opts.seed}`);
  const started = Date.now();
  const report = await soak(opts);
  console.log('\n== soak report ==');
  console.log(`load: ${opts.orders} orders at ${opts.rate}/s${share}`);
  console.log(`faults injected (${report.faults.length} actions):`);
  for (const f of report.faults) console.log(`  ${f.at} ${f.action}${f.target ? ` ${f.target}` : ''}${f.detail ? ` (${f.detail})` : ''}`);
  for (const [k, v] of Object.entries(report.counts)) console.log(`  ${k.padEnd(18)} ${v}`);
  const o = report.outcome;
  console.log('outcome of the orders:');
  console.log(`  completed          ${o.completed}`);
  console.log(`  out of stock       ${o.outOfStock}`);
  console.log(`  declined (token)   ${o.declined}`);
  console.log(`  timed out          ${o.timedOut}`);
  console.log(`  cancelled by customer ${o.cancelledByCustomer}`);
  console.log(`  refused at the door ${o.refusedAtDoor} (503 after every retry; ${o.doorAnswers} 503 answers in all)`);
  console.log(`  completed of what could complete ${(o.completedOfPossible * 100).toFixed(1)} %`);
  console.log(`  drain time         ${(report.drainMs / 1000).toFixed(1)} s`);
  console.log(`  total time         ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(`violations: ${report.violations.length}`);
  for (const v of report.violations.slice(0, 50)) console.log(`  - ${v}`);
  process.exit(report.violations.length === 0 ? 0 : 1);
} else if (action && ACTIONS[action]) {
  await ACTIONS[action](...rest);
  process.exit(0);
} else {
  console.error(`usage: npm run chaos -- <${[...Object.keys(ACTIONS), 'soak'].join('|')}> [target]`);
  process.exit(2);
}
