// Socket addresses as manifests write them, parsed into a form that can be
// compared (for conflicts) and written to units (ListenStream=, proxy target).
import { isIPv4, isIPv6 } from 'node:net';

export type InetAddress = {
  readonly kind: 'inet';
  /** undefined: all addresses, IPv4 and IPv6 (a bare port). */
  readonly host: string | undefined;
  readonly family: 4 | 6 | undefined;
  readonly port: number;
};

export type UnixAddress = { readonly kind: 'unix'; readonly path: string };

export type ListenAddress = InetAddress | UnixAddress;

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

// Unix socket paths end up in unit files and in sun_path: keep them to
// characters that need no quoting anywhere, and under the 108-byte limit.
const UNIX_PATH = /^\/[A-Za-z0-9._/+-]*$/;
const UNIX_PATH_MAX = 107;

export function parsePort(text: string): Parsed<number> {
  if (!/^[0-9]{1,5}$/.test(text)) return { ok: false, reason: `"${text}" is not a port number` };
  const port = Number(text);
  if (port < 1 || port > 65535) return { ok: false, reason: `port ${port} is out of range (1-65535)` };
  return { ok: true, value: port };
}

/** `HOST:PORT` with an IPv4 literal or a bracketed IPv6 literal; hostnames are refused (systemd binds literals). */
export function parseInetAddress(text: string): Parsed<InetAddress> {
  const v6 = /^\[([^\]]*)\]:([^:]*)$/.exec(text);
  const v4 = v6 ? null : /^([^:[\]]*):([^:]*)$/.exec(text);
  const match = v6 ?? v4;
  if (!match) return { ok: false, reason: `"${text}" is not ADDR:PORT (IPv6 addresses go in brackets: [::1]:8080)` };
  const host = match[1]!;
  const port = parsePort(match[2]!);
  if (!port.ok) return port;
  if (v6 ? !isIPv6(host) : !isIPv4(host)) {
    return { ok: false, reason: `"${host}" is not an IP${v6 ? 'v6' : 'v4'} address` };
  }
  return { ok: true, value: { kind: 'inet', host: normalizeHost(host, v6 ? 6 : 4), family: v6 ? 6 : 4, port: port.value } };
}

export function parseListenAddress(value: string | number): Parsed<ListenAddress> {
  if (typeof value === 'number') {
    const port = Number.isInteger(value) ? parsePort(String(value)) : { ok: false as const, reason: `${value} is not a port number` };
    return port.ok ? { ok: true, value: { kind: 'inet', host: undefined, family: undefined, port: port.value } } : port;
  }
  if (value.startsWith('/')) {
    if (!UNIX_PATH.test(value)) {
      return { ok: false, reason: `unix socket path "${value}" may only contain letters, digits and . _ / + -` };
    }
    if (value.length > UNIX_PATH_MAX) return { ok: false, reason: `unix socket path is longer than ${UNIX_PATH_MAX} bytes` };
    if (value.endsWith('/') || value.split('/').some((p) => p === '..' || p === '.')) {
      return { ok: false, reason: `unix socket path "${value}" must be a normalized file path` };
    }
    return { ok: true, value: { kind: 'unix', path: value } };
  }
  if (/^[0-9]+$/.test(value)) return parseListenAddress(Number(value));
  return parseInetAddress(value);
}

/**
 * A stream `listen:` entry: an address, optionally forwarding to a backend
 * port of its own (`2222 -> 22`).
 */
export function parseStreamListener(value: string | number): Parsed<{ address: ListenAddress; to?: number }> {
  const arrow = typeof value === 'string' ? /^(.*?)\s*->\s*(.*)$/.exec(value) : null;
  if (!arrow) {
    const address = parseListenAddress(value);
    return address.ok ? { ok: true, value: { address: address.value } } : address;
  }
  const address = parseListenAddress(arrow[1]!);
  if (!address.ok) return address;
  const to = parsePort(arrow[2]!);
  if (!to.ok) return { ok: false, reason: `after "->" comes the backend port it forwards to: ${to.reason}` };
  return { ok: true, value: { address: address.value, to: to.value } };
}

/** The backend must be a concrete address the proxy can connect to. */
export function parseBackendAddress(value: string): Parsed<InetAddress> {
  const parsed = parseInetAddress(value);
  if (!parsed.ok) return parsed;
  const { host } = parsed.value;
  if (host === '0.0.0.0' || host === '::') {
    return { ok: false, reason: `backend must be an address to connect to, not the wildcard ${host}` };
  }
  return parsed;
}

function normalizeHost(host: string, family: 4 | 6): string {
  if (family === 4) return host.split('.').map((o) => String(Number(o))).join('.');
  return expandIPv6(host);
}

/** Canonical (RFC 5952) text of an IPv6 address, so [::1] and [0:0::1] compare equal. */
function expandIPv6(host: string): string {
  const url = new URL(`http://[${host}]/`);
  return url.hostname.slice(1, -1);
}

/** How an address is written in ListenStream= and on the proxy's command line. */
export function formatAddress(address: ListenAddress): string {
  if (address.kind === 'unix') return address.path;
  if (address.host === undefined) return String(address.port);
  return address.family === 6 ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** A bare port and [::] bind dual-stack (systemd's default, BindIPv6Only=default): every address of both families. */
function isDualStackWildcard(a: InetAddress): boolean {
  return a.host === undefined || a.host === '::';
}

/** Would binding both addresses fail, or one take the other's traffic? */
export function addressesOverlap(a: ListenAddress, b: ListenAddress): boolean {
  if (a.kind === 'unix' || b.kind === 'unix') return a.kind === 'unix' && b.kind === 'unix' && a.path === b.path;
  if (a.port !== b.port) return false;
  if (isDualStackWildcard(a) || isDualStackWildcard(b)) return true;
  if (a.host === '0.0.0.0') return b.family === 4;
  if (b.host === '0.0.0.0') return a.family === 4;
  return a.host === b.host;
}
