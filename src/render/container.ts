// The [Service] lines of a container app: podman as `podman generate systemd
// --new` runs it (cidfile, --replace, --rm, --sdnotify=conmon, Type=notify),
// plus --init so SIGTERM reaches a PID 1 that handles it: stopping takes
// milliseconds instead of the kill timeout. With native activation there is
// no --init: the app must be the process whose PID LISTEN_PID names, and no
// port is published. docs/units.md says why each line is there.
import { formatAddress } from '../manifest/address.js';
import type { App, ContainerRuntime, HealthCheck } from '../manifest/app.js';
import type { Path } from '../manifest/source.js';
import { escapeExecWord, formatCommandLine, specifier, UnitValueError, type Word } from '../unit/escape.js';
import { containerName } from '../unit/names.js';
import type { UnitFile } from '../unit/unitfile.js';
import { field, hostPathWord } from './fields.js';
import type { RenderOptions } from './options.js';
import type { Reach } from './units.js';

/** Whom the app runs as: root (or 0) means the image's own user, with no --user. */
export const ROOT = new Set(['root', '0']);

const DEFAULT_STOP_TIMEOUT_S = 10;
/** systemd waits this much longer than podman before it kills what is left. */
const STOP_MARGIN_S = 60;

/** Where podman writes the container's PID when Reach.pidfile says so (a readiness wait inside its network namespace). */
export const PIDFILE: Word = [specifier('t'), '/', specifier('n'), '.pid'];

export function containerService(unit: UnitFile, app: App, runtime: ContainerRuntime, reach: Reach, options: RenderOptions): void {
  const cidfile: Word = [specifier('t'), '/', specifier('n'), '.ctr-id'];
  const stopTimeout = String(runtime.stopTimeoutS ?? DEFAULT_STOP_TIMEOUT_S);
  // Container storage lives under the runtime directory (%t) for rootless
  // podman: the unit must not start before it is mounted (quadlet does the same).
  unit.add('Unit', 'RequiresMountsFor', '%t/containers');
  unit.add('Service', 'Type', 'notify');
  unit.add('Service', 'NotifyAccess', 'all');
  unit.add('Service', 'Environment', 'PODMAN_SYSTEMD_UNIT=%n');
  // podman 4.3 refuses to start when the cidfile of the previous run is still
  // there; a stale pidfile would name a process that is gone.
  unit.add('Service', 'ExecStartPre', formatCommandLine(['/bin/rm', '-f', cidfile, ...(reach.pidfile ? [PIDFILE] : [])]));
  const args: Word[] = [
    options.podmanPath, 'run', ['--cidfile=', ...cidfile], ...(reach.pidfile ? [['--pidfile=', ...PIDFILE]] : []), '--cgroups=no-conmon', '--rm', '--sdnotify=conmon', '-d', '--replace',
  ];
  if (options.containerLogDriver !== undefined) args.push(`--log-driver=${options.containerLogDriver}`);
  if (app.activation === 'proxy') args.push('--init');
  args.push(`--name=${containerName(app.name)}`);
  args.push(...identity(runtime, options));
  for (const network of reach.networks) args.push(`--network=${network}`);
  // Apps on the same network find each other by app name (aardvark-dns).
  if (reach.networks.length) args.push(`--network-alias=${app.name}`);
  for (const [host, port] of reach.publish) args.push(`--publish=${formatAddress(host)}:${port}`);
  if (runtime.pull) args.push(`--pull=${runtime.pull}`);
  args.push(...checked(['container', 'env'], runtime.env.map(([name, value]) => [`--env=${name}=${value}`, name])));
  runtime.envFiles.forEach((path) => args.push(['--env-file=', ...hostPathWord(path)]));
  // Only the secret's name is written: podman hands its value to the container.
  for (const secret of runtime.secrets) {
    args.push(secret.as === 'env' ? `--secret=${secret.name},type=env,target=${secret.target}` : secret.target === secret.name ? `--secret=${secret.name}` : `--secret=${secret.name},type=mount,target=${secret.target}`);
  }
  for (const volume of runtime.volumes) {
    const rest = `:${volume.container}${volume.options.length ? `:${volume.options.join(',')}` : ''}`;
    args.push(volume.kind === 'named' ? `--volume=${volume.name}${rest}` : ['--volume=', ...hostPathWord(volume.host), rest]);
  }
  for (const tmpfs of runtime.tmpfs) args.push(`--tmpfs=${tmpfs}`);
  // podman 4.3 with --read-only mounts the secret files before /run's tmpfs,
  // on the read-only image, and the start fails ("read-only file system"): a
  // tmpfs of their own at /run/secrets gives them a place.
  const secretFiles = runtime.secrets.some((s) => s.as === 'file' && !s.target.startsWith('/'));
  if (runtime.readOnly && secretFiles && !runtime.tmpfs.some((t) => t.split(':')[0] === '/run/secrets')) args.push('--tmpfs=/run/secrets');
  for (const mount of runtime.mounts) args.push(`--mount=${mount}`);
  for (const device of runtime.devices) args.push(`--device=${device}`);
  if (runtime.readOnly) args.push('--read-only');
  if (runtime.noNewPrivileges) args.push('--security-opt=no-new-privileges');
  for (const cap of runtime.capabilities.drop) args.push(`--cap-drop=${cap}`);
  for (const cap of runtime.capabilities.add) args.push(`--cap-add=${cap}`);
  if (runtime.workingDirectory) args.push(`--workdir=${runtime.workingDirectory}`);
  // JSON: podman reads a JSON list as the exact words of the entrypoint.
  if (runtime.entrypoint) args.push(`--entrypoint=${JSON.stringify(runtime.entrypoint)}`);
  args.push(...checked(['container', 'labels'], runtime.labels.map(([name, value]) => [`--label=${name}=${value}`, name])));
  if (runtime.autoUpdate) args.push(`--label=io.containers.autoupdate=${runtime.autoUpdate}`);
  if (runtime.healthCheck) args.push(...healthArgs(runtime.healthCheck));
  if (runtime.stopTimeoutS !== undefined) args.push(`--stop-timeout=${stopTimeout}`);
  if (runtime.shmSize !== undefined) args.push(`--shm-size=${runtime.shmSize}`);
  if (runtime.resources.memory !== undefined) args.push(`--memory=${runtime.resources.memory}`);
  if (runtime.resources.cpu !== undefined) args.push(`--cpus=${runtime.resources.cpu}`);
  args.push(...checked(['container', 'podmanArgs'], runtime.podmanArgs.map((a, i) => [a, i])));
  args.push(runtime.image, ...checked(['container', 'command'], (runtime.command ?? []).map((a, i) => [a, i])));
  field(['container'], () => unit.add('Service', 'ExecStart', formatCommandLine(args)));
  unit.add('Service', 'ExecStop', formatCommandLine([options.podmanPath, 'stop', '--ignore', '-t', stopTimeout, ['--cidfile=', ...cidfile]]));
  // -v: anonymous volumes (an image's VOLUME) go with the container instead of piling up.
  unit.add('Service', 'ExecStopPost', formatCommandLine([options.podmanPath, 'rm', '-v', '-f', '--ignore', '-t', stopTimeout, ['--cidfile=', ...cidfile]]));
  // podman exits 143 when the container ends on SIGTERM: a scale-down, not a failure.
  unit.add('Service', 'SuccessExitStatus', 143);
  unit.add('Service', 'TimeoutStopSec', (runtime.stopTimeoutS ?? DEFAULT_STOP_TIMEOUT_S) + STOP_MARGIN_S);
}

/** --user and --userns. Rootful podman (the system manager) would run the image's user, often root, as the host's root: default to nobody there. */
function identity(runtime: ContainerRuntime, options: RenderOptions): string[] {
  const args: string[] = [];
  const user = runtime.user ?? (options.scope === 'system' ? '65534:65534' : undefined);
  if (user !== undefined && !ROOT.has(user)) args.push(`--user=${user}`);
  if (runtime.userns === 'keep-id' && !options.rootless) {
    field(['container', 'userns'], () => {
      throw new UnitValueError('keep-id maps your own user into the container, which only rootless podman can do: these units run rootful podman (the system manager, or a user manager of root); use auto, or a user: instead');
    });
  }
  if (runtime.userns) args.push(`--userns=${runtime.userns}`);
  return args;
}

/** podman reads a JSON list in --health-cmd as exact words; CMD-SHELL runs a string in the container's shell. */
function healthArgs(check: HealthCheck): Word[] {
  let command: string[];
  if (typeof check.command === 'string') command = ['CMD-SHELL', check.command];
  else if (check.command.length > 1) command = [...check.command];
  else {
    // One word: podman splits a ["CMD", ...] list on whitespace again.
    const [word] = check.command;
    if (/\s/.test(word!)) field(['container', 'healthCheck', 'command', 0], () => { throw new UnitValueError('a one-word health command cannot contain whitespace (podman would split it): write it as a string or as several words'); });
    command = ['CMD', word!];
  }
  const args: Word[] = [`--health-cmd=${JSON.stringify(command)}`];
  if (check.intervalMs !== undefined) args.push(`--health-interval=${goDuration(check.intervalMs)}`);
  if (check.timeoutMs !== undefined) args.push(`--health-timeout=${goDuration(check.timeoutMs)}`);
  if (check.retries !== undefined) args.push(`--health-retries=${check.retries}`);
  if (check.startPeriodMs !== undefined) args.push(`--health-start-period=${goDuration(check.startPeriodMs)}`);
  return args.map((a) => field(['container', 'healthCheck'], () => (escapeExecWord(a), a)));
}

/** podman reads Go durations: whole milliseconds are exact. */
function goDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** Words of one field, each checked alone first, so a refused value is blamed on the item it came from. */
function checked(path: Path, words: ReadonlyArray<readonly [word: string, key: string | number]>): string[] {
  return words.map(([word, key]) => field([...path, key], () => (escapeExecWord(word), word)));
}
