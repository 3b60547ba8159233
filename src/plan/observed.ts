// What exists: unit files on disk and, when systemd is reachable, what the
// manager says about them. Built by the reconciler's observer; read by the
// planner.
import type { Inventory } from './inventory.js';
import type { UnitStatus } from './systemd-port.js';

export interface ObservedFile {
  readonly text: string;
  /** The app named by the file's X-Appsd-App= marker; undefined: not appsd's. */
  readonly owner: string | undefined;
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
}

const MARKER = /^X-Appsd-App=(.+)$/m;

export function ownerOf(text: string): string | undefined {
  return MARKER.exec(text)?.[1]?.trim();
}
