// Values of container fields that podman parses itself: each parser accepts
// only what podman reads one way, so a manifest value can never turn into an
// option podman reads differently (a ',' that starts another mount option, a
// path that climbs out with '..').
import type { Parsed } from './address.js';
import { PODMAN_NAME, parseContainerPath, parseHostPath, type HostPath } from './paths.js';

/** Linux capabilities (capabilities(7), as of Linux 6.x), without the CAP_ prefix. */
const CAPABILITIES = new Set([
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER',
  'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE',
  'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP',
  'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF',
  'CHECKPOINT_RESTORE',
]);

/** `net_bind_service`, `CAP_NET_BIND_SERVICE` -> `CAP_NET_BIND_SERVICE`; `all` -> `ALL`. */
export function parseCapability(text: string): Parsed<string> {
  const upper = text.toUpperCase();
  if (upper === 'ALL') return { ok: true, value: 'ALL' };
  const bare = upper.startsWith('CAP_') ? upper.slice(4) : upper;
  if (CAPABILITIES.has(bare)) return { ok: true, value: `CAP_${bare}` };
  return { ok: false, reason: `unknown capability "${text}" (e.g. NET_BIND_SERVICE, CHOWN, SYS_ADMIN, or ALL; see capabilities(7))` };
}

/** Names of podman secrets, networks and volumes. */
export function parsePodmanName(what: string): (text: string) => Parsed<string> {
  return (text) =>
    PODMAN_NAME.test(text) && text.length <= 253
      ? { ok: true, value: text }
      : { ok: false, reason: `${what} "${text}" must be letters, digits, '_', '.' or '-', starting with a letter or digit, at most 253` };
}

const NETWORK_RESERVED = new Set(['host', 'none', 'private', 'bridge', 'slirp4netns', 'pasta', 'ns', 'container']);

/** A network appsd may create and join: a plain name, not one of podman's modes (host, none, ...). */
export function parseNetworkName(text: string): Parsed<string> {
  const name = parsePodmanName('network name')(text);
  if (!name.ok) return name;
  if (NETWORK_RESERVED.has(text)) {
    return { ok: false, reason: `"${text}" is one of podman's network modes, not a network appsd can create; use podmanArgs: ["--network=${text}"] for it` };
  }
  return name;
}

// tmpfs and mount options: words podman passes to mount(2) or reads as key=value.
const OPTION_WORD = /^[A-Za-z0-9_.=-]+$/;

/** `/path` or `/path:size=64m,mode=1777`. */
export function parseTmpfs(text: string): Parsed<string> {
  const colon = text.indexOf(':');
  const path = parseContainerPath(colon < 0 ? text : text.slice(0, colon), 'tmpfs path');
  if (!path.ok) return path;
  if (colon >= 0) {
    const bad = text.slice(colon + 1).split(',').find((o) => !OPTION_WORD.test(o));
    if (bad !== undefined) return { ok: false, reason: `tmpfs option "${bad}" is not an option word (e.g. size=64m, mode=1777, noexec)` };
  }
  return { ok: true, value: text };
}

const MOUNT_TYPES = new Set(['bind', 'volume', 'tmpfs', 'image', 'devpts']);
const MOUNT_TARGET = new Set(['target', 'dst', 'destination']);
const MOUNT_SOURCE = new Set(['source', 'src']);

export interface Mount {
  readonly text: string;
  /** The host path of a bind mount, for the system-mount warning. */
  readonly bindSource?: HostPath;
}

/** podman's `--mount` syntax: `type=bind,source=/srv/a,target=/a,ro`. Every part checked, nothing rewritten. */
export function parseMount(text: string): Parsed<Mount> {
  const parts = text.split(',');
  let type: string | undefined;
  let target: string | undefined;
  let source: string | undefined;
  for (const part of parts) {
    if (part === '' || !/^[A-Za-z0-9_.=/-]+$/.test(part)) {
      return { ok: false, reason: `mount option "${part}" may only hold letters, digits and _ . = / - (no spaces, quotes or '..' tricks)` };
    }
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    if (key === 'type') type = value;
    else if (MOUNT_TARGET.has(key)) target = value;
    else if (MOUNT_SOURCE.has(key)) source = value;
  }
  if (type === undefined || !MOUNT_TYPES.has(type)) {
    return { ok: false, reason: `a mount needs type=bind, volume, tmpfs, image or devpts, in "${text}"` };
  }
  if (target === undefined) return { ok: false, reason: `a mount needs target=/path (the path in the container), in "${text}"` };
  const checkedTarget = parseContainerPath(target, 'mount target');
  if (!checkedTarget.ok) return checkedTarget;
  if (type === 'bind') {
    if (source === undefined) return { ok: false, reason: `a bind mount needs source=/host/path, in "${text}"` };
    if (!source.startsWith('/')) return { ok: false, reason: `the source of a bind mount must be an absolute host path, not "${source}"` };
    const host = parseHostPath(source, 'mount source');
    if (!host.ok) return host;
    return { ok: true, value: { text, bindSource: host.value } };
  }
  if (type === 'volume' && source !== undefined && !PODMAN_NAME.test(source)) {
    return { ok: false, reason: `the source of a volume mount must be a volume name, not "${source}"` };
  }
  return { ok: true, value: { text } };
}

/** `/dev/dri`, `/dev/sda:/dev/xvda`, `/dev/fuse:/dev/fuse:rwm`. */
export function parseDevice(text: string): Parsed<string> {
  const parts = text.split(':');
  if (parts.length > 3) return { ok: false, reason: `device "${text}" must be HOST[:CONTAINER][:PERMISSIONS]` };
  const [host, container, permissions] = parts;
  for (const [i, path] of [host, container].entries()) {
    if (path === undefined) continue;
    // The second part may be the permissions (`/dev/fuse:rwm`).
    if (i === 1 && parts.length === 2 && /^[rwm]{1,3}$/.test(path)) continue;
    const checked = parseContainerPath(path, 'device path');
    if (!checked.ok) return checked;
    if (i === 0 && !path.startsWith('/dev/')) return { ok: false, reason: `device "${path}" must be under /dev/` };
  }
  if (permissions !== undefined && !/^[rwm]{1,3}$/.test(permissions)) {
    return { ok: false, reason: `device permissions "${permissions}" must be made of r, w and m` };
  }
  return { ok: true, value: text };
}
