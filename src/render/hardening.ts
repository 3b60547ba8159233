// The sandboxing presets of exec backends: the [Service] lines each one adds,
// per manager scope. Measured with systemd 252 (Debian 12) on a PID-1 system
// manager in podman, a non-root user's manager (user@UID.service), root's
// user manager, and the test suite's private manager; with a Node 20 HTTP
// server and python3 -m http.server as the apps. In the private manager
// (sandbox/private-manager.ts) ProtectKernelTunables= and ProtectKernelLogs=
// fail 226/NAMESPACE unless /run/systemd/inaccessible/{reg,dir,chr,blk,fifo}
// exist on its fresh /run/systemd tmpfs, as PID 1 creates them on a host.
//
//   none     adds nothing: the unit as appsd wrote it before presets existed.
//   default  what a careful operator turns on for anything: settings that
//            take away what a web backend never uses, and almost never break
//            an app.
//   strict   `systemd-analyze security` rates the backend "OK" in system
//            scope (1.5 with DynamicUser=yes, 1.8 with User=nobody; 8.4 and
//            9.7 without a preset): read-only file system, no home, private
//            /tmp and devices, no capabilities, a system-call filter. An app
//            that writes files needs `default` (or none) for now.
//
// Left out of every preset, and why:
// - MemoryDenyWriteExecute=yes: V8's JIT needs writable-then-executable
//   memory; Node aborts at its first compile ("Check failed: 12 == errno" in
//   v8::base::OS::SetPermissions, status 5/TRAP). Java and PyPy too.
// - PrivateNetwork=yes: the proxy reaches the backend on a loopback port of
//   the host's network namespace.
// - IPAddressDeny=any: the app's own outbound traffic (a database, an API) is
//   the app's business; loopback-only would break most real apps.
// - UMask=: the manifest has its own `umask`, and these lines are written
//   after it, so a preset's value would override the manifest's.
// - NotifyAccess=: the readiness wait (render/readiness.ts) reports through
//   systemd-notify from a child; `all` is its choice, not the preset's.
// - PrivateUsers=yes in system scope: with ProtectProc=invisible the start
//   fails 217/USER ("Failed to set up user namespacing: No such file or
//   directory") when systemd runs in a container (systemd issue #29656),
//   where the system tier runs. ProtectProc= hides other services'
//   processes; PrivateUsers= adds little once no capability is left.
import type { Hardening } from '../manifest/app.js';

// One definition of the preset names, in the manifest layer (which may not
// import render/); re-exported so the renderer's callers find them here.
export type { Hardening } from '../manifest/app.js';
export { HARDENING_PRESETS } from '../manifest/app.js';

type Line = readonly [key: string, value: string];

// Each setting once, with why. The presets below pick from these.

// setuid binaries and file capabilities can no longer raise privileges; the
// seccomp settings below imply it for a non-root user anyway.
const NO_NEW_PRIVILEGES: Line = ['NoNewPrivileges', 'yes'];
// No set-user-ID files created; the app never needs to make one.
const RESTRICT_SUID_SGID: Line = ['RestrictSUIDSGID', 'yes'];
// No realtime scheduling: a busy loop at realtime priority can starve the host.
const RESTRICT_REALTIME: Line = ['RestrictRealtime', 'yes'];
// No personality(2) changes (READ_IMPLIES_EXEC and the like), used only by
// exploits and emulators.
const LOCK_PERSONALITY: Line = ['LockPersonality', 'yes'];
// The app's /tmp is its own, emptied when it stops. DynamicUser= implies it;
// for a named user it hides other programs' temporary files. In system scope
// the app cannot see files under the host's /tmp (the tests copy their
// fixture to /srv for that reason).
const PRIVATE_TMP: Line = ['PrivateTmp', 'yes'];
// /usr, /boot, /efi and /etc read-only: the app writes its data, not the OS.
const PROTECT_SYSTEM_FULL: Line = ['ProtectSystem', 'full'];
// Everything read-only but /dev, /proc, /sys (covered below), the app's
// private /tmp, and (in a user manager) the home directories, which
// ProtectHome= governs.
const PROTECT_SYSTEM_STRICT: Line = ['ProtectSystem', 'strict'];
// /home, /root and /run/user empty and inaccessible. System scope only: the
// app's code and working directory must not be there.
const PROTECT_HOME: Line = ['ProtectHome', 'yes'];
// A private /dev with only the pseudo-devices (null, zero, urandom, tty...).
const PRIVATE_DEVICES: Line = ['PrivateDevices', 'yes'];
// /proc/sys, /sys and friends read-only: no kernel tunables from the app.
const PROTECT_KERNEL_TUNABLES: Line = ['ProtectKernelTunables', 'yes'];
// No module loading, /usr/lib/modules hidden.
const PROTECT_KERNEL_MODULES: Line = ['ProtectKernelModules', 'yes'];
// No /dev/kmsg or /proc/kmsg: the kernel log can leak addresses.
const PROTECT_KERNEL_LOGS: Line = ['ProtectKernelLogs', 'yes'];
// /sys/fs/cgroup read-only. Apps still read their limits (Node and the JVM
// size their heaps from them).
const PROTECT_CONTROL_GROUPS: Line = ['ProtectControlGroups', 'yes'];
// Its own UTS namespace: the app cannot change the host name.
const PROTECT_HOSTNAME: Line = ['ProtectHostname', 'yes'];
// No clock changes. Strict only: it adds DeviceAllow=char-rtc, and any
// DeviceAllow= closes every other device node to the app (a GPU, a serial
// port), which `default` must not do.
const PROTECT_CLOCK: Line = ['ProtectClock', 'yes'];
// Other users' processes invisible in /proc: with DynamicUser= every app
// has its own user, so apps cannot read each other's command lines.
const PROTECT_PROC: Line = ['ProtectProc', 'invisible'];
// Only the process directories in /proc, not the kernel's other files.
const PROC_SUBSET: Line = ['ProcSubset', 'pid'];
// Not even root keeps a capability (a manifest with `user: root` runs as a
// powerless root). A web backend on an unprivileged port needs none.
const NO_CAPABILITIES: Line = ['CapabilityBoundingSet', ''];
// The sockets a web backend uses: INET/INET6 to listen for the proxy and to
// reach its own services, UNIX for local services and sd_notify, NETLINK
// because getifaddrs() needs it: without it Node's os.networkInterfaces()
// throws (EAFNOSUPPORT, "Unknown system error 97"), as frameworks call it to
// print their addresses.
const ADDRESS_FAMILIES: Line = ['RestrictAddressFamilies', 'AF_INET AF_INET6 AF_UNIX AF_NETLINK'];
// No new namespaces of any kind. Breaks apps that sandbox themselves
// (Chromium/puppeteer, bubblewrap), hence strict only.
const RESTRICT_NAMESPACES: Line = ['RestrictNamespaces', 'yes'];
// SysV IPC objects of the app's user removed when it stops (system
// services only).
const REMOVE_IPC: Line = ['RemoveIPC', 'yes'];
// Only the native ABI: no 32-bit system calls, an old route around filters.
// Strict only, as a 32-bit program would be killed.
const NATIVE_ARCHITECTURE: Line = ['SystemCallArchitectures', 'native'];
// systemd's list for ordinary services, plus @pkey: V8 (Node 20) calls
// pkey_alloc for its JIT's write protection, which @system-service lacks in
// systemd 252; without it Node is killed with SIGSYS at start.
const SYSCALLS_ALLOWED: Line = ['SystemCallFilter', '@system-service @pkey'];
// Minus privileged calls (setuid, chown, capset...) and resource controls
// (setrlimit, setpriority, sched_setaffinity...).
const SYSCALLS_DENIED: Line = ['SystemCallFilter', '~@privileged @resources'];
// A refused call fails with EPERM instead of killing the process: runtimes
// probe optional calls (Node raises its open-files limit at start) and carry
// on when refused.
const SYSCALL_ERROR: Line = ['SystemCallErrorNumber', 'EPERM'];
// A non-root user's manager sets up mount namespaces and drops the bounding
// set only inside a user namespace of its own: without this line
// PrivateDevices= and CapabilityBoundingSet= fail with 218/CAPABILITIES, and
// PrivateTmp=, ProtectSystem= and the other mount settings are silently not
// applied. The app sees only its own user (others appear as nobody).
const PRIVATE_USERS: Line = ['PrivateUsers', 'yes'];

const STRICT_SYSTEM: readonly Line[] = [
  NO_NEW_PRIVILEGES,
  NO_CAPABILITIES,
  PROTECT_SYSTEM_STRICT,
  PROTECT_HOME,
  PRIVATE_TMP,
  PRIVATE_DEVICES,
  PROTECT_HOSTNAME,
  PROTECT_CLOCK,
  PROTECT_KERNEL_TUNABLES,
  PROTECT_KERNEL_MODULES,
  PROTECT_KERNEL_LOGS,
  PROTECT_CONTROL_GROUPS,
  PROTECT_PROC,
  PROC_SUBSET,
  ADDRESS_FAMILIES,
  RESTRICT_NAMESPACES,
  RESTRICT_REALTIME,
  RESTRICT_SUID_SGID,
  LOCK_PERSONALITY,
  REMOVE_IPC,
  NATIVE_ARCHITECTURE,
  SYSCALLS_ALLOWED,
  SYSCALLS_DENIED,
  SYSCALL_ERROR,
];

// The system list, less what a user manager cannot apply: ProtectProc=,
// ProcSubset=, ProtectControlGroups= and RemoveIPC= are for system
// services only (systemd.exec(5); ProcSubset= was silently not applied);
// ProtectHome= would hide the app itself, whose files a user keeps under
// ~ (%h). Plus PrivateUsers=, without which the rest is not applied or
// fails. The home directory stays writable: ProtectSystem=strict leaves
// it to ProtectHome=.
const SYSTEM_ONLY: ReadonlySet<Line> = new Set([PROTECT_HOME, PROTECT_CONTROL_GROUPS, PROTECT_PROC, PROC_SUBSET, REMOVE_IPC]);
const STRICT_USER: readonly Line[] = STRICT_SYSTEM.filter((line) => !SYSTEM_ONLY.has(line)).flatMap((line) => (line === NO_NEW_PRIVILEGES ? [line, PRIVATE_USERS] : [line]));

const PRESETS: Readonly<Record<Hardening, Readonly<Record<'user' | 'system', readonly Line[]>>>> = {
  none: { system: [], user: [] },
  default: {
    system: [
      NO_NEW_PRIVILEGES,
      PRIVATE_TMP,
      PROTECT_SYSTEM_FULL,
      PROTECT_HOSTNAME,
      PROTECT_KERNEL_TUNABLES,
      PROTECT_KERNEL_MODULES,
      PROTECT_KERNEL_LOGS,
      PROTECT_CONTROL_GROUPS,
      RESTRICT_SUID_SGID,
      RESTRICT_REALTIME,
      LOCK_PERSONALITY,
    ],
    // Only what needs no namespace: the mount settings of the system variant
    // need PrivateUsers=yes in a user manager (see PRIVATE_USERS), that is a
    // user namespace, which hosts that disable unprivileged user namespaces
    // refuse, and a private /tmp would cut the app off from the sockets the
    // user's other programs keep there.
    user: [NO_NEW_PRIVILEGES, RESTRICT_SUID_SGID, RESTRICT_REALTIME, LOCK_PERSONALITY],
  },
  strict: { system: STRICT_SYSTEM, user: STRICT_USER },
};

/** [Service] lines of the preset for the given manager scope, in the order written. */
export function hardeningLines(preset: Hardening, scope: 'user' | 'system'): ReadonlyArray<readonly [key: string, value: string]> {
  return PRESETS[preset][scope];
}
