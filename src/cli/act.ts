// `appsd restart|stop|start NAME`: act on one app's running state, never on
// its units' definitions (that is apply's job). The socket keeps listening
// throughout, so an app stopped here starts again on its next connection.
//   stop     scale to zero now: stop the unit that runs the app; its proxies
//            (BindsTo=) and the apps that need it (Requires=) stop with it
//   start    warm it up before traffic: start its (main) proxy, which pulls in
//            the backend, then open and close one connection through its
//            socket, so that the proxy exits after idleTimeout as after any
//            connection; a native app's service is started as is
//   restart  stop, then start on the next connection, or at once with --now
import { InputError } from '../errors.js';
import { connect } from 'node:net';
import { StateStore } from '../fs/state-store.js';
import type { ListenAddress } from '../manifest/address.js';
import { forwardedPorts, mainPort } from '../render/ports.js';
import { JobFailedError } from '../plan/systemd-port.js';
import type { App } from '../manifest/app.js';
import { nameFromFile } from '../manifest/normalize.js';
import { runUnit } from '../render/desired.js';
import { appUnitNames } from '../unit/names.js';
import { UsageError, type Locations } from './context.js';
import { EXIT_OK } from './exit-codes.js';
import { loadAppsDir } from './load-apps.js';
import { notAnAppHere } from './status.js';
import { connectManager } from './systemd.js';

export type Act = 'restart' | 'stop' | 'start';

export async function actCommand(act: Act, locations: Locations, name: string, now: boolean): Promise<number> {
  const load = await loadAppsDir(locations.appsDir, locations.host);
  const inventory = await new StateStore(locations.stateDir).read();
  const manifests = new Map(load.manifests.map((m) => [m.name ?? nameFromFile(m.file), m] as const));
  const known = [...new Set([...Object.keys(inventory.apps), ...manifests.keys()])].sort();
  if (!known.includes(name)) throw notAnAppHere(name, known, load.skipped);
  const entry = inventory.apps[name];
  if (!entry) throw new UsageError(`${name} is not applied yet: run appsd apply first`);
  const app = manifests.get(name)?.app;
  const names = appUnitNames(name);
  // What runs the app: from its manifest, or (an invalid manifest) from the units it has.
  const worker = app ? runUnit(app) : entry.units.includes(names.backend) ? names.backend : names.service;
  const starting = act === 'start' || (act === 'restart' && now);
  const unit = starting ? starter(name, app, entry.units) : undefined;
  // Refused before anything is stopped: restart --now of an internal app must not stop it (and what needs it) first.
  if (starting && unit === undefined) {
    const needers = load.apps.filter((a) => a.needs.includes(name)).map((a) => a.name);
    throw new UsageError(`${name} is an internal app: it runs while an app that needs it runs${needers.length ? `; start ${needers.join(' or ')} instead` : ''}`);
  }
  const manager = await connectManager(locations.scope, false);
  try {
    const say = (text: string) => process.stdout.write(`${text}\n`);
    if (act === 'stop' || act === 'restart') {
      try {
        await manager.stop(worker);
      } catch (error) {
        // systemd cancels a stop when a connection starts the unit meanwhile.
        if (error instanceof JobFailedError) throw new InputError(`${name} did not stop (${worker}: job ${error.result}): a connection started it again meanwhile`);
        throw error;
      }
      const dependents = load.apps.filter((a) => a.needs.includes(name)).map((a) => a.name);
      say(`stopped ${worker}${dependents.length ? ` (and what needs it: ${dependents.join(', ')})` : ''}; the socket keeps listening`);
    }
    if (unit !== undefined) {
      try {
        await manager.start(unit);
      } catch (error) {
        // systemd says only that the job failed: status says why.
        if (error instanceof JobFailedError) throw new InputError(`${name} did not start (${unit}: job ${error.result}): appsd status ${name} says why`);
        throw error;
      }
      // A proxy arms its idle timer when a connection closes, not before: one
      // connection through the socket makes the warmed-up app idle out as usual.
      const address = app?.activation === 'proxy' ? app.listen.find((l) => !l.udp && (l.to === undefined || forwardsToMain(app, l)))?.address : undefined;
      if (address) await touch(address);
      say(`started ${unit}${unit === worker ? '' : ` (and ${worker} with it)`}`);
    } else if (act === 'restart') {
      say('the next connection starts it again (--now starts it at once)');
    }
    return EXIT_OK;
  } finally {
    manager.close();
  }
}

/** Whether a listen entry is one of the main proxy's (no `-> PORT`, or to the main port). */
function forwardsToMain(app: App, l: App['listen'][number]): boolean {
  const ports = forwardedPorts(app);
  return (l.to ?? mainPort(app)) === ports[0];
}

/** Opens one connection to a listening address and closes it (errors ignored: the app is started either way). */
function touch(address: ListenAddress): Promise<void> {
  return new Promise((resolve) => {
    const target =
      address.kind === 'unix' ? { path: address.path }
      : { host: address.host === undefined || address.host === '0.0.0.0' ? '127.0.0.1' : address.host === '::' ? '::1' : address.host, port: address.port };
    const socket = connect(target);
    const done = () => {
      socket.destroy();
      resolve();
    };
    socket.setTimeout(5000, done);
    socket.once('connect', () => socket.end(done));
    socket.once('error', done);
  });
}

/**
 * What to start to warm an app up: its main proxy (the backend alone would be
 * stopped at once, StopWhenUnneeded=yes), or a native app's service. An
 * internal app has nothing of its own that holds it up: undefined.
 */
function starter(name: string, app: App | undefined, units: readonly string[]): string | undefined {
  const names = appUnitNames(name);
  if (app?.activation === 'native' || (!app && !units.includes(names.backend))) return names.service;
  if (app ? app.listen.length === 0 : !units.some((u) => u.endsWith('.socket'))) return undefined;
  // The proxy with the main port: appsd-NAME.service, or the first per-port proxy.
  return units.includes(names.service) ? names.service : units.find((u) => u.startsWith(`appsd-${name}_`) && u.endsWith('.service'));
}
