// Adapter: what the manager remembers of its units' last runs, through
// systemctl show: the journal alone cannot always tell which user unit a line
// came from (entry.ts, orphanUnit).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import type { KnownProcess } from './entry.js';

const run = promisify(execFile);

export interface UnitRun {
  readonly unit: string;
  /** Whether the manager has the unit (LoadState=loaded). */
  readonly loaded: boolean;
  /** CLOCK_MONOTONIC µs when the unit last left inactive (its last start began); 0n: it never ran. */
  readonly startedMonoUs: bigint;
  /** Its last run's main process (ExecMainPID, kept after it exited); 0: none. */
  readonly mainPid: number;
}

/** The last runs of `units`, in their order. Rejects when the manager cannot be asked. */
export async function unitRuns(units: readonly string[], scope: 'user' | 'system', env: NodeJS.ProcessEnv = process.env): Promise<UnitRun[]> {
  if (units.length === 0) return [];
  const { stdout } = await run(
    'systemctl',
    [...(scope === 'user' ? ['--user'] : []), 'show', '-p', 'LoadState', '-p', 'InactiveExitTimestampMonotonic', '-p', 'ExecMainPID', '--', ...units],
    { env, timeout: 10_000, maxBuffer: 4 * 1024 * 1024 },
  );
  // One block of KEY=VALUE lines per unit, in the order asked, separated by blank lines.
  const blocks = stdout.split(/\n\s*\n/).map((block) => new Map(block.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const)));
  return units.map((unit, i) => {
    const props = blocks[i] ?? new Map<string, string>();
    const started = props.get('InactiveExitTimestampMonotonic') ?? '';
    const pid = Number(props.get('ExecMainPID') ?? 0);
    return { unit, loaded: props.get('LoadState') === 'loaded', startedMonoUs: /^\d+$/.test(started) ? BigInt(started) : 0n, mainPid: Number.isInteger(pid) && pid > 0 ? pid : 0 };
  });
}

/** The main processes of the units' last runs, by PID, for orphanUnit. */
export function mainProcesses(runs: readonly UnitRun[]): Map<number, KnownProcess> {
  return new Map(runs.filter((r) => r.mainPid > 0 && r.startedMonoUs > 0n).map((r) => [r.mainPid, { unit: r.unit, sinceMonoUs: r.startedMonoUs }] as const));
}

/** This boot's ID as the journal writes it (_BOOT_ID: 32 hex digits, no dashes). */
export function bootId(): string {
  return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().replace(/-/g, '');
}
