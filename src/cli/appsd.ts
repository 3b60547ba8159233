// appsd's command line: parses flags, runs one command, maps failures to exit
// codes. Everything it does is in the command modules. Node starts it through
// main.cts (dist/cli/main.js), from the bundle the build makes.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { resolveLocations, UsageError } from './context.js';
import { hostFilePath, resolveHost } from '../host/identity.js';
import { EXIT_ERROR } from './exit-codes.js';
import { InputError } from '../errors.js';
import { parseTimespan } from '../manifest/timespan.js';

const HELP = `appsd: socket-activated, scale-to-zero services from YAML manifests

Usage: appsd <command> [options]

Commands:
  validate           check every manifest; problems as file:line:col: message
                     exit 0 when all are valid, 2 otherwise
  render [NAME...]   print the unit files appsd would write, as --- PATH --- blocks
  diff               show what apply would change: unified diffs and actions
                     exit 0 no changes, 1 changes pending, 2 errors
  apply              converge systemd with the manifests (write, reload, enable,
                     start, stop, remove); --dry-run prints the plan and stops
  watch              apply now, then again on every change to the apps directory,
                     every --resync interval and on SIGHUP; SIGTERM/SIGINT exit
  status [NAME]      each app's state (running, scaled to zero, failed, ...), since
                     when, addresses, last cold start, starts, memory, CPU and
                     errors; the controller's last pass. With NAME: that app in
                     detail (its units, last exit, last lines)
  restart NAME       stop the app; the next connection starts it (--now: at once)
  stop NAME          scale the app to zero now; its socket keeps listening
  start NAME         start the app before traffic (it idles out as usual)
  logs NAME...       what the app's units wrote, oldest first, each line with its
                     time and unit: the last 50 lines, -n N, --since TIME, and
                     with -f new lines until Ctrl-C (docs/logs.md)
  export knative [NAME...]
                     print the container apps as Knative Services (YAML, one
                     document each; -o DIR: one file each); what Knative cannot
                     express is an error at its line; exit 0 all exported, 2 not
                     (docs/kubernetes.md)
  install            run appsd watch as a service of the manager (enabled, started)
  uninstall          stop and remove that service
  help               show this help

Options:
  --apps-dir DIR     manifests directory (default: $APPSD_APPS_DIR or ./apps.d)
  --unit-dir DIR     unit file directory (default: ~/.config/systemd/user,
                     or /etc/systemd/system with --system)
  --state-dir DIR    appsd's inventory (default: ~/.local/state/appsd,
                     or /var/lib/appsd with --system)
  --user             the user's service manager (default)
  --system           the system service manager
  --host NAME        this host's name, for manifests placed by hosts: (default:
                     host.yaml's name, or the host name; docs/fleet.md)
  --host-labels K=V,...
                     this host's labels, for placement: (default: host.yaml's)
  --hosts FILE       validate: check every host of a fleet file at once
  --json             machine-readable output (validate, diff, status, logs)
  --offline          diff: compare with the unit directory only, without systemd
  --dry-run          apply: print the plan, change nothing
  --now              restart: start the app again at once
  -n, --lines N      logs: the last N lines (default 50; with --since, all)
  --since TIME       logs: lines since TIME, as journalctl reads it
                     (2026-11-28 18:00, yesterday) or a span ago (10min)
  -f, --follow       logs: then print new lines as they come, until Ctrl-C
  -o, --output DIR   export: write DIR/NAME.yaml for each app instead of printing
  --resync SPAN      watch, install: a full pass at least this often (default 1min)
  --pull SPAN        watch, install: git pull --ff-only the apps directory this often
  --sandbox          watch: run against a private systemd user manager for this
                     session (needs root); APPSD_SANDBOX=auto does so only when
                     no user manager is reachable
  --verbose          watch: also log passes that changed nothing, and file events
  --metrics ADDR     watch: serve Prometheus metrics at http://ADDR/metrics
                     (127.0.0.1:9105, or :9105 for every address; docs/metrics.md)
  -h, --help         show this help
  --version          print the version

Docs: docs/manifest.md (the manifest format), docs/units.md (what is generated).
`;

const OPTIONS = {
  'apps-dir': { type: 'string' },
  'unit-dir': { type: 'string' },
  'state-dir': { type: 'string' },
  offline: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  now: { type: 'boolean' },
  lines: { type: 'string', short: 'n' },
  since: { type: 'string' },
  follow: { type: 'boolean', short: 'f' },
  output: { type: 'string', short: 'o' },
  resync: { type: 'string' },
  pull: { type: 'string' },
  metrics: { type: 'string' },
  host: { type: 'string' },
  'host-labels': { type: 'string' },
  hosts: { type: 'string' },
  sandbox: { type: 'boolean' },
  verbose: { type: 'boolean' },
  user: { type: 'boolean' },
  system: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  const [command, ...rest] = positionals;
  if (values.version) {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`appsd ${pkg.version}\n`);
    return 0;
  }
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(HELP);
    return command === undefined && !values.help ? EXIT_ERROR : 0;
  }
  if (values.sandbox && command !== 'watch') throw new UsageError('--sandbox goes with watch');
  for (const flag of ['lines', 'since', 'follow'] as const) if (values[flag] !== undefined && command !== 'logs') throw new UsageError(`--${flag} goes with logs`);
  if (values.metrics !== undefined && command !== 'watch') throw new UsageError('--metrics goes with watch');
  if (values.output !== undefined && command !== 'export') throw new UsageError('--output goes with export');
  if (values.offline && command !== 'diff') throw new UsageError('--offline goes with diff');
  if (values.json && command === 'export') throw new UsageError('export prints YAML: --json does not go with it');
  if (values.hosts !== undefined && command !== 'validate') throw new UsageError('--hosts goes with validate');
  if (values.hosts !== undefined && (values.host !== undefined || values['host-labels'] !== undefined)) throw new UsageError('--hosts checks every host of its file: it goes without --host and --host-labels');
  const dirs = resolveLocations(values);
  // This host, for placement (docs/fleet.md). An export is for a cluster, not for this host: it takes every manifest,
  // unless --host or --host-labels picks one host's share of a fleet.
  const exportsAll = command === 'export' && values.host === undefined && values['host-labels'] === undefined;
  const locations = exportsAll || values.hosts !== undefined ? dirs : { ...dirs, host: await resolveHost(values, dirs.scope) };
  switch (command) {
    // Each command's modules load on demand: `appsd validate` need not load
    // D-Bus, chokidar and the controller, which was most of its start-up time.
    case 'validate':
      if (rest.length) throw new UsageError('validate takes no arguments');
      return (await import('./validate.js')).validateCommand(locations, values.json ?? false, values.hosts);
    case 'render':
      return (await import('./render.js')).renderCommand(locations, rest);
    case 'diff':
      if (rest.length) throw new UsageError('diff takes no arguments');
      return (await import('./diff.js')).diffCommand(locations, { json: values.json ?? false, offline: values.offline ?? false });
    case 'apply':
      if (rest.length) throw new UsageError('apply takes no arguments');
      return (await import('./apply.js')).applyCommand(locations, values['dry-run'] ?? false);
    case 'watch': {
      if (rest.length) throw new UsageError('watch takes no arguments');
      const pullMs = values.pull === undefined ? undefined : span('--pull', values.pull);
      return (await import('./watch.js')).watchCommand(values, locations, {
        resyncMs: values.resync === undefined ? 60_000 : span('--resync', values.resync),
        ...(pullMs !== undefined && { pullMs }),
        verbose: values.verbose ?? false,
        ...(values.metrics !== undefined && { metrics: values.metrics }),
        sandbox: values.sandbox ? 'always' : process.env['APPSD_SANDBOX'] === 'auto' ? 'auto' : 'never',
        debounceMs: Number(process.env['APPSD_DEBOUNCE_MS'] ?? 25),
      });
    }
    case 'status':
      if (rest.length > 1) throw new UsageError('status takes at most one app name');
      return (await import('./status.js')).statusCommand(locations, values.json ?? false, rest[0]);
    case 'restart':
    case 'stop':
    case 'start':
      if (rest.length !== 1) throw new UsageError(`${command} takes one app name`);
      if (values.now && command !== 'restart') throw new UsageError('--now goes with restart');
      return (await import('./act.js')).actCommand(command, locations, rest[0]!, values.now ?? false);
    case 'logs': {
      if (values.lines !== undefined && !/^[0-9]{1,9}$/.test(values.lines)) throw new UsageError(`-n/--lines: "${values.lines}" is not a number of lines`);
      return (await import('./logs.js')).logsCommand(locations, rest, {
        lines: values.lines === undefined ? undefined : Number(values.lines),
        since: values.since,
        follow: values.follow ?? false,
        json: values.json ?? false,
      });
    }
    case 'export': {
      const [target, ...names] = rest;
      if (target !== 'knative') throw new UsageError(target === undefined ? 'export takes a target: appsd export knative [NAME...]' : `unknown export target ${JSON.stringify(target)} (there is knative)`);
      return (await import('./export.js')).exportKnativeCommand(locations, names, values.output);
    }
    case 'install':
      if (rest.length) throw new UsageError('install takes no arguments');
      if (values.pull !== undefined) span('--pull', values.pull);
      if (values.resync !== undefined) span('--resync', values.resync);
      return (await import('./install.js')).installCommand(locations, {
        ...(values.pull !== undefined && { pull: values.pull }),
        ...(values.resync !== undefined && { resync: values.resync }),
        ...((values.host !== undefined || values['host-labels'] !== undefined) && { hostFile: { path: hostFilePath(locations.scope), host: locations.host! } }),
      });
    case 'uninstall':
      if (rest.length) throw new UsageError('uninstall takes no arguments');
      return (await import('./install.js')).uninstallCommand(locations);
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

/** A time span flag: 30s, 5min, ... (at least 100 ms). */
function span(flag: string, text: string): number {
  const parsed = parseTimespan(text, false);
  if (!parsed.ok || parsed.value === null || parsed.value < 100) {
    throw new UsageError(`${flag}: ${parsed.ok ? 'must be at least 100ms' : parsed.reason}`);
  }
  return parsed.value;
}

// A reader that went away (`appsd diff | head`, a `tee` killed by Ctrl-C) is
// not appsd's failure: ignore EPIPE on the output streams and carry on, so
// that a command finishes its work and `watch` still stops what it started.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const e = error as Error & { code?: string };
    if (error instanceof UsageError || e.code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`appsd: ${e.message}\nRun 'appsd --help' for usage.\n`);
    } else if (error instanceof InputError) {
      process.stderr.write(`appsd: ${e.message}\n`);
    } else {
      process.stderr.write(`appsd: internal error: ${e.stack ?? String(error)}\n`);
    }
    process.exitCode = EXIT_ERROR;
  },
);
