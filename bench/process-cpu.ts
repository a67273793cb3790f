// CPU time of each process of the machine that takes part in an order, read from /proc: what one
// order costs, process by process, so a missed target says where the cores went.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export const CPU_GROUPS = [
  'postgres',
  'order-service',
  'inventory-service',
  'payment-service',
  'notification-service',
  'outbox-relay',
  'ops-console',
  'kafka',
  'redis',
  'load generator',
] as const;
export type CpuGroup = (typeof CPU_GROUPS)[number];

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

function groupOf(pid: number, cmdline: string): CpuGroup | undefined {
  if (pid === process.pid) return 'load generator';
  // the postmaster by path, its backends, walsenders and workers by their process titles
  if (cmdline.startsWith('postgres:') || cmdline.includes('/bin/postgres ')) return 'postgres';
  const service = CPU_GROUPS.find((g) => cmdline.includes(`/${g}/src/main.ts`));
  if (service) return service;
  if (cmdline.startsWith('java ') && cmdline.includes(' kafka.Kafka ')) return 'kafka';
  if (cmdline.includes('redis-server')) return 'redis';
  return undefined;
}

/** CPU seconds (user + system) used so far by each process of a group, by pid. */
export type CpuSnapshot = Map<number, { group: CpuGroup; seconds: number }>;

export function cpuSnapshot(): CpuSnapshot {
  const out: CpuSnapshot = new Map();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const group = groupOf(pid, readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' '));
      if (!group) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // fields after the command name, which may itself hold spaces: utime and stime are 14 and 15
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(pid, { group, seconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND });
    } catch {
      // the process ended between readdir and read
    }
  }
  return out;
}

/** CPU seconds each group used since `before` (a process that ended in between is not counted). */
export function cpuSince(before: CpuSnapshot): Record<CpuGroup, number> {
  const used = Object.fromEntries(CPU_GROUPS.map((g) => [g, 0])) as Record<CpuGroup, number>;
  for (const [pid, now] of cpuSnapshot()) used[now.group] += now.seconds - (before.get(pid)?.seconds ?? 0);
  return used;
}
