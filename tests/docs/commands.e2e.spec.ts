// The documents cannot drift from the code: every shell block they mark `runnable` (```sh runnable)
// runs here, in order, against the stack as a reader's shell would run it (bash, -e, from the
// repository root), and must succeed. The README's "Try it" must end with the order COMPLETED.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@shop/lib/db/databases';
import { stackDown } from '@shop/testkit/processes';

const exec = promisify(execFile);
afterAll(() => stackDown());

const DOCUMENTS = [
  'README.md',
  ...readdirSync(join(REPO_ROOT, 'docs'))
    .sort()
    .map((f) => `docs/${f}`),
].filter((f) => f.endsWith('.md'));
const RUNNABLE = /^```sh runnable\n([\s\S]*?)^```$/gm;

const blocks = DOCUMENTS.flatMap((file) => [...readFileSync(join(REPO_ROOT, file), 'utf8').matchAll(RUNNABLE)].map((m, i) => ({ file, i, script: m[1] })));

describe('documented commands', { timeout: 300_000 }, () => {
  it('finds runnable blocks, the README’s "Try it" among them', () => {
    expect(blocks.filter((b) => b.file === 'README.md').length).toBeGreaterThan(0);
  });

  for (const block of blocks) {
    it(`${block.file} block ${block.i + 1} runs`, async () => {
      const { stdout } = await exec('bash', ['-euo', 'pipefail', '-c', block.script], { cwd: REPO_ROOT, timeout: 240_000, env: process.env });
      if (block.file === 'README.md' && block.script.includes('waitFor=terminal')) {
        expect(stdout).toMatch(/"status":"COMPLETED"/);
        expect(stdout).toMatch(/"totalCents":1000/);
        expect(stdout).toMatch(/"status":"CAPTURED","amountCents":1000/);
      }
    });
  }
});
