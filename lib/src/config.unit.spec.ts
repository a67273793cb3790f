import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, EnvReader } from './config.ts';

const secretFile = (content: string) => {
  const file = join(mkdtempSync(join(tmpdir(), 'secret-')), 'value');
  writeFileSync(file, content);
  return file;
};

describe('EnvReader', () => {
  it('takes any variable from the file <NAME>_FILE names, as Docker and Kubernetes mount secrets', () => {
    const env = new EnvReader({ ADMIN_TOKEN_FILE: secretFile('s3cret-admin-token\n'), DB_POOL_SIZE_FILE: secretFile('12'), LOG_LEVEL: 'warn' });
    expect(env.optional('ADMIN_TOKEN')).toBe('s3cret-admin-token'); // one trailing newline dropped
    expect(env.int('DB_POOL_SIZE', 10)).toBe(12);
    expect(env.str('LOG_LEVEL', 'info')).toBe('warn');
    env.done();
  });

  it('refuses a variable set both ways, or a file it cannot read, and never quotes a value that came from a file', () => {
    const env = new EnvReader({
      ADMIN_TOKEN: 'a',
      ADMIN_TOKEN_FILE: secretFile('b'),
      AUTH_JWT_SECRET_FILE: '/nonexistent/secret',
      PORT_FILE: secretFile('not-a-port-but-a-secret-value'),
    });
    env.optional('ADMIN_TOKEN');
    env.optional('AUTH_JWT_SECRET');
    env.int('PORT', 3000);
    let problems: string[] = [];
    try {
      env.done();
    } catch (error) {
      problems = (error as ConfigError).problems;
    }
    expect(problems).toEqual([
      'set ADMIN_TOKEN or ADMIN_TOKEN_FILE, not both',
      'AUTH_JWT_SECRET_FILE="/nonexistent/secret" cannot be read (ENOENT)',
      'PORT (from PORT_FILE) is not an integer',
    ]);
    expect(problems.join('\n')).not.toContain('not-a-port-but-a-secret-value');
  });
});
