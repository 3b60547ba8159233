// `appsd watch`: the controller in the foreground until SIGTERM or SIGINT.
import { Controller } from '../controller/controller.js';
import { ControllerAlreadyRunning } from '../controller/status-socket.js';
import { workTreeOf } from '../controller/git.js';
import { leanHeap } from '../controller/heap.js';
import { createLogger, detectLogFormat, NOTICE } from '../controller/log.js';
import { renderOptionsFor } from '../render/options.js';
import { resolveLocations, UsageError, type LocationFlags, type Locations } from './context.js';
import { EXIT_OK } from './exit-codes.js';
import { checkAppsDir } from './load-apps.js';
import { displayPath } from './output.js';
import { formatAddress } from '../manifest/address.js';
import { parseMetricsAddress } from '../metrics/server.js';
import { startSandbox, userManagerReachable, type SandboxMode, type Sandbox } from './sandbox.js';

export interface WatchOptions {
  readonly resyncMs: number;
  readonly pullMs?: number;
  readonly verbose: boolean;
  readonly sandbox: SandboxMode;
  readonly debounceMs: number;
  /** --metrics ADDR, as given. */
  readonly metrics?: string;
}

export async function watchCommand(flags: LocationFlags, given: Locations, options: WatchOptions): Promise<number> {
  const metrics = options.metrics === undefined ? undefined : parseMetricsAddress(options.metrics);
  if (metrics && !metrics.ok) throw new UsageError(`--metrics: ${metrics.reason}`);
  await checkAppsDir(given.appsDir);
  if (options.pullMs !== undefined && !(await workTreeOf(given.appsDir))) {
    throw new UsageError(`--pull: ${given.appsDir} is not inside a git work tree`);
  }
  // A long-running process: a heap close to what is live (controller/heap.ts).
  leanHeap();
  const log = createLogger(process.stderr, detectLogFormat(process.stderr), options.verbose);
  let sandbox: Sandbox | undefined;
  let locations = given;
  if (options.sandbox === 'always' || (options.sandbox === 'auto' && given.scope === 'user' && !(await userManagerReachable()))) {
    if (flags.system) throw new UsageError('--sandbox runs a user manager; it does not go with --system');
    sandbox = await startSandbox(given.appsDir);
    // Defaults now point into the sandbox; explicit flags still win.
    locations = resolveLocations(flags);
    const why = options.sandbox === 'always' ? '--sandbox' : 'no systemd user manager to use here';
    log.log(NOTICE, [
      `${why}: started a private one for this session (${sandbox.manager.root})`,
      `  apps answer on the addresses in their manifests (listed below once applied)`,
      `  status:  env $(cat ${sandbox.envFile}) npx appsd status`,
      `  Ctrl-C stops appsd, the private manager and every app it started`,
    ].join('\n'));
  }
  const controller = new Controller({
    appsDir: locations.appsDir,
    unitDir: locations.unitDir,
    stateDir: locations.stateDir,
    scope: locations.scope,
    renderOptions: renderOptionsFor(locations.scope, locations.stateDir),
    log,
    debounceMs: options.debounceMs,
    burstDebounceMs: Math.max(options.debounceMs * 8, 200),
    maxDelayMs: Math.max(options.debounceMs * 80, 2000),
    resyncMs: options.resyncMs,
    ...(options.pullMs !== undefined && { pullMs: options.pullMs }),
    ...(metrics?.ok && { metrics: metrics.value }),
    ...(given.host && { host: given.host }),
    display: (file) => displayPath(file),
  });
  // Signal handlers first: a SIGHUP during start-up must not kill the process
  // (its default action), and a SIGTERM must wait for the first pass.
  let started = false;
  let stopping = false;
  let finished!: () => void;
  const done = new Promise<void>((resolve) => (finished = resolve));
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.log(NOTICE, `${signal}: finishing the pass in flight, then exiting`);
    void startup
      .catch(() => {})
      .then(() => controller.stop())
      .then(() => sandbox?.manager.stop())
      .then(finished);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  let hangupDuringStart = false;
  process.on('SIGHUP', () => {
    if (stopping) return;
    if (started) void controller.hangup();
    else hangupDuringStart = true;
  });
  const startup = controller.start();
  try {
    await startup;
    started = true;
    if (hangupDuringStart && !stopping) void controller.hangup();
  } catch (error) {
    await sandbox?.manager.stop();
    if (error instanceof ControllerAlreadyRunning) throw new UsageError(error.message);
    throw error;
  }
  const addresses = controller.apps.map((app) => (app.listen.length ? `${app.name} on ${app.listen.map((l) => `${l.udp ? 'udp ' : ''}${formatAddress(l.address)}`).join(', ')}` : `${app.name} (internal)`));
  if (addresses.length) log.log(NOTICE, `apps: ${addresses.join('; ')}`);
  await done;
  return EXIT_OK;
}
