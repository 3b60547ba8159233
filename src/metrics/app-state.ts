// Each app's state and memory at scrape time, classified exactly as `appsd
// status` does (status/app-status.ts), from one ListUnitsByNames call and
// the details of the units that run the apps. Details cost two GetAll calls
// per unit; a unit at rest (inactive) keeps its details until a job touches
// it, so a steady scrape of many scaled-to-zero apps asks only about the
// units that run.
import type { LoadedManifest } from '../manifest/load.js';
import type { ServiceDetails, SystemdPort, UnitStatus } from '../plan/systemd-port.js';
import { appStatus, detailsWanted, type AppState } from '../status/app-status.js';
import { processUsages, type ProcessUsage } from '../systemd/process-usage.js';

/** Every state appStatus can give, so each app exports all of them (1 for its state, 0 for the others). */
const STATES: Record<AppState, true> = { running: true, starting: true, 'scaled-to-zero': true, listening: true, stopped: true, failed: true, missing: true };
export const APP_STATES = Object.keys(STATES) as AppState[];

export interface ObservedApp {
  readonly name: string;
  /** The app's manifest in the last pass (valid or not). */
  readonly manifest: LoadedManifest | undefined;
  /** Its units, as rendered in the last pass. */
  readonly units: readonly string[];
}

export interface AppObservation {
  readonly name: string;
  readonly state: AppState;
  /** The running unit's MemoryCurrent, or the RSS of its processes where systemd does not account memory; undefined when it does not run. */
  readonly memoryBytes: number | undefined;
}

export class AppStateReader {
  /** Details of units last seen inactive, by unit name. */
  private readonly atRest = new Map<string, ServiceDetails>();
  /** Jobs seen (any unit): details read while a job finished are not kept, they may be from before it. */
  private jobs = 0;
  private readonly attached = new WeakSet<SystemdPort>();

  /** Forgets cached details when a job touches their unit; a new connection forgets all (jobs may have been missed). */
  async attach(port: SystemdPort): Promise<void> {
    if (this.attached.has(port)) return;
    this.atRest.clear();
    await port.onJobFinished((job) => {
      this.jobs++;
      this.atRest.delete(job.unit);
    });
    this.attached.add(port);
  }

  async observe(port: SystemdPort, apps: readonly ObservedApp[]): Promise<AppObservation[]> {
    // Counted before the unit states are read: a job after that may have changed what they say.
    const jobsBefore = this.jobs;
    const units = await port.listUnits([...new Set(apps.flatMap((a) => a.units))]);
    const wanted = apps.flatMap((a) => detailsWanted(a.name, a.manifest, units));
    const details = new Map<string, ServiceDetails>(await Promise.all(wanted.map(async (u) => [u.name, await this.details(port, u, jobsBefore)] as const)));
    // Where systemd does not account memory (a cgroup v1 user manager): the running units' processes, one scan of /proc for all.
    const unaccounted = [...details].filter(([u, d]) => units.get(u)?.activeState === 'active' && d.memoryBytes === undefined && d.controlGroup);
    const usage = unaccounted.length ? await processUsages(unaccounted.map(([, d]) => d.controlGroup!)) : new Map<string, ProcessUsage>();
    const usageOf = new Map(unaccounted.flatMap(([u, d]) => (usage.has(d.controlGroup!) ? [[u, usage.get(d.controlGroup!)!] as const] : [])));
    return apps.map((a) => {
      const worker = detailsWanted(a.name, a.manifest, units)[0];
      const use = worker ? usageOf.get(worker.name) : undefined;
      const status = appStatus({ name: a.name, manifest: a.manifest, appliedManifest: undefined, units, details, ...(use && { usage: use }) });
      return { name: a.name, state: status.state, memoryBytes: status.memoryBytes ?? undefined };
    });
  }

  private async details(port: SystemdPort, unit: UnitStatus, jobsBefore: number): Promise<ServiceDetails> {
    const cached = this.atRest.get(unit.name);
    if (cached && unit.activeState === 'inactive') return cached;
    const details = await port.serviceDetails(unit);
    if (unit.activeState === 'inactive' && this.jobs === jobsBefore) this.atRest.set(unit.name, details);
    else this.atRest.delete(unit.name);
    return details;
  }
}
