// sd_notify for a service of Type=notify. Node cannot send unix datagrams, so
// systemd-notify sends them; it lingers a moment, because the manager drops a
// notification whose sender has exited before it is read (systemd 252).
import { spawn } from 'node:child_process';

export function notifySystemd(fields: { ready?: boolean; status?: string; stopping?: boolean }): void {
  if (!process.env['NOTIFY_SOCKET']) return;
  const args: string[] = [];
  if (fields.ready) args.push('--ready');
  if (fields.stopping) args.push('STOPPING=1');
  if (fields.status) args.push(`--status=${fields.status}`);
  const child = spawn('/bin/sh', ['-c', 'systemd-notify "$@" && sleep 1', 'notify', ...args], { stdio: 'ignore', detached: true });
  child.on('error', () => {});
  child.unref();
}
