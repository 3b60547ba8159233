// PodmanPort over the podman command line: the networks apps join. Called
// only by passes whose apps join (or joined) a network, so the many apps
// that do not pay nothing for it.
import { promisify } from 'node:util';
import { childProcess } from '../node-lazy.js';
import { NETWORK_LABEL } from '../plan/observed.js';
import type { PodmanPort } from '../plan/podman-port.js';
import { TransientError } from '../errors.js';

// node:child_process loads on the first podman call (node-lazy.ts): most passes and commands make none.
const run = (file: string, args: readonly string[], options: { maxBuffer: number; timeout: number }) => promisify(childProcess().execFile)(file, args, options);

export class PodmanNetworks implements PodmanPort {
  /**
   * @param podmanPath the podman the units run
   * @param owner the label value that marks a network as this appsd's
   */
  constructor(
    private readonly podmanPath: string,
    private readonly owner: string,
  ) {}

  async networks(): Promise<Map<string, string | undefined>> {
    const { stdout } = await this.podman('network', 'ls', '--format', 'json');
    const list = JSON.parse(stdout) as Array<{ name?: unknown; labels?: Record<string, unknown> | null }>;
    const out = new Map<string, string | undefined>();
    for (const n of Array.isArray(list) ? list : []) {
      if (typeof n.name !== 'string') continue;
      const label = n.labels?.[NETWORK_LABEL];
      out.set(n.name, typeof label === 'string' ? label : undefined);
    }
    return out;
  }

  async createNetwork(name: string): Promise<void> {
    await this.podman('network', 'create', `--label=${NETWORK_LABEL}=${this.owner}`, '--', name);
  }

  async removeNetwork(name: string): Promise<void> {
    await this.podman('network', 'rm', '--', name);
  }

  private async podman(...args: string[]): Promise<{ stdout: string }> {
    try {
      return await run(this.podmanPath, args, { maxBuffer: 16 << 20, timeout: 60_000 });
    } catch (error) {
      const e = error as NodeJS.ErrnoException & { stderr?: string };
      // No podman at all is worth retrying after the operator installs it;
      // a refusal (a network in use) is reported as podman said it.
      if (e.code === 'ENOENT') throw new TransientError(`podman not found at ${this.podmanPath}`);
      throw new Error((e.stderr ?? '').trim().replace(/^Error: /, '') || e.message);
    }
  }
}
