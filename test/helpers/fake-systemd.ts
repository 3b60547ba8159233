// A fake systemd manager behind the SystemdPort interface, for unit tests of
// the reconciler, execute and the controller. It keeps units' states the way
// systemd would after each call, records every call in order, and fails the
// calls a test asks it to.
import type { FinishedJob, ServiceDetails, SystemdPort, UnitStatus } from '../../src/plan/systemd-port.js';
import { JobFailedError } from '../../src/plan/systemd-port.js';

type Method = 'listUnits' | 'unitFileState' | 'reload' | 'enable' | 'disable' | 'resetFailed' | 'start' | 'stop' | 'restart';

export interface FakeUnit {
  activeState: string;
  subState: string;
  enablement?: string;
}

export class FakeSystemd implements SystemdPort {
  /** Every call, as `method unit...`, in order. */
  readonly calls: string[] = [];
  readonly units = new Map<string, FakeUnit>();
  /** Return an error to make a call fail (checked before it takes effect). */
  failWhen: (method: Method, units: readonly string[]) => Error | undefined = () => undefined;
  closed = false;
  /** Load states other than `loaded`, as systemd reports a unit it refuses (bad-setting, error). */
  readonly loadStates = new Map<string, string>();

  private act(method: Method, units: readonly string[]): void {
    this.calls.push([method, ...units].join(' '));
    const error = this.failWhen(method, units);
    if (error) throw error;
  }

  private unit(name: string): FakeUnit {
    let u = this.units.get(name);
    if (!u) this.units.set(name, (u = { activeState: 'inactive', subState: 'dead' }));
    return u;
  }

  async listUnits(names: readonly string[]): Promise<Map<string, UnitStatus>> {
    this.act('listUnits', []);
    const out = new Map<string, UnitStatus>();
    for (const name of names) {
      const u = this.units.get(name);
      const loadState = this.loadStates.get(name) ?? (u ? 'loaded' : 'not-found');
      out.set(name, { name, loadState, activeState: u?.activeState ?? 'inactive', subState: u?.subState ?? 'dead' });
    }
    return out;
  }

  async unitFileState(name: string): Promise<string | undefined> {
    this.act('unitFileState', [name]);
    return this.units.get(name)?.enablement ?? (this.units.has(name) ? 'disabled' : undefined);
  }

  async reload(): Promise<void> {
    this.act('reload', []);
  }

  async enable(names: readonly string[]): Promise<void> {
    this.act('enable', names);
    for (const n of names) this.unit(n).enablement = 'enabled';
  }

  async disable(names: readonly string[]): Promise<void> {
    this.act('disable', names);
    for (const n of names) this.unit(n).enablement = 'disabled';
  }

  async resetFailed(name: string): Promise<void> {
    this.act('resetFailed', [name]);
    const u = this.unit(name);
    if (u.activeState === 'failed') Object.assign(u, { activeState: 'inactive', subState: 'dead' });
  }

  private job(method: 'start' | 'stop' | 'restart', name: string, state: string): void {
    try {
      this.act(method, [name]);
    } catch (error) {
      if (method !== 'stop') Object.assign(this.unit(name), { activeState: 'failed', subState: 'failed' });
      throw error;
    }
    Object.assign(this.unit(name), { activeState: state, subState: state === 'active' ? 'running' : 'dead' });
  }

  async start(name: string): Promise<void> {
    this.job('start', name, 'active');
  }

  async stop(name: string): Promise<void> {
    this.job('stop', name, 'inactive');
  }

  async restart(name: string): Promise<void> {
    this.job('restart', name, 'active');
  }

  /** What serviceDetails answers for a unit, when a test sets it. */
  readonly details = new Map<string, ServiceDetails>();

  async serviceDetails(unit?: UnitStatus): Promise<ServiceDetails> {
    return (unit && this.details.get(unit.name)) ?? { activeEnteredAt: undefined, statusText: '', result: 'success' };
  }

  private readonly jobListeners = new Set<(job: FinishedJob) => void>();

  async onJobFinished(listener: (job: FinishedJob) => void): Promise<void> {
    this.jobListeners.add(listener);
  }

  /** Tells the listeners that a job finished, as systemd's JobRemoved signal would. */
  finishJob(unit: string, result = 'done'): void {
    for (const listener of this.jobListeners) listener({ unit, result });
  }

  close(): void {
    this.closed = true;
  }

  /** Forget the calls so far. */
  reset(): void {
    this.calls.length = 0;
  }
}

export function jobFailed(unit: string, operation = 'start'): JobFailedError {
  return new JobFailedError(unit, operation, 'failed');
}
