// The [Service] lines of an exec app: the process as systemd runs it, as
// whom, with what it reads at start (env files, credentials) and the
// sandboxing preset (hardening.ts).
import type { ExecRuntime } from '../manifest/app.js';
import { formatEnvironmentAssignment, formatCommandLine, UnitValueError } from '../unit/escape.js';
import type { UnitFile } from '../unit/unitfile.js';
import { ROOT } from './container.js';
import { field, hostPathValue } from './fields.js';
import { hardeningLines } from './hardening.js';
import type { RenderOptions } from './options.js';

export function execService(unit: UnitFile, runtime: ExecRuntime, options: RenderOptions): void {
  unit.add('Service', 'Type', 'exec');
  if (options.scope === 'system') {
    // Never root by accident: a fresh unprivileged user for each start,
    // unless the manifest names one (or root).
    if (runtime.user === undefined) unit.add('Service', 'DynamicUser', 'yes');
    else if (!ROOT.has(runtime.user)) unit.add('Service', 'User', runtime.user);
    if (runtime.group !== undefined) unit.add('Service', 'Group', runtime.group);
  } else {
    for (const key of ['user', 'group'] as const) {
      if (runtime[key] === undefined) continue;
      field(['exec', key], () => {
        throw new UnitValueError(`only the system manager (--system) can run an app as another ${key}; a user manager runs every app as its own user`);
      });
    }
  }
  for (const [name, value] of runtime.env) field(['exec', 'env', name], () => unit.add('Service', 'Environment', formatEnvironmentAssignment(name, value)));
  // No `-` prefix: a missing file fails the start, and appsd status names it.
  for (const path of runtime.envFiles) unit.add('Service', 'EnvironmentFile', hostPathValue(path));
  // The file's content goes to $CREDENTIALS_DIRECTORY/NAME at start; the unit holds only its path.
  for (const [name, path] of runtime.credentials) unit.add('Service', 'LoadCredential', `${name}:${hostPathValue(path)}`);
  if (runtime.umask !== undefined) unit.add('Service', 'UMask', runtime.umask);
  const directory = runtime.workingDirectory;
  if (directory) field(['exec', 'workingDirectory'], () => unit.add('Service', 'WorkingDirectory', hostPathValue(directory)));
  for (const [key, value] of hardeningLines(runtime.hardening, options.scope)) unit.add('Service', key, value);
  field(['exec', 'command'], () => unit.add('Service', 'ExecStart', formatCommandLine(runtime.command)));
  // Programs that trap SIGTERM and exit 128+15 stopped cleanly, too.
  unit.add('Service', 'SuccessExitStatus', 143);
}
