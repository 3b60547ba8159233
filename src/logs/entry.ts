// Journal entries (`journalctl --output=json`) as the lines appsd shows: which
// of the app's units each came from, when, and its text. Pure: the journal
// itself is read in journal.ts.

/** A journal entry as journalctl prints it in JSON: a string per field, an array of bytes for binary values, an array for repeated fields, null when too long to print. */
export type JournalEntry = Readonly<Record<string, unknown>>;

/** One line an app's unit wrote, or the manager wrote about it. */
export interface LogLine {
  /** When journald received it: microseconds since the epoch. */
  readonly timeUs: bigint;
  /** The unit it came from, e.g. appsd-web-backend.service. */
  readonly unit: string;
  /** syslog priority, 0 (emerg) to 7 (debug); 6 (info) when the entry has none. */
  readonly priority: number;
  /** The text, without its trailing newline; an entry with several lines gives several LogLines. */
  readonly message: string;
}

// Where an entry names its unit, most specific first: the unit whose process
// wrote it (journald's own field, from the writer's cgroup), then the unit the
// manager wrote about, then a coredump's or a D-Bus object's unit.
const USER_FIELDS = ['_SYSTEMD_USER_UNIT', 'USER_UNIT', 'COREDUMP_USER_UNIT', 'OBJECT_SYSTEMD_USER_UNIT'];
const SYSTEM_FIELDS = ['_SYSTEMD_UNIT', 'UNIT', 'COREDUMP_UNIT', 'OBJECT_SYSTEMD_UNIT'];

/** The fields journalctl needs to print for entryLines (--output-fields); it adds the timestamps, cursor and boot ID itself. */
export const ENTRY_FIELDS = ['MESSAGE', 'PRIORITY', 'SYSLOG_IDENTIFIER', '_PID', '_SYSTEMD_CGROUP', ...USER_FIELDS, ...SYSTEM_FIELDS];

/** A field's value as text: the last of repeated values; bytes decoded as UTF-8. */
export function fieldText(entry: JournalEntry, name: string): string | undefined {
  const value = entry[name];
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v === 'number')) return Buffer.from(value as number[]).toString('utf8');
    return value.length ? fieldText({ v: value[value.length - 1] }, 'v') : undefined;
  }
  return undefined;
}

/**
 * The unit of `units` an entry names, or undefined. A user manager's
 * services are named by the _SYSTEMD_USER_UNIT family; journald uses
 * _SYSTEMD_UNIT for a process of a system service it could no longer place
 * in a cgroup (the manager tells it the unit), so those come second.
 */
export function entryUnit(entry: JournalEntry, units: ReadonlySet<string>, scope: 'user' | 'system'): string | undefined {
  const fields = scope === 'user' ? [...USER_FIELDS, ...SYSTEM_FIELDS] : SYSTEM_FIELDS;
  return fields.map((f) => fieldText(entry, f)).find((v) => v !== undefined && units.has(v));
}

// `podman run -d` prints the new container's ID on its standard output: one
// such line per cold start says nothing a reader of the app's output wants.
const CONTAINER_ID = /^[0-9a-f]{64}$/;

/**
 * The lines of one entry, from `unit`, or none for an entry that carries no
 * text: an empty message (podman writes some) or the container ID `podman
 * run -d` prints. A message with several lines (a stack trace in one write)
 * gives one LogLine per line, each with the entry's unit and time.
 */
export function entryLines(entry: JournalEntry, unit: string): LogLine[] {
  const raw = fieldText(entry, 'MESSAGE');
  if (raw === undefined) return [];
  const text = raw.replace(/\r?\n$/, '');
  if (text.trim() === '') return [];
  if (CONTAINER_ID.test(text) && fieldText(entry, 'SYSLOG_IDENTIFIER') === 'podman') return [];
  const time = fieldText(entry, '__REALTIME_TIMESTAMP');
  const priority = Number(fieldText(entry, 'PRIORITY') ?? 6);
  const base = {
    timeUs: time !== undefined && /^\d+$/.test(time) ? BigInt(time) : 0n,
    unit,
    priority: Number.isInteger(priority) && priority >= 0 && priority <= 7 ? priority : 6,
  };
  return text.split(/\r?\n/).map((message) => ({ ...base, message }));
}

/** Where a process ran, for entries journald could not place. */
export interface KnownProcess {
  readonly unit: string;
  /** CLOCK_MONOTONIC µs when its unit last left inactive: the process's entries are not older. */
  readonly sinceMonoUs: bigint;
}

/**
 * The unit of an entry that names none: journald reads a writer's unit from
 * its cgroup when it handles the first line, and a process of a user
 * manager that wrote and exited within milliseconds (a crash at start) may
 * be gone by then; for a user service the manager does not tell journald
 * the unit either. Such an entry still has the writer's PID: if that was the
 * main process of a unit's last run (ExecMainPID), and the entry is from this
 * boot and that run, it is that unit's. An entry journald did place (it has a
 * cgroup) belongs to someone else who got the PID later.
 */
export function orphanUnit(entry: JournalEntry, processes: ReadonlyMap<number, KnownProcess>, bootId: string): string | undefined {
  const known = processes.get(Number(fieldText(entry, '_PID')));
  if (!known || fieldText(entry, '_SYSTEMD_CGROUP') !== undefined || fieldText(entry, '_BOOT_ID') !== bootId) return undefined;
  const mono = fieldText(entry, '__MONOTONIC_TIMESTAMP');
  return mono !== undefined && /^\d+$/.test(mono) && BigInt(mono) >= known.sinceMonoUs ? known.unit : undefined;
}

/** `2026-11-28T18:13:54.120Z appsd-web-backend.service: message`: UTC, as appsd's controller logs its own lines. */
export function formatLogLine(line: LogLine): string {
  return `${new Date(Number(line.timeUs / 1000n)).toISOString()} ${line.unit}: ${line.message}`;
}

/** The line as one JSON object (JSON Lines), for `appsd logs --json`. */
export function logLineJson(line: LogLine): string {
  return JSON.stringify({ time: new Date(Number(line.timeUs / 1000n)).toISOString(), unit: line.unit, priority: line.priority, message: line.message });
}
