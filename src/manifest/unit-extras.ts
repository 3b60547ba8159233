// `unit:`, the escape hatch: extra [Unit] and [Service] keys for the unit that
// runs the app (the backend behind a proxy, the service itself when native).
// Keys that appsd's design depends on are refused at their line with the
// reason; values are checked for what would break the line structure, and
// the renderer escapes `%` like every other manifest value.
import type { UnitExtras } from './app.js';
import { isRecord, type Context } from './normalize.js';

/** Keys appsd writes or depends on, per section, and why they are not the manifest's. */
const OWNED: Record<'Unit' | 'Service', ReadonlyMap<string, string>> = {
  Unit: new Map([
    ['Description', 'use description:'],
    ['StopWhenUnneeded', 'it is what scales the app to zero'],
    ['StartLimitIntervalSec', 'without it, cold starts hit systemd\'s start limit and the socket stops listening'],
    ['StartLimitBurst', 'without a start limit the socket keeps listening'],
    ['BindsTo', 'the proxy and the backend are bound by appsd'],
    ['Requires', 'appsd orders the app\'s units itself'],
    ['RefuseManualStart', 'the socket starts the app'],
    ['RefuseManualStop', 'appsd stops the app to scale it to zero'],
  ]),
  Service: new Map([
    ['Type', 'appsd picks the type for the runtime'],
    ['ExecStart', 'use container: or exec:'],
    ['ExecStartPre', 'appsd runs its own preparation'],
    ['ExecStartPost', 'the readiness wait runs there'],
    ['ExecStop', 'appsd stops the app itself'],
    ['ExecStopPost', 'appsd cleans up after the app'],
    ['ExecReload', 'appsd does not reload apps'],
    ['ExecCondition', 'the socket decides when the app runs'],
    ['Restart', 'a restarted backend would never scale to zero; the next connection starts it again'],
    ['RemainAfterExit', 'the app must stop for the socket to start it again'],
    ['NotifyAccess', 'the readiness wait and podman need it'],
    ['PIDFile', 'systemd tracks the app itself'],
    ['Sockets', 'the socket is appsd\'s'],
    ['User', 'use exec.user:'],
    ['Group', 'use exec.group:'],
    ['DynamicUser', 'use exec.user:'],
    ['WorkingDirectory', 'use exec.workingDirectory:'],
    ['EnvironmentFile', 'use envFile:'],
    ['LoadCredential', 'use exec.credentials:'],
    ['UMask', 'use exec.umask:'],
    ['KillMode', 'podman and the scale-down need systemd\'s default'],
  ]),
};

const KEY = /^[A-Z][A-Za-z0-9]*$/;

export function unitExtras(ctx: Context, value: unknown): UnitExtras {
  const out: { Unit: Array<readonly [string, string]>; Service: Array<readonly [string, string]> } = { Unit: [], Service: [] };
  if (!isRecord(value)) return out;
  for (const section of ['Unit', 'Service'] as const) {
    const keys = value[section];
    if (!isRecord(keys)) continue;
    for (const [key, raw] of Object.entries(keys)) {
      const path = ['unit', section, key];
      const why = OWNED[section].get(key);
      if (why !== undefined || key.startsWith('X-')) {
        ctx.problem(path, `${key}= is appsd's to set in this unit${why ? `: ${why}` : ''}`, 'reserved-key');
        continue;
      }
      if (!KEY.test(key)) continue; // the schema's pattern reports it
      const values = Array.isArray(raw) ? raw : [raw];
      values.forEach((v, i) => {
        if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') return;
        const text = typeof v === 'boolean' ? (v ? 'yes' : 'no') : String(v);
        if (/[\0-\x1f\x7f]/.test(text) || text.endsWith('\\')) {
          ctx.problem(Array.isArray(raw) ? [...path, i] : path, 'must be one line without control characters, and must not end in \\ (systemd would join the next line)', 'bad-value');
          return;
        }
        out[section].push([key, text]);
      });
    }
  }
  return out;
}
