// Connecting to the manager for a scope, with a message that says how to fix
// the usual reasons it fails.
import { SystemdManager, SystemdUnavailableError, busAddress } from '../systemd/manager.js';
import { UsageError, type Scope } from './context.js';

export async function connectManager(scope: Scope, offlineHint: boolean): Promise<SystemdManager> {
  try {
    return await SystemdManager.connect({ scope });
  } catch (error) {
    if (!(error instanceof SystemdUnavailableError)) throw error;
    let address = '';
    try {
      address = busAddress(scope);
    } catch {
      // busAddress's own message is in error.message already.
    }
    const fixes =
      scope === 'user'
        ? 'run appsd in a user session (or enable lingering: loginctl enable-linger $USER), or set XDG_RUNTIME_DIR / DBUS_SESSION_BUS_ADDRESS'
        : 'run appsd as root on a host booted with systemd';
    throw new UsageError(
      `cannot reach the systemd ${scope} manager${address ? ` (${address})` : ''}: ${error.message}\n` +
        `  to fix: ${fixes}` +
        (offlineHint ? '\n  or use --offline to compare with the unit directory only' : ''),
    );
  }
}
