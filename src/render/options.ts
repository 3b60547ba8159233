/** Where the programs the units run live. Defaults fit Debian, Fedora and most merged-/usr systems. */
export interface RenderOptions {
  readonly proxydPath: string;
  readonly podmanPath: string;
  readonly bashPath: string;
}

export const DEFAULT_RENDER_OPTIONS: RenderOptions = {
  proxydPath: '/usr/lib/systemd/systemd-socket-proxyd',
  podmanPath: '/usr/bin/podman',
  bashPath: '/bin/bash',
};
