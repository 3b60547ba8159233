// What the core needs from podman, beyond the units that run it: the
// networks apps join. Owned by the core like SystemdPort; podman/networks.ts
// implements it, tests fake it.

export interface PodmanPort {
  /** Every network by name, with its io.appsd.instance label (undefined: none). */
  networks(): Promise<Map<string, string | undefined>>;
  /** Creates the network, labelled as this appsd's. */
  createNetwork(name: string): Promise<void>;
  /** Removes a network appsd created; fails while a container uses it. */
  removeNetwork(name: string): Promise<void>;
}
