// Placement: which hosts run an app. A manifest may name hosts (`hosts:`)
// and labels a host must have (`placement:`); a host knows its name and its
// labels (src/host/identity.ts). Pure.

/** Who this host is, for placement. */
export interface HostIdentity {
  /** Compared without regard to case, as host names are. */
  readonly name: string;
  readonly labels: ReadonlyMap<string, string>;
}

/** Where an app may run, as its manifest says. Undefined fields place nothing: every host. */
export interface Placement {
  readonly hosts?: readonly string[];
  readonly labels?: ReadonlyMap<string, string>;
}

/** Whether `host` runs an app placed so: its name among hosts (if any), and every label (if any) matching. */
export function placedOn(placement: Placement | undefined, host: HostIdentity): boolean {
  return whyNotPlaced(placement, host) === undefined;
}

/** Why `host` does not run an app placed so, for status and diagnostics; undefined when it does. */
export function whyNotPlaced(placement: Placement | undefined, host: HostIdentity): string | undefined {
  if (!placement) return undefined;
  if (placement.hosts && !placement.hosts.some((h) => sameHostName(h, host.name))) {
    return `placed on ${list(placement.hosts)}; this host is ${host.name}`;
  }
  for (const [key, value] of placement.labels ?? []) {
    const has = host.labels.get(key);
    if (has !== value) return `placed where ${key}=${value}; this host has ${has === undefined ? `no ${key} label` : `${key}=${has}`}`;
  }
  return undefined;
}

/**
 * A name in `hosts:` names this host when it is the host's name, in any case,
 * or its short name: `web-1` names a host whose name is web-1.example.com
 * (machines often report their fully qualified name).
 */
export function sameHostName(written: string, host: string): boolean {
  const a = written.toLowerCase();
  const b = host.toLowerCase();
  return a === b || (!a.includes('.') && b.startsWith(`${a}.`));
}

/** "a, b and 2 more": short enough for one line. */
function list(items: readonly string[]): string {
  return items.length <= 4 ? items.join(', ') : `${items.slice(0, 3).join(', ')} and ${items.length - 3} more`;
}

/** Labels as `k=v,k=v` (what --host-labels takes), for messages. */
export function formatLabels(labels: ReadonlyMap<string, string>): string {
  return [...labels].map(([k, v]) => `${k}=${v}`).join(',');
}

/** Labels are compared as text; two identities are the same host when names (any case) and labels agree. */
export function sameHost(a: HostIdentity | undefined, b: HostIdentity | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.name.toLowerCase() !== b.name.toLowerCase() || a.labels.size !== b.labels.size) return false;
  for (const [k, v] of a.labels) if (b.labels.get(k) !== v) return false;
  return true;
}
