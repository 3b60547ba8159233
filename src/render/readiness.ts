// The readiness wait that replaces the seed's `ExecStartPost=/bin/sleep 1`.
// systemd-socket-proxyd does not retry a refused connection, so the first
// client would get a reset if the proxy started before the backend listens.
// The backend unit therefore only counts as started once this check passes,
// and the proxy is ordered after it. It polls every 10 ms, so a cold start pays
// for the backend's real start-up time and not a second more; past the
// deadline it fails the start with a message instead of hanging.
//
// bash rather than a helper binary: it is on every systemd host, starts in a
// millisecond or two, and /dev/tcp needs no extra tool.
import type { InetAddress } from '../manifest/address.js';
import type { Readiness } from '../manifest/app.js';
import { UnitValueError, type Word } from '../unit/escape.js';
import type { RenderOptions } from './options.js';

const NOW = '${EPOCHREALTIME/[.,]/}';

// $1 host, $2 port, $3 timeout in ms, $4 label; for http also $5 path.
const TCP_PROBE = '(exec 3<>"/dev/tcp/$1/$2")';
const HTTP_PROBE =
  `(exec 3<>"/dev/tcp/$1/$2" && printf 'GET %s HTTP/1.0\\r\\nHost: %s\\r\\nConnection: close\\r\\n\\r\\n' "$5" "$4" >&3` +
  ` && read -r -t 5 _ c _ <&3 && [ "\${c:-999}" -lt 500 ])`;

// On failure the message goes to stderr (the journal) and to the unit's
// status line (STATUS=, shown by systemctl status even after the unit failed;
// the short sleep lets the manager read it before the sender is gone).
// The wait also ends as soon as the unit's main process is gone ($MAINPID,
// which systemd sets for ExecStartPost=: the app, or conmon for a container):
// a program that exits at once fails its start, and resets the waiting
// clients, within milliseconds instead of at the deadline.
function script(probe: string, what: string): string {
  const fail = (m: string) => `{ m="${m}"; echo "$m" >&2; systemd-notify --status="$m" 2>/dev/null; sleep 0.05; exit 1; }`;
  return (
    `d=$((${NOW}+$3*1000)); ` +
    `until ${probe} 2>/dev/null; do ` +
    `[ -z "$MAINPID" ] || kill -0 "$MAINPID" 2>/dev/null || ${fail('appsd: backend $4 exited before it was ready')}; ` +
    `[ "${NOW}" -lt "$d" ] || ${fail(`appsd: backend $4 ${what} within $3 ms`)}; ` +
    `sleep 0.01; done`
  );
}

// $5 podman, $6 the container: podman runs the container's health check once.
const HEALTH_PROBE = '"$5" healthcheck run "$6" >/dev/null';

/**
 * Where the backend is probed: an address on the host, or, for an internal
 * container that publishes no port, the container's own network namespace.
 */
export type ProbeTarget =
  | { readonly kind: 'host'; readonly address: InetAddress }
  | { readonly kind: 'listening'; readonly pidfile: Word; readonly port: number };

// $1 the container's pidfile, $2 port: is a socket listening on the port in
// the container's network namespace (the kernel's table of its TCP sockets,
// state 0A)? No podman call: `podman container inspect` for the container's
// address took 69 ms of a 300 ms start (bench: group), reading /proc takes
// microseconds, and works for rootless podman too, whose network the host
// cannot reach. (podman writes the PID without a newline: read then fails
// but still sets p.)
const LISTEN_PROBE =
  '(read -r p < "$1"; [ -n "$p" ] && for f in "/proc/$p/net/tcp" "/proc/$p/net/tcp6"; do while read -r _ l _ s _; do [ "$s" = 0A ] && [ "${l##*:}" = "$h" ] && exit 0; done < "$f"; done; exit 1)';

/** The ExecStartPost= command line, or undefined for `check: none`. `container` names the app's container, for `check: health`. */
export function readinessCommand(readiness: Readiness, target: ProbeTarget, label: string, options: RenderOptions, container?: string): Word[] | undefined {
  const common: Word[] =
    target.kind === 'host'
      ? [target.address.host ?? '127.0.0.1', String(target.address.port), String(readiness.timeoutMs), label]
      : [target.pidfile, String(target.port), String(readiness.timeoutMs), label];
  switch (readiness.check) {
    case 'none':
      return undefined;
    case 'tcp':
      if (target.kind === 'listening') return [options.bashPath, '-c', `printf -v h %04X "$2"; ${script(LISTEN_PROBE, 'is not listening')}`, 'appsd-ready', ...common];
      return [options.bashPath, '-c', script(TCP_PROBE, 'did not accept connections'), 'appsd-ready', ...common];
    case 'http':
      if (target.kind === 'listening') throw new UnitValueError('check: http needs an address on the host to send the request to: give the internal container a backend:');
      return [options.bashPath, '-c', script(HTTP_PROBE, `did not answer GET ${'$5'} below 500`), 'appsd-ready', ...common, readiness.path];
    case 'health':
      if (container === undefined) throw new UnitValueError('check: health needs a container with a healthCheck');
      return healthCommand(readiness, target.kind === 'host' ? target.address : undefined, label, options, container);
  }
}

/** The wait for a container's first healthy result. It needs no address ($1 and $2 name it, for the units' readers, or are `-`). */
export function healthCommand(readiness: Readiness, address: InetAddress | undefined, label: string, options: RenderOptions, container: string): Word[] {
  const where = address ? [address.host ?? '127.0.0.1', String(address.port)] : ['-', '-'];
  return [options.bashPath, '-c', script(HEALTH_PROBE, 'did not pass its healthCheck'), 'appsd-ready', ...where, String(readiness.timeoutMs), label, options.podmanPath, container];
}
