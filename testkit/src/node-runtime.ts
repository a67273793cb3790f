// Another Node binary to run a process of ours on, for benches that compare runtimes (and
// stack.mjs's STACK_NODE). A Node that cannot strip types itself (before 23.6) gets tsx as its
// loader; its worker threads still cannot load our TypeScript, so such a relay needs
// RELAY_PUBLISH_THREADS=0 (the runtimes bench sets it).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '@shop/lib/db/databases';

export interface NodeRuntime {
  binary: string;
  version: string;
  /** Flags before the entry file. */
  args: string[];
}

export function nodeRuntime(binary = process.execPath): NodeRuntime {
  const [version, typescript] = execFileSync(binary, ['-p', '`${process.version} ${process.features.typescript ?? false}`'], { encoding: 'utf8' })
    .trim()
    .split(' ');
  const strips = typescript === 'strip' || typescript === 'transform';
  return { binary, version: version, args: strips ? [] : ['--import', join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')] };
}

/** The first `node` on PATH (or BENCH_BASELINE_NODE) whose version is not this one's: the machine's own. */
export function baselineRuntime(): NodeRuntime {
  if (process.env.BENCH_BASELINE_NODE) return nodeRuntime(process.env.BENCH_BASELINE_NODE);
  for (const dir of (process.env.PATH ?? '').split(':')) {
    try {
      const candidate = nodeRuntime(join(dir, 'node'));
      if (candidate.version !== process.version) return candidate;
    } catch {
      // no node in that folder
    }
  }
  throw new Error('no other Node on PATH to compare with; set BENCH_BASELINE_NODE');
}
