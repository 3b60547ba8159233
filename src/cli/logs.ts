// `appsd logs NAME... [-f] [-n N] [--since TIME] [--json]`: what an app's
// units wrote (the backend or native service, the proxies, the manager's
// messages about its sockets and services), in time order, each line with its
// time and unit. Read from the journal (docs/logs.md).
import { InputError } from '../errors.js';
import { StateStore } from '../fs/state-store.js';
import { JournalError, journalSource, runJournal, type JournalQuery } from '../logs/journal.js';
import { formatLogLine, logLineJson, type LogLine } from '../logs/entry.js';
import { mainProcesses, unitRuns } from '../logs/runs.js';
import type { App } from '../manifest/app.js';
import { nameFromFile } from '../manifest/normalize.js';
import { parseTimespan } from '../manifest/timespan.js';
import type { InventoryApp } from '../plan/inventory.js';
import { forwardedPorts } from '../render/ports.js';
import { appUnitNames, forwardUnitNames } from '../unit/names.js';
import { UsageError, type Locations } from './context.js';
import { EXIT_OK } from './exit-codes.js';
import { loadAppsDir } from './load-apps.js';
import { useColor } from './output.js';
import { notAnAppHere } from './status.js';

/** Lines shown without -n or --since. */
export const DEFAULT_LINES = 50;

// journalctl -n counts entries, and a few carry no text (podman's container
// ID, empty messages): read this many more, then show the last N lines.
const SLACK = 20;

export interface LogsOptions {
  /** -n: the last N lines; undefined: DEFAULT_LINES, or every line since --since. */
  readonly lines: number | undefined;
  /** --since: what journalctl accepts, or a time span ago (10min). */
  readonly since: string | undefined;
  readonly follow: boolean;
  readonly json: boolean;
}

export async function logsCommand(locations: Locations, names: readonly string[], options: LogsOptions): Promise<number> {
  if (names.length === 0) throw new UsageError('logs takes the name of an app: appsd logs NAME');
  const load = await loadAppsDir(locations.appsDir, locations.host);
  const inventory = await new StateStore(locations.stateDir).read();
  const manifests = new Map(load.manifests.map((m) => [m.name ?? nameFromFile(m.file), m] as const));
  const known = [...new Set([...Object.keys(inventory.apps), ...manifests.keys()])].sort();
  for (const name of names) if (!known.includes(name)) throw notAnAppHere(name, known, load.skipped);
  const units = [...new Set(names.flatMap((n) => unitsOf(n, manifests.get(n)?.app, inventory.apps[n])))];
  const source = journalSource(locations.scope);
  if (!source.ok) throw new InputError(source.problem);

  const color = !options.json && useColor(process.stdout);
  const print = (line: LogLine) => process.stdout.write(`${options.json ? logLineJson(line) : paint(formatLogLine(line), line.priority, color)}\n`);
  const since = options.since === undefined ? undefined : sinceArgument(options.since);
  const limit = options.lines ?? (since === undefined ? DEFAULT_LINES : undefined);
  // A user unit's lines from a process that exited at once may not name the
  // unit in the journal: its last run's main process still does.
  const processes = locations.scope === 'user' ? mainProcesses(await unitRuns(units, 'user').catch(() => [])) : undefined;
  const query: JournalQuery = { scope: locations.scope, units, source, ...(since !== undefined && { since }), ...(processes?.size && { processes }) };

  // With -f, Ctrl-C, SIGTERM or a reader that went away end the command
  // cleanly whenever they come, also while the lines already there are read.
  let stopped = false;
  let reading: { stop(): void } | undefined;
  const stop = () => {
    stopped = true;
    reading?.stop();
  };
  if (options.follow) {
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    process.stdout.once('error', stop);
  }
  try {
    return await show();
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
    process.stdout.removeListener('error', stop);
  }

  async function show(): Promise<number> {
    // What is there already: the last N lines (or all since --since).
    const readFrom = Date.now();
    let cursor: string | undefined;
    if (limit !== 0) {
      // journalctl --since with -n shows the first N lines after TIME, not the
      // last: with --since, read them all and keep the last N as they pass.
      let kept: LogLine[] = [];
      const history = runJournal(
        { ...query, ...(limit !== undefined && since === undefined && { lines: limit + SLACK }) },
        {
          keep: false,
          onLines: (lines) => {
            kept.push(...lines);
            if (limit !== undefined && kept.length > 2 * limit + SLACK) kept = kept.slice(-limit);
          },
        },
      );
      reading = history;
      const first = await history.done.catch(explain);
      if (stopped) return EXIT_OK;
      const shown = limit === undefined ? kept : kept.slice(-limit);
      shown.forEach(print);
      cursor = first.cursor;
      if (!options.follow && shown.length === 0) process.stderr.write(`no lines from the units of ${names.join(', ')}${since !== undefined ? ` since ${options.since}` : ''}\n`);
    }
    if (!options.follow || stopped) return EXIT_OK;

    // Then what comes, until Ctrl-C: from the last entry shown, so nothing is
    // shown twice or lost in between; with none shown, from when the read began.
    const from: Partial<JournalQuery> = cursor !== undefined ? { afterCursor: cursor } : limit === 0 ? { lines: 0 } : { since: since ?? `@${(readFrom / 1000).toFixed(3)}` };
    const { since: _, ...rest } = query;
    const follower = runJournal({ ...rest, ...from, follow: true }, { keep: false, onLines: (lines) => lines.forEach(print) });
    reading = follower;
    await follower.done.catch(explain);
    return EXIT_OK;
  }
}

/**
 * Every unit of the app: its socket and proxy (or native service) for each
 * backend port, its backend, and whatever its applied units were (an app
 * whose manifest is now invalid or gone still has those).
 */
function unitsOf(name: string, app: App | undefined, applied: InventoryApp | undefined): string[] {
  const names = appUnitNames(name);
  const forwards = app ? forwardedPorts(app).slice(1).flatMap((port) => Object.values(forwardUnitNames(name, port))) : [];
  return [...new Set([names.socket, names.service, ...forwards, names.backend, ...(applied?.units ?? [])])];
}

/** A time span (`10min`, `1h 30min`) means that long ago; anything else goes to journalctl as it is (`2026-11-28 18:00`, `yesterday`, `--since=-1h` with the `=`). */
export function sinceArgument(text: string, now = Date.now()): string {
  const span = parseTimespan(text, false);
  if (span.ok && span.value !== null) return `@${((now - span.value) / 1000).toFixed(3)}`;
  return text;
}

function explain(error: unknown): never {
  // journalctl's own message, e.g. "Failed to parse timestamp: soon".
  if (error instanceof JournalError) throw new InputError(`logs: ${error.message}`);
  throw error;
}

const COLORS: Record<number, string> = { 0: '\x1b[31m', 1: '\x1b[31m', 2: '\x1b[31m', 3: '\x1b[31m', 4: '\x1b[33m' };

function paint(text: string, priority: number, color: boolean): string {
  const code = color ? COLORS[priority] : undefined;
  return code ? `${code}${text}\x1b[0m` : text;
}
