// App -> unit files. Pure: the same app, backend addresses and links always
// give the same bytes.
//
// Proxy activation (the default), for app NAME:
//   appsd-NAME.socket           listens on the public address; the only unit enabled.
//   appsd-NAME.service          systemd-socket-proxyd, started by the socket on the first
//                               connection; exits after idleTimeout without connections.
//   appsd-NAME-backend.service  the container or process, StopWhenUnneeded=yes: pulled
//                               in by the proxy, stopped when the proxy exits.
// Each further backend port P (`listen: 2222 -> 22`) adds appsd-NAME_P.socket
// and appsd-NAME_P.service in front of the same backend, which stops when the
// last of its proxies has exited.
// An internal app (no listen) is its backend unit alone: the apps that need it
// pull it in (Requires=, After=) and it stops when none of them runs.
// Native activation: the socket starts appsd-NAME.service, which is the app itself
// and receives the listening sockets (LISTEN_FDS).
import { formatAddress, type InetAddress } from '../manifest/address.js';
import { assertNever, type App, type Listener, type Resources, type Runtime } from '../manifest/app.js';
import type { Path } from '../manifest/source.js';
import { formatTimespan } from '../manifest/timespan.js';
import { escapeSpecifiers, formatCommandLine, type Word } from '../unit/escape.js';
import { appUnitNames, containerName, forwardUnitNames, sliceOf } from '../unit/names.js';
import { UnitFile } from '../unit/unitfile.js';
import { containerService, PIDFILE } from './container.js';
import { execService } from './exec.js';
import { field, FieldError } from './fields.js';
import type { RenderOptions } from './options.js';
import { forwardedPorts, mainPort, type Backends } from './ports.js';
import { healthCommand, readinessCommand } from './readiness.js';

export interface RenderedUnit {
  /** Unit name, e.g. appsd-hello.socket. */
  readonly name: string;
  readonly text: string;
}

/** What an app's units depend on besides the app itself: the apps it needs, and the networks it joins. */
export interface Links {
  /** The units that run the apps it needs: its own unit Requires= them and starts After= them. */
  readonly requires: readonly string[];
  /** podman networks the container joins: its own, and appsd's network for apps that need each other. */
  readonly networks: readonly string[];
}

export const NO_LINKS: Links = { requires: [], networks: [] };

/** The key that marks a unit as appsd's, with the app it belongs to. */
export const MARKER_KEY = 'X-Appsd-App';
/** Which appsd (state directory) wrote the unit. */
export const INSTANCE_KEY = 'X-Appsd-Instance';

// Time for podman (or the process) to start, on top of the readiness deadline.
const START_MARGIN_MS = 60_000;

/** An app's units, or why they cannot be written, at the manifest field to blame. */
export type RenderResult =
  | { readonly ok: true; readonly units: RenderedUnit[] }
  | { readonly ok: false; readonly path: Path; readonly message: string };

/**
 * Renders one app. Never throws: a value the escaper refuses (validation
 * should have caught it first) fails this app alone, with the path of the
 * field it came from, and every other app still renders.
 */
export function renderApp(app: App, backends: Backends, links: Links, options: RenderOptions): RenderResult {
  try {
    const names = appUnitNames(app.name);
    const units: Array<[string, UnitFile]> = [];
    switch (app.activation) {
      case 'native':
        units.push([names.socket, socketUnit(app, app.listen, 'listening socket', options)]);
        units.push([names.service, nativeServiceUnit(app, links, options)]);
        break;
      case 'proxy':
        forwardedPorts(app).forEach((port, i) => {
          const backend = backends.get(port);
          if (!backend) throw new Error(`no backend address resolved for port ${port}`);
          const forward = forwardUnitNames(app.name, i === 0 ? undefined : port);
          const listen = app.listen.filter((l) => (l.to ?? mainPort(app)) === port);
          units.push([forward.socket, socketUnit(app, listen, i === 0 ? 'listening socket' : `listening socket for backend port ${port}`, options)]);
          units.push([forward.service, proxyUnit(app, forward.socket, backend, options)]);
        });
        units.push([names.backend, backendUnit(app, backends, links, options)]);
        break;
      default:
        assertNever(app.activation);
    }
    return { ok: true, units: units.map(([name, unit]) => ({ name, text: unit.toString() })) };
  } catch (error) {
    if (error instanceof FieldError) return { ok: false, path: error.path, message: error.message };
    return { ok: false, path: [], message: `cannot render the app's units: ${(error as Error).message}` };
  }
}

function baseUnit(app: App, role: string, options: RenderOptions): UnitFile {
  const unit = new UnitFile();
  unit.comment(`Generated by appsd from ${app.file}`);
  unit.comment('Do not edit: appsd rewrites this file. Change the manifest instead.');
  field(['description'], () => unit.add('Unit', 'Description', escapeSpecifiers(`${app.description ?? app.name}: ${role}`)));
  // No SourcePath=: systemd watches that file's mtime, so touching a
  // manifest (a git checkout does) would mark every unit NeedDaemonReload=yes
  // although nothing changed. The comment above says where the unit came from.
  unit.add('Unit', MARKER_KEY, app.name);
  if (options.instance !== undefined) unit.add('Unit', INSTANCE_KEY, options.instance);
  return unit;
}

function socketUnit(app: App, listen: readonly Listener[], role: string, options: RenderOptions): UnitFile {
  const unit = baseUnit(app, role, options);
  for (const l of listen) field(['listen'], () => unit.add('Socket', l.udp ? 'ListenDatagram' : 'ListenStream', escapeSpecifiers(formatAddress(l.address))));
  if (listen.some((l) => l.address.kind === 'unix')) unit.add('Socket', 'RemoveOnStop', 'yes');
  // Proxy mode: when the app fails to start, reject the connections waiting
  // for it. The clients get an error at once, and the socket is not
  // re-triggered in a loop that would end in trigger-limit-hit (a socket that
  // no longer listens). Not in native mode, where the service takes a while to
  // stop after the app exits: connections arriving meanwhile must wait for the
  // next start, not be flushed.
  if (app.activation === 'proxy') unit.add('Socket', 'FlushPending', 'yes');
  unit.add('Socket', 'Slice', sliceOf(app.name));
  unit.add('Install', 'WantedBy', 'sockets.target');
  return unit;
}

function proxyUnit(app: App, socket: string, backend: InetAddress, options: RenderOptions): UnitFile {
  const names = appUnitNames(app.name);
  const idle = app.idleTimeoutMs === null ? 'never stops on its own' : `stops after ${formatTimespan(app.idleTimeoutMs)} idle`;
  const unit = baseUnit(app, `proxy to ${formatAddress(backend)}, ${idle}`, options);
  // BindsTo (a stronger Requires): if the backend dies, the proxy stops too, and
  // the next connection starts both again instead of forwarding into the void.
  unit.add('Unit', 'BindsTo', names.backend);
  unit.add('Unit', 'After', names.backend);
  unit.add('Unit', 'Requires', socket);
  unit.add('Unit', 'After', socket);
  unit.add('Unit', 'StartLimitIntervalSec', 0);
  const args: Word[] = [options.proxydPath];
  if (app.idleTimeoutMs !== null) args.push(`--exit-idle-time=${formatTimespan(app.idleTimeoutMs)}`);
  if (app.maxConnections !== undefined) args.push(`--connections-max=${app.maxConnections}`);
  args.push(formatAddress(backend));
  unit.add('Service', 'ExecStart', formatCommandLine(args));
  unit.add('Service', 'Slice', sliceOf(app.name));
  return unit;
}

function backendUnit(app: App, backends: Backends, links: Links, options: RenderOptions): UnitFile {
  const addresses = [...backends.values()];
  const role =
    app.listen.length > 0
      ? `backend on ${addresses.map((a) => formatAddress(a)).join(', ')}, started on demand`
      : `internal app${addresses.length ? ` on ${addresses.map((a) => formatAddress(a)).join(', ')}` : ''}, started by the apps that need it`;
  const unit = baseUnit(app, role, options);
  unit.add('Unit', 'StopWhenUnneeded', 'yes');
  // Without this, five cold starts within ten seconds hit systemd's start limit,
  // and the socket then stops listening for good (trigger-limit-hit).
  unit.add('Unit', 'StartLimitIntervalSec', 0);
  requireNeeds(unit, links);
  const reach: Reach = { publish: publishedPorts(app, backends), networks: links.networks, pidfile: listensInside(app, backends) && app.readiness.check === 'tcp' };
  runtimeService(unit, app, app.runtime, reach, options);
  const container = app.runtime.kind === 'container' ? containerName(app.name) : undefined;
  const probes = field(['readiness'], () => readinessCommands(app, backends, options, container));
  if (probes.length) {
    // Lets the readiness wait put its failure message in the unit's status.
    if (!allowsNotifyFromAll(app.runtime)) unit.add('Service', 'NotifyAccess', 'all');
    for (const probe of probes) unit.add('Service', 'ExecStartPost', field(['readiness'], () => formatCommandLine(probe)));
    unit.add('Service', 'TimeoutStartSec', formatTimespan(app.readiness.timeoutMs * probes.length + START_MARGIN_MS));
  }
  unit.add('Service', 'Slice', sliceOf(app.name));
  resourceLimits(unit, app.runtime.resources);
  manifestExtras(unit, app);
  return unit;
}

/**
 * The readiness waits, one per backend port, the main one first: the proxy of
 * every port starts only once the backend answers there. The http check is
 * for the main port; the others are checked for a connection. An internal
 * container with no host address is probed at its address on appsd's network.
 */
function readinessCommands(app: App, backends: Backends, options: RenderOptions, container: string | undefined): Word[][] {
  const probes: Word[][] = [];
  const main = mainPort(app);
  // The health check covers the whole container, wherever it listens (or if it listens nowhere).
  if (app.readiness.check === 'health') {
    const first = [...backends.values()][0];
    return container === undefined ? [] : [healthCommand(app.readiness, first, first ? formatAddress(first) : app.name, options, container)];
  }
  if (listensInside(app, backends) && main !== undefined) {
    const probe = readinessCommand(app.readiness, { kind: 'listening', pidfile: PIDFILE, port: main }, `${app.name}:${main}`, options, container);
    return probe ? [probe] : [];
  }
  [...backends.values()].forEach((address, i) => {
    const readiness = i === 0 || app.readiness.check !== 'http' ? app.readiness : { ...app.readiness, check: 'tcp' as const };
    const probe = readinessCommand(readiness, { kind: 'host', address }, formatAddress(address), options, container);
    if (probe) probes.push(probe);
  });
  return probes;
}

/** An internal container that publishes no port: it is probed inside its own network namespace, through its pidfile. */
function listensInside(app: App, backends: Backends): boolean {
  return app.listen.length === 0 && backends.size === 0 && app.runtime.kind === 'container' && app.runtime.port !== undefined;
}

/** A container's --publish pairs: each backend address with the container port it leads to. */
function publishedPorts(app: App, backends: Backends): Array<readonly [InetAddress, number]> {
  return app.runtime.kind === 'container' ? [...backends].map(([port, address]) => [address, port] as const) : [];
}

/** The apps this one needs start first, each up to its readiness, and are stopped with it (StopWhenUnneeded= on theirs). */
function requireNeeds(unit: UnitFile, links: Links): void {
  for (const need of links.requires) {
    unit.add('Unit', 'Requires', need);
    unit.add('Unit', 'After', need);
  }
}

function nativeServiceUnit(app: App, links: Links, options: RenderOptions): UnitFile {
  const unit = baseUnit(app, 'app, started by its socket', options);
  const names = appUnitNames(app.name);
  unit.add('Unit', 'Requires', names.socket);
  unit.add('Unit', 'After', names.socket);
  unit.add('Unit', 'StartLimitIntervalSec', 0);
  requireNeeds(unit, links);
  runtimeService(unit, app, app.runtime, { publish: [], networks: links.networks, pidfile: false }, options);
  // Without FlushPending, a connection waiting for an app that fails to start
  // triggers the socket again at once; a pause after a failure keeps that retry
  // loop under the socket's trigger limit, so the socket keeps listening.
  unit.add('Service', 'ExecStopPost', formatCommandLine([options.bashPath, '-c', '[ "$SERVICE_RESULT" = success ] || sleep 1']));
  unit.add('Service', 'Slice', sliceOf(app.name));
  resourceLimits(unit, app.runtime.resources);
  manifestExtras(unit, app);
  return unit;
}

/** How a container is reached: the host ports it publishes (behind the proxy), and the networks it joins. */
export interface Reach {
  readonly publish: ReadonlyArray<readonly [host: InetAddress, containerPort: number]>;
  readonly networks: readonly string[];
  /** Whether podman writes the container's PID to PIDFILE, for a readiness wait inside its network namespace. */
  readonly pidfile: boolean;
}

/** The [Service] lines that run the app itself. */
function runtimeService(unit: UnitFile, app: App, runtime: Runtime, reach: Reach, options: RenderOptions): void {
  switch (runtime.kind) {
    case 'container':
      return containerService(unit, app, runtime, reach, options);
    case 'exec':
      return execService(unit, runtime, options);
    default:
      return assertNever(runtime);
  }
}

/** Whether the runtime's service already takes notifications from any process (containers do, for conmon). */
function allowsNotifyFromAll(runtime: Runtime): boolean {
  switch (runtime.kind) {
    case 'container':
      return true;
    case 'exec':
      return false;
    default:
      return assertNever(runtime);
  }
}

function resourceLimits(unit: UnitFile, resources: Resources): void {
  if (resources.memory !== undefined) unit.add('Service', 'MemoryMax', resources.memory);
  if (resources.cpu !== undefined) unit.add('Service', 'CPUQuota', `${Math.round(resources.cpu * 100)}%`);
}

/**
 * The manifest's `unit:` keys, after appsd's own lines: for a key systemd
 * reads once, the later line wins, as a drop-in would. `%` is taken literally.
 */
function manifestExtras(unit: UnitFile, app: App): void {
  for (const section of ['Unit', 'Service'] as const) {
    for (const [key, value] of app.unit[section]) field(['unit', section, key], () => unit.add(section, key, escapeSpecifiers(value)));
  }
}
