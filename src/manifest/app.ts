// The validated, normalized form of a manifest: everything the renderer needs,
// with defaults applied and addresses parsed. Nothing here is raw user text
// that has not been checked.
import type { Placement } from './placement.js';
import type { InetAddress, ListenAddress } from './address.js';
import type { HostPath, Volume } from './paths.js';

export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
export const DEFAULT_READINESS_TIMEOUT_MS = 30_000;

export type Activation = 'proxy' | 'native';

export interface Readiness {
  /** health: the container's healthCheck passes (containers with a healthCheck only). */
  readonly check: 'tcp' | 'http' | 'health' | 'none';
  readonly path: string;
  readonly timeoutMs: number;
}

export interface Resources {
  /** As written, e.g. "512M": systemd and podman both read it. */
  readonly memory?: string;
  /** Cores, e.g. 0.5. */
  readonly cpu?: number;
}

/** A podman secret handed to the container: as a file under /run/secrets, or as an environment variable. */
export type Secret =
  | { readonly name: string; readonly as: 'file'; readonly target: string }
  | { readonly name: string; readonly as: 'env'; readonly target: string };

export interface HealthCheck {
  /** A string runs in the container's shell; a list is run as written. */
  readonly command: string | readonly string[];
  readonly intervalMs?: number;
  readonly timeoutMs?: number;
  readonly retries?: number;
  readonly startPeriodMs?: number;
}

/** A preset of systemd sandboxing for exec apps (render/hardening.ts). */
export type Hardening = 'strict' | 'default' | 'none';
export const HARDENING_PRESETS: readonly Hardening[] = ['strict', 'default', 'none'];

export type UserNamespace = 'keep-id' | 'auto' | 'host';
export type PullPolicy = 'missing' | 'always' | 'newer' | 'never';
export type AutoUpdate = 'registry' | 'local';

export interface ContainerRuntime {
  readonly kind: 'container';
  readonly image: string;
  readonly port?: number;
  readonly command?: readonly string[];
  readonly entrypoint?: readonly string[];
  readonly env: ReadonlyArray<readonly [string, string]>;
  readonly envFiles: readonly HostPath[];
  readonly secrets: readonly Secret[];
  readonly volumes: readonly Volume[];
  /** `/path[:options]`, checked. */
  readonly tmpfs: readonly string[];
  /** podman --mount values, checked. */
  readonly mounts: readonly string[];
  readonly devices: readonly string[];
  readonly resources: Resources;
  /** podman --user; see RenderOptions.scope for the default. */
  readonly user?: string;
  readonly userns?: UserNamespace;
  /** podman networks to join, by name; appsd creates the ones that do not exist. */
  readonly networks: readonly string[];
  readonly healthCheck?: HealthCheck;
  readonly pull?: PullPolicy;
  readonly autoUpdate?: AutoUpdate;
  readonly readOnly: boolean;
  readonly noNewPrivileges: boolean;
  /** Capability names, upper case with CAP_ (or ALL). */
  readonly capabilities: { readonly add: readonly string[]; readonly drop: readonly string[] };
  readonly workingDirectory?: string;
  readonly labels: ReadonlyArray<readonly [string, string]>;
  /** Whole seconds podman waits after SIGTERM before SIGKILL. */
  readonly stopTimeoutS?: number;
  readonly shmSize?: string;
  /** Extra `podman run` arguments, one word each, before the image. */
  readonly podmanArgs: readonly string[];
}

export interface ExecRuntime {
  readonly kind: 'exec';
  readonly command: readonly string[];
  readonly env: ReadonlyArray<readonly [string, string]>;
  readonly envFiles: readonly HostPath[];
  /** LoadCredential=NAME:PATH: the file is handed to the process, never copied into a unit. */
  readonly credentials: ReadonlyArray<readonly [name: string, path: HostPath]>;
  readonly workingDirectory?: HostPath;
  readonly resources: Resources;
  /** User= with the system manager; undefined: DynamicUser=yes. */
  readonly user?: string;
  readonly group?: string;
  /** Octal, e.g. 0027. */
  readonly umask?: string;
  readonly hardening: Hardening;
}

/** Extra keys for the unit that runs the app (`unit:` in the manifest), in the order written. */
export interface UnitExtras {
  readonly Unit: ReadonlyArray<readonly [key: string, value: string]>;
  readonly Service: ReadonlyArray<readonly [key: string, value: string]>;
}

/** One `listen:` entry: an address, how it is read, and the backend port it forwards to. */
export interface Listener {
  readonly address: ListenAddress;
  /** UDP (`{udp: ADDRESS}`): a datagram socket, for native activation only (systemd-socket-proxyd forwards streams). */
  readonly udp: boolean;
  /** `ADDRESS -> PORT`: the backend port this address forwards to; undefined: the app's main port. */
  readonly to?: number;
}

export interface App {
  readonly name: string;
  /** The manifest's path, absolute. */
  readonly file: string;
  readonly description?: string;
  /** Empty: an internal app, with no socket, that runs only while an app that needs it runs. */
  readonly listen: readonly Listener[];
  /** Names of the apps this one needs (`needs:`), in the order written, without repeats. */
  readonly needs: readonly string[];
  readonly activation: Activation;
  /** null: never scale to zero. */
  readonly idleTimeoutMs: number | null;
  readonly readiness: Readiness;
  readonly maxConnections?: number;
  /** As written in the manifest; a container without one gets an allocated port at render time. */
  readonly backend?: InetAddress;
  readonly runtime: Runtime;
  readonly unit: UnitExtras;
  /** Which hosts run it (`hosts:`, `placement:`); undefined: every host. */
  readonly placement?: Placement;
}

/**
 * How the app runs. Every place that depends on the kind switches on it
 * exhaustively (see assertNever), so a new kind is a compile error until
 * each of them handles it.
 */
export type Runtime = ContainerRuntime | ExecRuntime;

export type RuntimeKind = Runtime['kind'];

/** For the default branch of an exhaustive switch: unreachable unless a case is missing. */
export function assertNever(value: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(value)}`);
}
