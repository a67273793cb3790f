// Where the CPU of an end-to-end run goes inside each Node process: restarts the stack under
// `node --cpu-prof`, runs one open-loop window, stops the stack (that is when Node writes the
// profiles) and cuts every profile to the placement window. Prints each process' largest owners
// and writes, per process, the raw profile (Chrome DevTools / speedscope), folded stacks
// (flamegraph.pl / inferno) and a standalone flame graph SVG.
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { REPO_ROOT, serviceDatabaseUrl } from '@shop/lib/db/databases';
import { STACK_INSTANCES, stackDown, stackUp, type StackProcess } from '@shop/testkit/processes';
import { foldedText, largestShares, mergeSummaries, summarizeProfile, type CpuProfile, type ProfileSummary } from './cpuprofile.ts';
import { e2eRun, warmUp } from './e2e.ts';
import { flameGraphSvg } from './flamegraph.ts';
import { stackPids } from './stack.ts';
import { table } from './stats.ts';

export interface ProfiledRun {
  dir: string;
  summaries: Partial<Record<StackProcess, ProfileSummary>>;
}

export async function profileBench(rate = Number(process.env.BENCH_RATE ?? 120), seconds = Number(process.env.BENCH_SECONDS ?? 30)): Promise<ProfiledRun> {
  const dir = join(REPO_ROOT, '.state/bench/profiles', new Date().toISOString().replace(/[:.]/g, '-'));
  mkdirSync(dir, { recursive: true });
  // Only processes started with the flag write a profile: a stack already up must go first.
  await stackDown();
  await stackUp({ ...process.env, STACK_NODE_ARGS: `${process.env.STACK_NODE_ARGS ?? ''} --cpu-prof --cpu-prof-dir=${dir}` });
  const pids = stackPids();
  const db = new pg.Pool({ connectionString: serviceDatabaseUrl('orders'), max: 2 });
  let run: Awaited<ReturnType<typeof e2eRun>>;
  try {
    await warmUp(db);
    run = await e2eRun(rate, seconds, db);
  } finally {
    await db.end();
    await stackDown(); // Node writes a profile when its process exits
  }
  console.error(
    `profiled ${rate}/s for ${seconds} s: terminal p50 ${run.p50.toFixed(0)} ms, p99 ${run.p99.toFixed(0)} ms, open ${run.open}, errors ${run.errors}`,
  );

  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const summaries: ProfiledRun['summaries'] = {};
  const rows: string[][] = [];
  for (const { name, app } of STACK_INSTANCES) {
    // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main thread; the others
    // are workers (the relay's Kafka encoders).
    const threads = files.map((f) => f.split('.')).filter((part) => part[3] === String(pids[name]));
    if (threads.length === 0) {
      rows.push([name, run.cpuMsPerOrder[app].toFixed(2), 'no profile written', '']);
      continue;
    }
    const parts = threads.map((part) => {
      const file = part.join('.');
      const thread = part[4] === '0' ? '' : `-thread${part[4]}`;
      renameSync(join(dir, file), join(dir, `${name}${thread}.cpuprofile`));
      const profile = JSON.parse(readFileSync(join(dir, `${name}${thread}.cpuprofile`), 'utf8')) as CpuProfile;
      return summarizeProfile(profile, run.window.fromMicros, run.window.toMicros, REPO_ROOT, thread ? `(thread ${part[4]})` : undefined);
    });
    const summary = mergeSummaries(parts);
    summaries[name] = summary;
    writeFileSync(join(dir, `${name}.folded`), foldedText(summary.folded));
    writeFileSync(join(dir, `${name}.svg`), flameGraphSvg(summary.folded, `${name}: ${rate} orders/s for ${seconds} s, placement window only`));
    rows.push([name, run.cpuMsPerOrder[app].toFixed(2), String(summary.busySamples), largestShares(summary, 7)]);
  }
  console.log(
    table([`process (${rate}/s for ${seconds} s, under --cpu-prof)`, 'CPU ms per order (/proc)', 'busy samples', 'largest shares of busy samples'], rows),
  );
  console.log(`\nprofiles, folded stacks and flame graphs (.svg): ${dir}`);
  // Back to an unprofiled stack, as the other benches expect it.
  await stackUp();
  return { dir, summaries };
}
