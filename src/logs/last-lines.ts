// The last lines an app's own process wrote in its last run: what `appsd
// status` shows under a failed app, so that the reason (a stack trace, podman's
// "image not known") is on the screen without a second command.
import type { App } from '../manifest/app.js';
import { runUnit } from '../render/desired.js';
import { appUnitNames } from '../unit/names.js';
import { fieldText, type JournalEntry } from './entry.js';
import { journalSource, runJournal } from './journal.js';
import { bootId, mainProcesses, unitRuns } from './runs.js';

// journalctl -n counts entries, and a few carry no text (podman's container
// ID, empty messages): read this many more and keep the last n lines.
const SLACK = 20;

export interface LastLinesOptions {
  /** The manager the app's units run in: --user (default of the commands) or --system. */
  readonly scope: 'user' | 'system';
  /** The environment that reaches that manager and its journal (XDG_RUNTIME_DIR, APPSD_JOURNAL_DIR); default process.env. */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * The last `n` lines (oldest first, without timestamps or unit names) that
 * the app's own process wrote, on stdout or stderr, during its last run: the
 * run going on now, or the one that ended last (a crash, a failed start, a
 * scale-down). The process is the backend unit's (appsd-NAME-backend.service),
 * or with native activation the service's (appsd-NAME.service): the app
 * itself; for a container, podman's own messages (an image it cannot find,
 * a port already taken) and, where podman logs to the journal (its default on
 * a systemd host; always under appsd's sandbox), the container's output. Not
 * the manager's messages about the unit (started, failed), nor the readiness
 * wait's (`appsd: backend ... exited before it was ready`), which is the
 * unit's status text already.
 *
 * `app` is a manifest's App, or an app name (then the backend unit if the
 * manager knows one, else the service). Lines come from the journal
 * (docs/logs.md): the host's, or the sandbox's when APPSD_JOURNAL_DIR is set.
 *
 * Never rejects: resolves to [] when the unit never ran, when there is no
 * journal, or when the manager or journalctl cannot be asked. A line written
 * in the last few milliseconds may not be in the journal yet.
 */
export async function lastLines(app: App | string, n: number, options: LastLinesOptions): Promise<string[]> {
  if (!(n > 0)) return [];
  const count = Math.floor(n);
  const env = options.env ?? process.env;
  try {
    const source = journalSource(options.scope, env);
    if (!source.ok) return [];
    const names = typeof app === 'string' ? appUnitNames(app) : undefined;
    const runs = await unitRuns(names ? [names.backend, names.service] : [runUnit(app as App)], options.scope, env);
    // By name: the backend when the manager has one (proxy activation), else the app's service (native).
    const last = runs.find((r) => r.loaded || r.startedMonoUs > 0n) ?? runs[0]!;
    if (last.startedMonoUs === 0n) return [];
    const boot = bootId();
    const lines: string[] = [];
    await runJournal(
      { scope: options.scope, units: [last.unit], source, processOnly: true, lines: count + SLACK, processes: mainProcesses([last]) },
      {
        env,
        keep: false,
        onLines: (got, entry) => {
          // The last run's: written in this boot, once the unit had left inactive.
          const mono = fieldText(entry, '__MONOTONIC_TIMESTAMP');
          if (fieldText(entry, '_BOOT_ID') !== boot || mono === undefined || !/^\d+$/.test(mono) || BigInt(mono) < last.startedMonoUs) return;
          if (isReadinessWait(entry)) return;
          lines.push(...got.map((l) => l.message));
        },
      },
    ).done;
    return lines.slice(-count);
  } catch {
    return [];
  }
}

/** The readiness wait's own message (render/readiness.ts): bash, saying `appsd: backend ...`. */
function isReadinessWait(entry: JournalEntry): boolean {
  return fieldText(entry, 'SYSLOG_IDENTIFIER') === 'bash' && fieldText(entry, 'MESSAGE')?.startsWith('appsd: backend ') === true;
}
