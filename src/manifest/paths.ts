// Host paths in manifests: absolute, or relative to the home directory of the
// manager's user with `~` (rendered as systemd's %h, so the same manifest works
// for any user). Characters are limited to what podman's -v syntax and unit
// files take without ambiguity: no ':' (podman's separator), no whitespace or
// control characters.
import type { Parsed } from './address.js';

export type HostPath = { readonly home: boolean; readonly path: string };

const PATH_CHARS = /^[^\s:\0-\x1f\x7f\\]*$/;

/** `..` would walk out of the directory the path seems to name (`~/../../etc`). */
function hasParentSegment(path: string): boolean {
  return path.split('/').includes('..');
}

export function parseHostPath(text: string, what: string): Parsed<HostPath> {
  if (!PATH_CHARS.test(text)) return { ok: false, reason: `${what} "${text}" contains whitespace, ':', '\\' or control characters` };
  if (hasParentSegment(text)) return { ok: false, reason: `${what} "${text}" contains "..": write the directory it means` };
  if (text === '~') return { ok: true, value: { home: true, path: '' } };
  if (text.startsWith('~/')) return { ok: true, value: { home: true, path: text.slice(1) } };
  if (text.startsWith('~')) return { ok: false, reason: `${what} "${text}": only ~ and ~/... are supported (the manager user's home)` };
  if (!text.startsWith('/')) return { ok: false, reason: `${what} "${text}" must be absolute or start with ~/ (relative paths depend on where appsd runs)` };
  return { ok: true, value: { home: false, path: text } };
}

export type Volume = { readonly host: HostPath; readonly container: string; readonly options: readonly string[] };

const VOLUME_OPTIONS = new Set([
  'ro', 'rw', 'z', 'Z', 'O', 'U', 'copy', 'nocopy', 'exec', 'noexec', 'suid', 'nosuid', 'dev', 'nodev',
  'shared', 'rshared', 'slave', 'rslave', 'private', 'rprivate', 'bind', 'rbind', 'unbindable', 'runbindable',
]);

export function parseVolume(text: string): Parsed<Volume> {
  const parts = text.split(':');
  if (parts.length < 2 || parts.length > 3) {
    return { ok: false, reason: `volume "${text}" must be HOST:CONTAINER or HOST:CONTAINER:OPTIONS` };
  }
  const host = parseHostPath(parts[0]!, 'host path');
  if (!host.ok) return host;
  const container = parts[1]!;
  if (!container.startsWith('/') || !PATH_CHARS.test(container)) {
    return { ok: false, reason: `container path "${container}" must be absolute, without whitespace or control characters` };
  }
  if (hasParentSegment(container)) return { ok: false, reason: `container path "${container}" contains "..": write the directory it means` };
  const options = parts[2] === undefined ? [] : parts[2].split(',');
  const unknown = options.filter((o) => !VOLUME_OPTIONS.has(o));
  if (unknown.length) {
    return { ok: false, reason: `unknown volume option${unknown.length > 1 ? 's' : ''} ${unknown.map((o) => `"${o}"`).join(', ')} (e.g. ro, rw, z, Z, U)` };
  }
  return { ok: true, value: { host: host.value, container, options } };
}

// Host directories whose contents are the host itself: a container that
// mounts them can read (and without :ro, change) the system.
export const SYSTEM_DIRS = ['/etc', '/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/boot', '/dev', '/proc', '/sys', '/run', '/var', '/root'];

/** Why mounting this host path deserves a warning, or undefined. */
export function systemMountWarning(host: HostPath): string | undefined {
  if (host.home) return undefined;
  const path = host.path.replace(/\/+$/, '') || '/';
  const system = path === '/' ? '/' : SYSTEM_DIRS.find((d) => path === d || path.startsWith(`${d}/`));
  if (!system) return undefined;
  return `mounts the host's ${path === '/' ? 'root directory /' : path} into the container: the app can read and change the host's own files there (add :ro to keep them read-only); make sure that is meant`;
}
