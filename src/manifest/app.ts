// The validated, normalized form of a manifest: everything the renderer needs,
// with defaults applied and addresses parsed. Nothing here is raw user text
// that has not been checked.
import type { InetAddress, ListenAddress } from './address.js';
import type { HostPath, Volume } from './paths.js';

export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
export const DEFAULT_READINESS_TIMEOUT_MS = 30_000;

export type Activation = 'proxy' | 'native';

export interface Readiness {
  readonly check: 'tcp' | 'http' | 'none';
  readonly path: string;
  readonly timeoutMs: number;
}

export interface Resources {
  /** As written, e.g. "512M": systemd and podman both read it. */
  readonly memory?: string;
  /** Cores, e.g. 0.5. */
  readonly cpu?: number;
}

export interface ContainerRuntime {
  readonly kind: 'container';
  readonly image: string;
  readonly port?: number;
  readonly command?: readonly string[];
  readonly env: ReadonlyArray<readonly [string, string]>;
  readonly volumes: readonly Volume[];
  readonly resources: Resources;
  /** podman --user; see RenderOptions.scope for the default. */
  readonly user?: string;
}

export interface ExecRuntime {
  readonly kind: 'exec';
  readonly command: readonly string[];
  readonly env: ReadonlyArray<readonly [string, string]>;
  readonly workingDirectory?: HostPath;
  readonly resources: Resources;
  /** User= with the system manager; undefined: DynamicUser=yes. */
  readonly user?: string;
}

export interface App {
  readonly name: string;
  /** The manifest's path, absolute. */
  readonly file: string;
  readonly description?: string;
  readonly listen: readonly ListenAddress[];
  readonly activation: Activation;
  /** null: never scale to zero. */
  readonly idleTimeoutMs: number | null;
  readonly readiness: Readiness;
  readonly maxConnections?: number;
  /** As written in the manifest; a container without one gets an allocated port at render time. */
  readonly backend?: InetAddress;
  readonly runtime: Runtime;
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
