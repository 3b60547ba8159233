// A private systemd user manager, for the test suite and for `appsd --sandbox`
// on machines where no manager runs (containers, CI VMs). It never touches the
// host's manager: it runs in its own mount namespace with a tmpfs on
// /run/systemd (systemd --user insists on /run/systemd/system, which the host
// must not get), in its own cgroup, with its own HOME and XDG directories,
// and with a journald of its own for the services' output (docs/logs.md).
// See ../shared/ENVIRONMENT.md for why each step is there.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SystemdManager } from '../systemd/manager.js';

export interface PrivateManager {
  /** Everything lives below this directory. */
  readonly root: string;
  /** The environment to reach the manager with systemctl --user and appsd. */
  readonly env: Readonly<Record<string, string>>;
  /** $XDG_CONFIG_HOME/systemd/user: where the manager looks for units. */
  readonly unitDir: string;
  readonly stateDir: string;
  readonly pid: number;
  readonly log: string;
  /**
   * The journal of the manager's units (systemd-journald runs in its mount
   * namespace), for `journalctl --directory`; undefined where journald is not
   * installed. Also in `env` as APPSD_JOURNAL_DIR, where appsd looks for it.
   */
  readonly journalDir?: string;
  stop(): Promise<void>;
}

export interface PrivateManagerOptions {
  /** Added to every service's environment (user.conf DefaultEnvironment=). */
  readonly serviceEnv?: Readonly<Record<string, string>>;
  /**
   * For podman: make /run/netns a shared mount on the host first, so the
   * network namespaces podman creates from inside the manager's mount
   * namespace are visible to the host's podman too.
   */
  readonly shareNetns?: boolean;
  /**
   * A network namespace of its own, with only a loopback interface: several
   * managers then each have their own 127.0.0.1, as hosts of a fleet do (the
   * fleet tier). Reach it with `nsenter --target PID --net`; D-Bus and the
   * status socket are unix sockets, reached by path as usual.
   */
  readonly ownNetwork?: boolean;
  readonly startTimeoutMs?: number;
}

const CGROUP_ROOTS = ['/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified'];

// Run inside the new mount namespace, then replaced by systemd.
const LAUNCH = `
set -e
mount --make-private / 2>/dev/null || true
if [ -n "$APPSD_OWN_NETWORK" ]; then ip link set lo up; fi
mount -t tmpfs -o size=64m,mode=755 tmpfs /run/systemd
mkdir /run/systemd/system
# What PID 1 creates at boot and sandboxing settings (ProtectKernelTunables=,
# InaccessiblePaths=, ...) mount over what they hide; without these nodes
# such services fail with 226/NAMESPACE in the sandbox.
mkdir /run/systemd/inaccessible
(cd /run/systemd/inaccessible && touch reg && mkdir dir && mkfifo fifo && mknod chr c 0 0 && mknod blk b 0 0 && mkfifo sock && chmod 0000 reg dir fifo chr blk sock)
# The system manager's private socket leads to this manager, the only one
# here. Tools that see /run/systemd/system and so believe PID 1 is systemd
# call it: rootful podman's netavark starts each network's DNS server
# (aardvark-dns) with \`systemd-run --scope\`; with no manager there, it
# fails and containers cannot resolve each other's names.
ln -s "$XDG_RUNTIME_DIR/systemd/private" /run/systemd/private
# LoadCredential=/SetCredential= build a service's credentials in a child
# mount namespace and move the mount to $XDG_RUNTIME_DIR/credentials/UNIT:
# the move reaches the manager only through a shared mount (on a host, /run
# is one). Without this the service sees an empty $CREDENTIALS_DIRECTORY.
mount --bind "$XDG_RUNTIME_DIR" "$XDG_RUNTIME_DIR"
mount --make-shared "$XDG_RUNTIME_DIR"
# A journal of its own (docs/logs.md): systemd-journald in this namespace,
# where the services find its sockets under the private /run/systemd. It
# writes below $APPSD_LOG_DIR, bound on /run/log here only (the host's stays
# as it is), and runs in a cgroup of its own beside the manager's.
if [ -n "$JOURNALD_BIN" ]; then
  mkdir /run/systemd/journald.conf.d
  cp "$APPSD_JOURNALD_CONF" /run/systemd/journald.conf.d/appsd.conf
  mount --bind "$APPSD_LOG_DIR" /run/log
  /bin/sh -c 'for root in ${CGROUP_ROOTS.join(' ')}; do
    if [ -d "$root" ]; then mkdir -p "$root/$APPSD_JOURNALD_CGROUP"; echo $$ > "$root/$APPSD_JOURNALD_CGROUP/cgroup.procs"; fi
  done; exec "$JOURNALD_BIN"' &
  # A service started before journald listens would log nowhere.
  i=0; while [ ! -S /run/systemd/journal/stdout ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i + 1)); done
fi
# $APPSD_CGROUP is SLICE/user@UID.service, the shape of a user manager's
# cgroup on a host: journald tells from it which user unit wrote a line.
for root in ${CGROUP_ROOTS.join(' ')}; do
  if [ -d "$root" ]; then mkdir -p "$root/$APPSD_CGROUP"; echo $$ > "$root/$APPSD_CGROUP/cgroup.procs"; fi
done
exec "$SYSTEMD_BIN" --user
`;

// The private journal: volatile (under /run/log, which is bound to the
// manager's own directory), capped, and nothing read from or forwarded to the
// host (its kernel log, syslog, consoles).
const JOURNALD_CONF = `[Journal]
Storage=volatile
RuntimeMaxUse=64M
RuntimeMaxFileSize=8M
ReadKMsg=no
ForwardToSyslog=no
ForwardToKMsg=no
ForwardToConsole=no
ForwardToWall=no
`;

// The reaper: started beside the manager, it waits for EOF on its standard
// input, a pipe whose other end only this process holds. The kernel closes
// that end when this process exits, however it exits (kill -9 included), and
// the reaper then stops the manager and removes what it left, as stop() does.
// $1 manager PID, $2 cgroup name, $3 root directory.
const REAPER = `
read -r _ || true
kill -TERM "$1" 2>/dev/null
i=0; while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
for round in 1 2 3 4 5 6 7 8 9 10; do
  pids=$(for r in ${CGROUP_ROOTS.join(' ')}; do [ -d "$r/$2" ] && find "$r/$2" -name cgroup.procs -exec cat {} +; done 2>/dev/null)
  [ -n "$pids" ] || break
  kill -9 $pids 2>/dev/null; sleep 0.05
done
for r in ${CGROUP_ROOTS.join(' ')}; do [ -d "$r/$2" ] && find "$r/$2" -depth -type d -exec rmdir {} + 2>/dev/null; done
rm -rf "$3"
`;

/** Why a private manager cannot run here, or undefined if it can. */
export function privateManagerUnsupported(): string | undefined {
  if (process.getuid?.() !== 0) return 'a private systemd manager needs root (mount namespace, tmpfs, cgroups)';
  if (!findSystemd()) return 'systemd is not installed';
  if (!existsSync('/usr/bin/unshare')) return 'unshare (util-linux) is not installed';
  if (!CGROUP_ROOTS.some((r) => existsSync(r)) && !existsSync('/sys/fs/cgroup/cgroup.procs')) return 'no cgroup file system';
  return undefined;
}

function findSystemd(): string | undefined {
  return ['/lib/systemd/systemd', '/usr/lib/systemd/systemd'].find((p) => existsSync(p));
}

function findJournald(): string | undefined {
  return ['/lib/systemd/systemd-journald', '/usr/lib/systemd/systemd-journald'].find((p) => existsSync(p));
}

export async function startPrivateManager(options: PrivateManagerOptions = {}): Promise<PrivateManager> {
  const why = privateManagerUnsupported();
  if (why) throw new Error(why);
  // Short: the runtime directory holds sockets, whose paths are limited to 108 bytes.
  const root = mkdtempSync('/tmp/appsd-');
  const dirs = {
    HOME: join(root, 'home'),
    XDG_RUNTIME_DIR: join(root, 'run'),
    XDG_CONFIG_HOME: join(root, 'config'),
    XDG_STATE_HOME: join(root, 'state'),
    XDG_DATA_HOME: join(root, 'data'),
    XDG_CACHE_HOME: join(root, 'cache'),
  };
  for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const unitDir = join(dirs.XDG_CONFIG_HOME, 'systemd', 'user');
  mkdirSync(unitDir, { recursive: true });
  const serviceEnv = Object.entries(options.serviceEnv ?? {}).map(([k, v]) => `"${k}=${v}"`).join(' ');
  // Where journald is installed, services log to a journal of their own, as
  // on a host; otherwise their output goes to the manager's log.
  const journald = findJournald();
  const output = journald ? 'journal' : 'inherit';
  writeFileSync(
    join(dirs.XDG_CONFIG_HOME, 'systemd', 'user.conf'),
    `[Manager]\nDefaultStandardOutput=${output}\nDefaultStandardError=${output}\n${serviceEnv ? `DefaultEnvironment=${serviceEnv}\n` : ''}`,
  );
  const logDir = join(root, 'log');
  const journalConf = join(root, 'journald.conf');
  if (journald) {
    mkdirSync(logDir);
    writeFileSync(journalConf, JOURNALD_CONF);
    // The mount point for the journal, in the namespace only; hosts with systemd have it anyway.
    mkdirSync('/run/log', { recursive: true });
  }
  if (options.shareNetns) {
    execFileSync('/bin/sh', ['-c', 'mkdir -p /run/netns && { mountpoint -q /run/netns || mount --bind /run/netns /run/netns; } && mount --make-shared /run/netns']);
  }
  // Everything the manager runs is below this slice, which stop() and the reaper remove.
  const cgroup = `appsd-test-${root.slice('/tmp/appsd-'.length)}.slice`;
  const log = join(root, 'manager.log');
  const logFd = openSync(log, 'a');
  const child = spawn('/usr/bin/unshare', ['--mount', ...(options.ownNetwork ? ['--net'] : []), '--propagation', 'unchanged', '--', '/bin/sh', '-c', LAUNCH], {
    env: {
      PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      ...dirs,
      APPSD_CGROUP: `${cgroup}/user@${process.getuid?.() ?? 0}.service`,
      SYSTEMD_BIN: findSystemd()!,
      SYSTEMD_LOG_TARGET: 'console',
      SYSTEMD_LOG_COLOR: '0',
      ...(options.ownNetwork && { APPSD_OWN_NETWORK: '1' }),
      ...(journald && { JOURNALD_BIN: journald, APPSD_JOURNALD_CGROUP: `${cgroup}/systemd-journald.service`, APPSD_LOG_DIR: logDir, APPSD_JOURNALD_CONF: journalConf }),
    },
    stdio: ['ignore', logFd, logFd],
    detached: true,
  });
  closeSync(logFd);
  child.unref();
  const journalDir = journald ? join(logDir, 'journal') : undefined;
  const env = { ...dirs, DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(dirs.XDG_RUNTIME_DIR, 'bus')}`, ...(journalDir && { APPSD_JOURNAL_DIR: journalDir }) };
  let exited = false;
  child.once('exit', () => (exited = true));
  // Detached (its own session): Ctrl-C in the terminal does not reach it.
  const reaper = spawn('/bin/sh', ['-c', REAPER, 'appsd-reaper', String(child.pid), cgroup, root], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
  reaper.unref();
  (reaper.stdin as unknown as { unref?: () => void } | null)?.unref?.();

  const stop = async () => {
    // This process cleans up itself: the reaper must not act on a PID that
    // may be reused once the manager is gone.
    try {
      if (reaper.exitCode === null) process.kill(reaper.pid!, 'SIGKILL');
    } catch {
      // Already gone.
    }
    if (!exited) {
      try {
        process.kill(child.pid!, 'SIGTERM');
      } catch {
        // Already gone.
      }
      for (let i = 0; i < 100 && !exited; i++) await sleep(50);
    }
    // Whatever the manager left behind (a service that ignored SIGTERM).
    for (let round = 0; round < 20; round++) {
      const pids = CGROUP_ROOTS.flatMap((r) => cgroupPids(join(r, cgroup)));
      if (pids.length === 0) break;
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Gone meanwhile.
        }
      }
      await sleep(50);
    }
    for (const r of CGROUP_ROOTS) removeCgroup(join(r, cgroup));
    rmSync(root, { recursive: true, force: true });
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 10_000);
  while (!(existsSync(join(dirs.XDG_RUNTIME_DIR, 'systemd', 'private')) && existsSync(join(dirs.XDG_RUNTIME_DIR, 'bus')))) {
    if (exited || Date.now() > deadline) {
      const output = readFileSync(log, 'utf8').slice(-2000);
      await stop();
      throw new Error(`the private systemd manager did not start${exited ? ' (it exited)' : ''}:\n${output}`);
    }
    await sleep(20);
  }
  // The manager registers on its bus shortly after the bus socket appears.
  for (;;) {
    try {
      (await SystemdManager.connect({ scope: 'user', env, timeoutMs: 1000 })).close();
      break;
    } catch (error) {
      if (exited || Date.now() > deadline) {
        await stop();
        throw new Error(`the private systemd manager does not answer on D-Bus: ${(error as Error).message}`);
      }
      await sleep(20);
    }
  }
  return { root, env, unitDir, stateDir: join(dirs.XDG_STATE_HOME, 'appsd'), pid: child.pid!, log, ...(journalDir && { journalDir }), stop };
}

function cgroupPids(dir: string): number[] {
  if (!existsSync(dir)) return [];
  const pids: number[] = [];
  const walk = (d: string) => {
    try {
      for (const line of readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n')) if (line) pids.push(Number(line));
      for (const entry of readdirSync(d, { withFileTypes: true })) if (entry.isDirectory()) walk(join(d, entry.name));
    } catch {
      // Removed meanwhile.
    }
  };
  walk(dir);
  return pids;
}

function removeCgroup(dir: string): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) removeCgroup(join(dir, entry.name));
  try {
    rmdirSync(dir);
  } catch {
    // Still busy; nothing more to do.
  }
}
