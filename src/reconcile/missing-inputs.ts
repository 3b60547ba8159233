// Why an app's start fails when what it reads at start is missing: an env
// file, a credential file, a podman secret. systemd and podman say so only in
// the journal ("Failed to load environment files", "no such secret"); `appsd
// status` asks here for apps whose last start failed, and names the culprit.
import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { homedir } from 'node:os';
import { promisify } from 'node:util';
import type { App } from '../manifest/app.js';
import type { HostPath } from '../manifest/paths.js';

const run = promisify(execFile);

/** The first missing input, as a sentence, or undefined when all are there. */
export async function missingInput(app: App, scope: 'user' | 'system', podmanPath: string): Promise<string | undefined> {
  // %h of the manager's user: root's home in the system manager.
  const home = scope === 'system' ? '/root' : homedir();
  const path = (p: HostPath) => (p.home ? `${home}${p.path}` : p.path);
  const unreadable = async (p: HostPath) => access(path(p), constants.R_OK).then(() => false, () => true);
  const runtime = app.runtime;
  for (const file of runtime.envFiles) {
    if (await unreadable(file)) return `the env file ${path(file)} does not exist or cannot be read`;
  }
  if (runtime.kind === 'exec') {
    for (const [name, file] of runtime.credentials) {
      if (await unreadable(file)) return `the credential ${name} (${path(file)}) does not exist or cannot be read`;
    }
    return undefined;
  }
  for (const secret of runtime.secrets) {
    const exists = await run(podmanPath, ['secret', 'inspect', '--', secret.name]).then(() => true, () => false);
    if (!exists) return `the podman secret ${secret.name} does not exist (podman secret create ${secret.name} FILE)`;
  }
  return undefined;
}
