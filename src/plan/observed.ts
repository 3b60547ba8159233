// What exists: unit files on disk and, when systemd is reachable, what the
// manager says about them. Built by the reconciler's observer; read by the
// planner.
import type { Inventory } from './inventory.js';
import type { UnitStatus } from './systemd-port.js';

export interface ObservedFile {
  readonly text: string;
  /** The app named by the file's X-Appsd-App= marker; undefined: not appsd's. */
  readonly owner: string | undefined;
  /** The appsd that wrote it (X-Appsd-Instance=); undefined: written before appsd had instances. */
  readonly instance?: string;
}

export interface ObservedUnit {
  readonly file?: ObservedFile;
  /** undefined when offline. */
  readonly status?: UnitStatus;
  /** Unit file state (enabled, disabled, ...), observed for sockets; undefined when offline or unknown. */
  readonly enablement?: string;
}

export interface Observed {
  /** false for `diff --offline`: systemd's state is unknown. */
  readonly online: boolean;
  readonly units: ReadonlyMap<string, ObservedUnit>;
  readonly inventory: Inventory;
  /**
   * podman networks by name, with the appsd instance that created each
   * (its io.appsd.instance label; undefined: not created by an appsd).
   * Undefined when not observed: offline, or no app joins or joined a network.
   */
  readonly networks?: ReadonlyMap<string, string | undefined>;
}

/** The label that marks a podman network as created by an appsd, with its instance. */
export const NETWORK_LABEL = 'io.appsd.instance';

const MARKER = /^X-Appsd-App=(.+)$/m;
const INSTANCE = /^X-Appsd-Instance=(.+)$/m;

/** What a unit file says about who wrote it. */
export function observedFile(text: string): ObservedFile {
  const owner = MARKER.exec(text)?.[1]?.trim();
  const instance = INSTANCE.exec(text)?.[1]?.trim();
  return { text, owner, ...(instance !== undefined && { instance }) };
}

/**
 * Is the file this appsd's, for this app? It must name the app, and name this
 * appsd if it names one (files from before instances existed are adopted).
 */
export function ownedBy(file: ObservedFile, app: string, instance: string | undefined): boolean {
  return file.owner === app && (file.instance === undefined || instance === undefined || file.instance === instance);
}
