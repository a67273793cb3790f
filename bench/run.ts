// npm run bench -- <name>
import { relayBench } from './relay.ts';

const benches: Record<string, () => Promise<void>> = { relay: relayBench };
const name = process.argv[2] ?? '';
if (!benches[name]) {
  console.error(`usage: npm run bench -- <${Object.keys(benches).join('|')}>`);
  process.exit(2);
}
await benches[name]!();
process.exit(0);
