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

/** A bind mount of a host path, or a named podman volume (created by podman on first use). */
export type Volume =
  | { readonly kind: 'bind'; readonly host: HostPath; readonly container: string; readonly options: readonly string[] }
  | { readonly kind: 'named'; readonly name: string; readonly container: string; readonly options: readonly string[] };

const VOLUME_OPTIONS = new Set([
  'ro', 'rw', 'z', 'Z', 'O', 'U', 'copy', 'nocopy', 'exec', 'noexec', 'suid', 'nosuid', 'dev', 'nodev',
  'shared', 'rshared', 'slave', 'rslave', 'private', 'rprivate', 'bind', 'rbind', 'unbindable', 'runbindable',
]);

/** What podman accepts as the name of a volume, network or secret (and no ',' or ':', its separators). */
export const PODMAN_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function parseVolume(text: string): Parsed<Volume> {
  const parts = text.split(':');
  if (parts.length < 2 || parts.length > 3) {
    return { ok: false, reason: `volume "${text}" must be HOST:CONTAINER[:OPTIONS] or NAME:CONTAINER[:OPTIONS]` };
  }
  const source = parts[0]!;
  const container = parseContainerPath(parts[1]!);
  if (!container.ok) return container;
  const options = parts[2] === undefined ? [] : parts[2].split(',');
  const unknown = options.filter((o) => !VOLUME_OPTIONS.has(o));
  if (unknown.length) {
    return { ok: false, reason: `unknown volume option${unknown.length > 1 ? 's' : ''} ${unknown.map((o) => `"${o}"`).join(', ')} (e.g. ro, rw, z, Z, U)` };
  }
  // podman's own rule: a source that starts with / (or, for appsd, ~) is a
  // host path; anything else names a volume.
  if (!source.startsWith('/') && !source.startsWith('~')) {
    if (!PODMAN_NAME.test(source) || source.length > 253) {
      return { ok: false, reason: `"${source}" is neither a host path (absolute, or ~/...) nor a volume name (letters, digits, '_', '.', '-', starting with a letter or digit)` };
    }
    return { ok: true, value: { kind: 'named', name: source, container: container.value, options } };
  }
  const host = parseHostPath(source, 'host path');
  if (!host.ok) return host;
  return { ok: true, value: { kind: 'bind', host: host.value, container: container.value, options } };
}

/** An absolute path inside the container. */
export function parseContainerPath(text: string, what = 'container path'): Parsed<string> {
  if (!text.startsWith('/') || !PATH_CHARS.test(text)) {
    return { ok: false, reason: `${what} "${text}" must be absolute, without whitespace, ':', '\\' or control characters` };
  }
  if (hasParentSegment(text)) return { ok: false, reason: `${what} "${text}" contains "..": write the directory it means` };
  return { ok: true, value: text };
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
