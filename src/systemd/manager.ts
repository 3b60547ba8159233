// Adapter: the systemd manager over D-Bus (dbus-next). Plain method calls
// rather than proxy objects: a proxy object costs an introspection round trip
// (about 50 ms) before the first call, and appsd only needs a few methods.
import dbus, { type Message as DBusMessage, type MessageBus } from 'dbus-next';
import { join } from 'node:path';
import { JobFailedError, SystemdUnavailableError, type FinishedJob, type ServiceDetails, type SystemdPort, type UnitStatus } from '../plan/systemd-port.js';

export { JobFailedError, SystemdUnavailableError } from '../plan/systemd-port.js';

const { Message, MessageType } = dbus;

const SYSTEMD = 'org.freedesktop.systemd1';
const MANAGER_PATH = '/org/freedesktop/systemd1';
const MANAGER = 'org.freedesktop.systemd1.Manager';

// systemd's own D-Bus timeout; a call that takes longer means the manager or
// the bus is gone, and the controller should reconnect rather than hang.
const CALL_TIMEOUT_MS = 25_000;
// A daemon-reload takes as long as systemd needs to load every unit again:
// seconds with thousands of units (docs/benchmarks.md, Growth). systemctl
// daemon-reload waits up to 6 minutes for it; so does appsd, rather than
// counting a reload still under way as failed and asking for another.
const RELOAD_TIMEOUT_MS = 6 * 60_000;
/** States in which a unit has processes (and a cgroup) to account. */
const RUNNING = new Set(['active', 'activating', 'deactivating', 'reloading']);
// Stopping a container may take podman's stop timeout and more.
const JOB_TIMEOUT_MS = 5 * 60_000;

export type JobMode = 'replace' | 'fail';

export interface ConnectOptions {
  readonly scope: 'user' | 'system';
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
}

/** The D-Bus address appsd uses for a scope, and how to explain a failure to reach it. */
export function busAddress(scope: 'user' | 'system', env: NodeJS.ProcessEnv = process.env): string {
  if (scope === 'system') return env['DBUS_SYSTEM_BUS_ADDRESS'] ?? 'unix:path=/run/dbus/system_bus_socket';
  if (env['DBUS_SESSION_BUS_ADDRESS']) return env['DBUS_SESSION_BUS_ADDRESS'];
  const runtime = env['XDG_RUNTIME_DIR'];
  if (!runtime) throw new SystemdUnavailableError('neither DBUS_SESSION_BUS_ADDRESS nor XDG_RUNTIME_DIR is set, so the user manager cannot be found');
  return `unix:path=${join(runtime, 'bus')}`;
}

export class SystemdManager implements SystemdPort {
  /** Calls made, by method: the tests and the benchmark count reloads and writes. */
  readonly calls = new Map<string, number>();
  private readonly finishedJobs = new Map<string, string>();
  private readonly jobWaiters = new Map<string, (result: string) => void>();
  /** One subscription per connection, shared by every caller: a second caller waits for the first one's, instead of racing past it. */
  private subscribed: Promise<void> | undefined;
  private readonly jobListeners = new Set<(job: FinishedJob) => void>();
  /** Set once the connection is lost: every call then fails at once, and the caller reconnects. */
  private lost: Error | undefined;
  private readonly pending = new Set<(error: Error) => void>();

  private constructor(private readonly bus: MessageBus) {
    bus.on('message', (msg: DBusMessage) => this.onMessage(msg));
  }

  /** A lost connection fails the calls in flight instead of leaving them waiting forever. */
  private watchConnection(address: string): void {
    const lose = (why: string) => {
      if (this.lost) return;
      this.lost = new SystemdUnavailableError(`lost the connection to ${address}: ${why}`);
      for (const reject of this.pending) reject(this.lost);
      this.pending.clear();
    };
    this.bus.on('error', (error: Error) => lose(error.message));
    // dbus-next does not re-emit the stream's end; its connection object does.
    (this.bus as unknown as { _connection?: NodeJS.EventEmitter })._connection?.on('end', () => lose('the bus closed the connection'));
  }

  static async connect(options: ConnectOptions): Promise<SystemdManager> {
    const address = busAddress(options.scope, options.env);
    const timeoutMs = options.timeoutMs ?? 5000;
    let bus: MessageBus;
    try {
      bus = options.scope === 'system' && !options.env?.['DBUS_SYSTEM_BUS_ADDRESS'] ? dbus.systemBus() : dbus.sessionBus({ busAddress: address });
    } catch (error) {
      throw new SystemdUnavailableError(`cannot connect to ${address}: ${(error as Error).message}`);
    }
    const manager = new SystemdManager(bus);
    const failed = new Promise<never>((_, reject) => {
      bus.once('error', (error: Error) => reject(new SystemdUnavailableError(`cannot connect to ${address}: ${error.message}`)));
      setTimeout(() => reject(new SystemdUnavailableError(`no answer from ${address} within ${timeoutMs} ms`)), timeoutMs).unref();
    });
    try {
      await Promise.race([manager.call('GetDefaultTarget', '', []), failed]);
    } catch (error) {
      bus.disconnect();
      if (error instanceof SystemdUnavailableError) throw error;
      throw new SystemdUnavailableError(`the systemd manager does not answer on ${address}: ${(error as Error).message}`);
    }
    manager.watchConnection(address);
    return manager;
  }

  close(): void {
    this.bus.disconnect();
  }

  private call(member: string, signature: string, body: unknown[], timeoutMs = CALL_TIMEOUT_MS): Promise<unknown[]> {
    this.calls.set(member, (this.calls.get(member) ?? 0) + 1);
    return this.send(new Message({ destination: SYSTEMD, path: MANAGER_PATH, interface: MANAGER, member, signature, body }), member, timeoutMs);
  }

  private async send(message: DBusMessage, what: string, timeoutMs = CALL_TIMEOUT_MS): Promise<unknown[]> {
    if (this.lost) throw this.lost;
    let timer: NodeJS.Timeout | undefined;
    let fail!: (error: Error) => void;
    const failed = new Promise<never>((_, reject) => {
      fail = reject;
      timer = setTimeout(() => reject(new SystemdUnavailableError(`${what}: no answer from systemd within ${timeoutMs / 1000} s`)), timeoutMs);
      // The timer must not keep the process alive: a command that already
      // failed (the bus is unreachable) exits at once instead of waiting it out.
      timer.unref();
    });
    this.pending.add(fail);
    try {
      const reply = await Promise.race([this.bus.call(message), failed]);
      return reply?.body ?? [];
    } catch (error) {
      // The bus's own failures mean the manager is unreachable for now: a
      // transient error, so the controller reconnects and retries.
      const type = (error as { type?: string }).type;
      if (type !== undefined && BUS_FAILURES.has(type)) throw new SystemdUnavailableError(`${what}: ${type}: ${(error as Error).message}`);
      throw error;
    } finally {
      clearTimeout(timer);
      this.pending.delete(fail);
    }
  }

  async serviceDetails(unit: UnitStatus): Promise<ServiceDetails> {
    if (!unit.path) return { activeEnteredAt: undefined, statusText: '', result: '' };
    // One Get per property, all in flight at once: a GetAll of the Service
    // interface is some 250 properties, and decoding them (dbus-next, in
    // JavaScript) cost `appsd status` more than all of its own work.
    const [u, s] = await Promise.all([
      this.someProperties(unit.path, 'org.freedesktop.systemd1.Unit', ['ActiveEnterTimestamp', 'ActiveEnterTimestampMonotonic', 'InactiveExitTimestampMonotonic', 'StateChangeTimestamp']),
      // Memory, CPU and the cgroup only of a unit that runs: a stopped one has
      // none (systemd answers "not accounted"), and each Get costs a cold
      // command's start-up about half a millisecond of marshalling.
      this.someProperties(unit.path, 'org.freedesktop.systemd1.Service', [
        'ExecMainCode',
        'ExecMainStatus',
        'StatusText',
        'Result',
        ...(RUNNING.has(unit.activeState) ? ['MemoryCurrent', 'CPUUsageNSec', 'ControlGroup'] : []),
      ]),
    ]);
    const us = (v: unknown) => (typeof v === 'bigint' ? v : 0n);
    // Timestamps are uint64 microseconds, 0 meaning never; counters are uint64 max when not accounted.
    const ms = (v: unknown) => (us(v) > 0n ? Number(us(v) / 1000n) : undefined);
    const counter = (v: unknown) => (typeof v === 'bigint' && v !== 0xffffffffffffffffn ? Number(v) : undefined);
    const entered = us(u['ActiveEnterTimestampMonotonic']);
    const left = us(u['InactiveExitTimestampMonotonic']);
    // ExecMainCode: CLD_EXITED 1, CLD_KILLED 2, CLD_DUMPED 3 (0: not run yet).
    const code = Number(s['ExecMainCode'] ?? 0);
    const status = Number(s['ExecMainStatus'] ?? 0);
    const stateChangedAt = ms(u['StateChangeTimestamp']);
    const memoryBytes = counter(s['MemoryCurrent']);
    const cpuNs = counter(s['CPUUsageNSec']);
    return {
      activeEnteredAt: ms(u['ActiveEnterTimestamp']),
      ...(stateChangedAt !== undefined && { stateChangedAt }),
      ...(entered > 0n && left > 0n && entered >= left && { lastStartMs: Number(entered - left) / 1000 }),
      statusText: String(s['StatusText'] ?? ''),
      result: String(s['Result'] ?? ''),
      ...(code === 1 ? { exit: { status } } : code === 2 || code === 3 ? { exit: { signal: status } } : {}),
      ...(typeof s['ControlGroup'] === 'string' && s['ControlGroup'] !== '' && { controlGroup: s['ControlGroup'] }),
      ...(memoryBytes !== undefined && { memoryBytes }),
      ...(cpuNs !== undefined && { cpuNs }),
    };
  }

  /** These properties of one interface of a unit object, by name; one this systemd does not have is left out, as GetAll would. */
  private async someProperties(path: string, iface: string, names: readonly string[]): Promise<Record<string, unknown>> {
    const values = await Promise.all(
      names.map((name) =>
        this.property(path, iface, name).catch((error: unknown) => {
          if ((error as { type?: string }).type === 'org.freedesktop.DBus.Error.UnknownProperty') return undefined;
          throw error;
        }),
      ),
    );
    return Object.fromEntries(names.flatMap((name, i) => (values[i] === undefined ? [] : [[name, values[i]]])));
  }

  /** One property of a unit object, e.g. ('org.freedesktop.systemd1.Unit', 'ActiveEnterTimestamp'). */
  private async property(path: string, iface: string, name: string): Promise<unknown> {
    const [variant] = (await this.send(
      new Message({ destination: SYSTEMD, path, interface: 'org.freedesktop.DBus.Properties', member: 'Get', signature: 'ss', body: [iface, name] }),
      `Get ${name}`,
    )) as [{ value: unknown }];
    return variant.value;
  }

  async listUnits(names: readonly string[]): Promise<Map<string, UnitStatus>> {
    const result = new Map<string, UnitStatus>();
    if (names.length === 0) return result;
    const [units] = (await this.call('ListUnitsByNames', 'as', [names])) as [Array<[string, string, string, string, string, string, string]>];
    for (const [name, , loadState, activeState, subState, , path] of units) result.set(name, { name, loadState, activeState, subState, path });
    return result;
  }

  /** enabled, disabled, static, ... or undefined when systemd knows no such file. */
  async unitFileState(name: string): Promise<string | undefined> {
    try {
      const [state] = (await this.call('GetUnitFileState', 's', [name])) as [string];
      return state;
    } catch (error) {
      if (isDBusError(error, 'org.freedesktop.DBus.Error.FileNotFound')) return undefined;
      throw error;
    }
  }

  async reload(): Promise<void> {
    await this.call('Reload', '', [], RELOAD_TIMEOUT_MS);
  }

  async enable(names: readonly string[]): Promise<void> {
    await this.call('EnableUnitFiles', 'asbb', [names, false, true]);
  }

  async disable(names: readonly string[]): Promise<void> {
    await this.call('DisableUnitFiles', 'asb', [names, false]);
  }

  async resetFailed(name: string): Promise<void> {
    try {
      await this.call('ResetFailedUnit', 's', [name]);
    } catch (error) {
      if (!isDBusError(error, 'org.freedesktop.systemd1.NoSuchUnit')) throw error;
    }
  }

  start(name: string): Promise<void> {
    return this.job('StartUnit', name, 'start');
  }

  restart(name: string): Promise<void> {
    return this.job('RestartUnit', name, 'restart');
  }

  /** Stopping a unit systemd does not know is a success: it is not running. */
  async stop(name: string): Promise<void> {
    try {
      await this.job('StopUnit', name, 'stop');
    } catch (error) {
      if (!isDBusError(error, 'org.freedesktop.systemd1.NoSuchUnit')) throw error;
    }
  }

  /** Runs a job and waits for it to finish: systemd answers the call as soon as the job is queued. */
  private async job(member: string, name: string, operation: string): Promise<void> {
    await this.subscribe();
    const [jobPath] = (await this.call(member, 'ss', [name, 'replace'])) as [string];
    const result = await this.jobResult(jobPath);
    if (result !== 'done') throw new JobFailedError(name, operation, result);
  }

  private jobResult(jobPath: string): Promise<string> {
    // JobRemoved can arrive before the call's reply: it is kept until asked for.
    const early = this.finishedJobs.get(jobPath);
    if (early !== undefined) {
      this.finishedJobs.delete(jobPath);
      return Promise.resolve(early);
    }
    return new Promise((resolve, reject) => {
      const fail = (error: Error) => {
        clearTimeout(timer);
        this.jobWaiters.delete(jobPath);
        reject(error);
      };
      const timer = setTimeout(() => fail(new SystemdUnavailableError(`job ${jobPath} did not finish within ${JOB_TIMEOUT_MS / 1000} s`)), JOB_TIMEOUT_MS);
      this.pending.add(fail);
      this.jobWaiters.set(jobPath, (result) => {
        clearTimeout(timer);
        this.pending.delete(fail);
        resolve(result);
      });
    });
  }

  async onJobFinished(listener: (job: FinishedJob) => void): Promise<void> {
    await this.subscribe();
    this.jobListeners.add(listener);
  }

  private subscribe(): Promise<void> {
    // A failed subscription is tried again by the next caller.
    this.subscribed ??= this.addJobMatch().catch((error: unknown) => {
      this.subscribed = undefined;
      throw error;
    });
    return this.subscribed;
  }

  private async addJobMatch(): Promise<void> {
    await this.send(
      new Message({
        destination: 'org.freedesktop.DBus',
        path: '/org/freedesktop/DBus',
        interface: 'org.freedesktop.DBus',
        member: 'AddMatch',
        signature: 's',
        body: [`type='signal',sender='${SYSTEMD}',path='${MANAGER_PATH}',interface='${MANAGER}',member='JobRemoved'`],
      }),
      'AddMatch',
    );
    await this.call('Subscribe', '', []);
  }

  private onMessage(msg: DBusMessage): void {
    if (msg.type !== MessageType.SIGNAL || msg.interface !== MANAGER || msg.member !== 'JobRemoved') return;
    const [, jobPath, unit, result] = msg.body as [number, string, string, string];
    for (const listener of this.jobListeners) {
      // A listener's failure is its own: it must not cost appsd the job's result.
      try {
        listener({ unit, result });
      } catch {
        // ignored
      }
    }
    const waiter = this.jobWaiters.get(jobPath);
    if (waiter) {
      this.jobWaiters.delete(jobPath);
      waiter(result);
    } else {
      this.finishedJobs.set(jobPath, result);
      // Only jobs we are about to ask for matter; forget others' after a while.
      if (this.finishedJobs.size > 1000) this.finishedJobs.delete(this.finishedJobs.keys().next().value!);
    }
  }
}

const BUS_FAILURES = new Set([
  'org.freedesktop.DBus.Error.NoReply',
  'org.freedesktop.DBus.Error.Disconnected',
  'org.freedesktop.DBus.Error.ServiceUnknown',
  'org.freedesktop.DBus.Error.NameHasNoOwner',
  'org.freedesktop.DBus.Error.Timeout',
  'org.freedesktop.DBus.Error.TimedOut',
  'org.freedesktop.DBus.Error.LimitsExceeded',
]);

export function isDBusError(error: unknown, type: string): boolean {
  return typeof error === 'object' && error !== null && (error as { type?: string }).type === type;
}
