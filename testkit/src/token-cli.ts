// npm run token -- <customerId> [--admin] [--ttl <seconds>]: prints a JWT the local stack accepts.
import { parseArgs } from 'node:util';
import { mintToken } from './tokens.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { admin: { type: 'boolean', default: false }, ttl: { type: 'string', default: '86400' } },
});
const sub = positionals[0];
const ttlSeconds = Number(values.ttl);
if (!sub || !Number.isInteger(ttlSeconds) || ttlSeconds <= 0) {
  console.error('usage: npm run token -- <customerId> [--admin] [--ttl <seconds>]');
  process.exit(2);
}
console.log(await mintToken({ sub, ttlSeconds, roles: values.admin ? ['admin'] : undefined }));
