// Adapter: the journal, through journalctl. Where the lines of a manager's
// units are (the host's journal, or the sandbox's own: docs/logs.md), which
// journalctl arguments select an app's units, and reading or following them.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { ENTRY_FIELDS, entryLines, entryUnit, fieldText, orphanUnit, type JournalEntry, type KnownProcess, type LogLine } from './entry.js';
import { bootId } from './runs.js';

export type Scope = 'user' | 'system';

/** Where to read a manager's journal: the default journal, or a directory of journal files; or why there is none. */
export type JournalSource = { readonly ok: true; readonly directory?: string } | { readonly ok: false; readonly problem: string };

/** Set by appsd's sandbox (src/sandbox/private-manager.ts): its user manager's units log to a journald of their own, whose files are here. */
export const JOURNAL_DIR_VARIABLE = 'APPSD_JOURNAL_DIR';

export function journalSource(scope: Scope, env: NodeJS.ProcessEnv = process.env): JournalSource {
  const directory = scope === 'user' ? env[JOURNAL_DIR_VARIABLE] : undefined;
  if (directory) {
    return existsSync(directory) ? { ok: true, directory } : { ok: false, problem: `the sandbox's journal ${directory} (${JOURNAL_DIR_VARIABLE}) does not exist: has the sandbox stopped?` };
  }
  const hasFiles = (dir: string) => {
    try {
      return readdirSync(dir).length > 0;
    } catch {
      return false;
    }
  };
  if (existsSync('/run/systemd/journal/socket') || hasFiles('/run/log/journal') || hasFiles('/var/log/journal')) return { ok: true };
  return {
    ok: false,
    problem:
      'no journal here: systemd-journald does not run (no /run/systemd/journal/socket) and there are no journal files, so nothing keeps the output of the units; ' +
      'where no systemd manager runs, appsd watch --sandbox runs the apps with a journal of their own (docs/logs.md)',
  };
}

export interface JournalQuery {
  readonly scope: Scope;
  /** The units whose lines to read (an app's units). */
  readonly units: readonly string[];
  readonly source: { readonly directory?: string };
  /**
   * Only the lines the units' own processes wrote (the app, podman, the
   * readiness wait), not the manager's messages about the units (started,
   * failed). Default: both, as `journalctl -u` shows them.
   */
  readonly processOnly?: boolean;
  /** The last N entries (journalctl -n). */
  readonly lines?: number;
  /** journalctl --since: what journalctl accepts (`2026-11-28 18:00`, `yesterday`, `-10min`, `@EPOCH`). */
  readonly since?: string;
  /** Only entries after this one (journalctl --after-cursor). */
  readonly afterCursor?: string;
  readonly follow?: boolean;
  /**
   * User scope: the main processes of the units' last runs (runs.ts), whose
   * entries count even where journald could not name their unit
   * (entry.ts, orphanUnit).
   */
  readonly processes?: ReadonlyMap<number, KnownProcess>;
  /** The user whose user manager it is (a user unit's entries are matched with its _UID); default this process's. */
  readonly uid?: number;
}

/** The journalctl command line for a query. Several units are ORed; the entries come oldest first, interleaved by time. */
export function journalctlArgs(query: JournalQuery): string[] {
  const args = ['--no-pager', '--quiet', '--all', '--output=json', `--output-fields=${ENTRY_FIELDS.join(',')}`];
  if (query.source.directory !== undefined) args.push(`--directory=${query.source.directory}`);
  if (query.lines !== undefined) args.push(`--lines=${query.lines}`);
  if (query.since !== undefined) args.push(`--since=${query.since}`);
  if (query.afterCursor !== undefined) args.push(`--after-cursor=${query.afterCursor}`);
  if (query.follow) args.push('--follow');
  if (query.scope === 'system') {
    // What `journalctl -u` selects: the unit's processes (journald names the
    // unit even for a process gone before it could look: the system manager
    // tells it), the manager's messages about the unit, its coredumps.
    if (query.processOnly) args.push(...query.units.map((u) => `_SYSTEMD_UNIT=${u}`));
    // --unit= reads a glob: a name from an invalid manifest's file (`a*b`) must match only itself.
    else args.push(...query.units.map((u) => (/[*?[\\]/.test(u) ? `_SYSTEMD_UNIT=${u}` : `--unit=${u}`)));
    return args;
  }
  // A user manager's units, as `journalctl --user-unit` selects them (its
  // processes, its manager's messages about it; _UID: this user's manager),
  // plus the entries of the known main processes. Without --user, so that
  // root's user manager (whose lines journald keeps in the system journal)
  // and another user's (its own journal files) are read alike. Matches are
  // ORed across `+`, and within a group ORed on one field, ANDed across fields.
  const uid = `_UID=${query.uid ?? process.getuid?.() ?? 0}`;
  const groups = [query.units.map((u) => `_SYSTEMD_USER_UNIT=${u}`)];
  if (!query.processOnly) groups.push(query.units.map((u) => `USER_UNIT=${u}`));
  const pids = [...(query.processes?.keys() ?? [])];
  if (pids.length) groups.push(pids.map((p) => `_PID=${p}`));
  args.push(...groups.flatMap((group, i) => [...(i ? ['+'] : []), ...group, uid]));
  return args;
}

/** journalctl could not read the journal (a --since it cannot parse, a journal it may not read): its own message. */
export class JournalError extends Error {
  override name = 'JournalError';
}

export interface JournalRead {
  readonly lines: LogLine[];
  /** The cursor of the last entry read, to follow from there. */
  readonly cursor: string | undefined;
  /** How many entries journalctl printed (some carry no text). */
  readonly entries: number;
}

interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Called with each entry's lines as they come. */
  readonly onLines?: (lines: LogLine[], entry: JournalEntry) => void;
  /** Keep the entries (the default) or only pass them to onLines. */
  readonly keep?: boolean;
}

export interface JournalRun {
  /** Resolves once journalctl has exited (follow: once stop() was called), rejects with JournalError if it failed. */
  readonly done: Promise<JournalRead>;
  stop(): void;
}

/** Runs journalctl for the query, parsing its JSON lines as they come. */
export function runJournal(query: JournalQuery, options: RunOptions = {}): JournalRun {
  const units = new Set(query.units);
  const processes = query.processes ?? new Map<number, KnownProcess>();
  const boot = processes.size ? bootId() : '';
  const child = spawn('journalctl', journalctlArgs(query), { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: LogLine[] = [];
  let cursor: string | undefined;
  let entries = 0;
  let stderr = '';
  let stopped = false;
  child.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 4096) stderr += d.toString();
  });
  const reader = createInterface({ input: child.stdout, crlfDelay: Infinity });
  reader.on('line', (text) => {
    let entry: JournalEntry;
    try {
      entry = JSON.parse(text) as JournalEntry;
    } catch {
      return;
    }
    entries++;
    cursor = fieldText(entry, '__CURSOR') ?? cursor;
    const unit = entryUnit(entry, units, query.scope) ?? orphanUnit(entry, processes, boot);
    // An entry that matched only by its PID and is not a known process's.
    if (unit === undefined) return;
    const got = entryLines(entry, unit);
    if (options.keep !== false) lines.push(...got);
    if (got.length) options.onLines?.(got, entry);
  });
  const done = new Promise<JournalRead>((resolve, reject) => {
    child.on('error', (error: NodeJS.ErrnoException) =>
      reject(new JournalError(error.code === 'ENOENT' ? 'journalctl is not installed (it comes with systemd)' : `journalctl: ${error.message}`)),
    );
    // 'close': stdout is read to its end, every line handled.
    // Ended by a signal: stopped, or Ctrl-C reached journalctl first (it is in the terminal's process group).
    child.on('close', (code, signal) => {
      if (code === 0 || stopped || signal !== null) resolve({ lines, cursor, entries });
      else reject(new JournalError(stderr.trim().split('\n').filter(Boolean).pop() ?? `journalctl exited with status ${code}`));
    });
  });
  return {
    done,
    stop() {
      stopped = true;
      child.kill('SIGTERM');
    },
  };
}
