// Memory and CPU of a running app where systemd does not account them (a user
// manager on a cgroup v1 host reports MemoryCurrent=[not set]): the processes
// of the unit's cgroup and all their descendants, read from /proc. The
// descendants matter for containers: podman puts the container in a cgroup
// of its own, but its processes are children of conmon, which is in the
// unit's. RSS counts shared pages once per process, so it is an upper bound.
import { readdir, readFile } from 'node:fs/promises';

export interface ProcessUsage {
  readonly memoryBytes: number;
  readonly cpuNs: number;
}

const CGROUP_ROOTS = ['/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified', '/sys/fs/cgroup'];

/** The usage of each unit's processes and their descendants, by control group, from one scan of /proc. */
export async function processUsages(controlGroups: readonly string[]): Promise<Map<string, ProcessUsage>> {
  const result = new Map<string, ProcessUsage>();
  const roots = new Map(await Promise.all(controlGroups.map(async (cg) => [cg, await unitPids(cg)] as const)));
  if (![...roots.values()].some((pids) => pids.length)) return result;
  const stats = await allStats();
  const children = new Map<number, number[]>();
  for (const s of stats.values()) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s.pid]);
  const ticks = 100; // USER_HZ: the unit of /proc/PID/stat times, 100 on every Linux ABI
  const pageSize = await pageBytes();
  for (const [cg, pids] of roots) {
    if (pids.length === 0) continue;
    const seen = new Set<number>();
    const queue = [...pids];
    while (queue.length) {
      const pid = queue.pop()!;
      if (seen.has(pid)) continue;
      seen.add(pid);
      queue.push(...(children.get(pid) ?? []));
    }
    let memoryBytes = 0;
    let cpuTicks = 0;
    for (const pid of seen) {
      const s = stats.get(pid);
      if (!s) continue;
      memoryBytes += s.rssPages * pageSize;
      cpuTicks += s.utime + s.stime;
    }
    result.set(cg, { memoryBytes, cpuNs: (cpuTicks / ticks) * 1e9 });
  }
  return result;
}

/** The page size, from the kernel's auxiliary vector (AT_PAGESZ): 4 KiB on x86-64, up to 64 KiB on arm64. */
async function pageBytes(): Promise<number> {
  try {
    const auxv = await readFile('/proc/self/auxv');
    for (let i = 0; i + 16 <= auxv.length; i += 16) {
      if (auxv.readBigUInt64LE(i) === 6n) return Number(auxv.readBigUInt64LE(i + 8));
    }
  } catch {
    // Not Linux-like, or not readable: the common size.
  }
  return 4096;
}

async function unitPids(controlGroup: string): Promise<number[]> {
  for (const root of CGROUP_ROOTS) {
    try {
      const text = await readFile(`${root}${controlGroup}/cgroup.procs`, 'utf8');
      return text.split('\n').filter(Boolean).map(Number);
    } catch {
      // Not this hierarchy.
    }
  }
  return [];
}

interface Stat {
  readonly pid: number;
  readonly ppid: number;
  readonly utime: number;
  readonly stime: number;
  readonly rssPages: number;
}

async function allStats(): Promise<Map<number, Stat>> {
  const stats = new Map<number, Stat>();
  const pids = (await readdir('/proc')).filter((n) => /^[0-9]+$/.test(n));
  await Promise.all(
    pids.map(async (pid) => {
      try {
        const text = await readFile(`/proc/${pid}/stat`, 'utf8');
        // The command name is in parentheses and may contain spaces: the fields start after the last ')'.
        const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
        // Fields from 3 (state): ppid is field 4, utime 14, stime 15, rss 24 (1-based, proc(5)).
        stats.set(Number(pid), { pid: Number(pid), ppid: Number(fields[1]), utime: Number(fields[11]), stime: Number(fields[12]), rssPages: Number(fields[21]) });
      } catch {
        // Gone meanwhile.
      }
    }),
  );
  return stats;
}
