// Helpers for tests against a private systemd manager.
import dbus, { type MessageBus } from 'dbus-next';
import { request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { PrivateManager } from '../../src/sandbox/private-manager.js';

const run = promisify(execFile);

/** GET http://127.0.0.1:PORT/PATH; resolves to the body, rejects on a reset or timeout. */
export function get(port: number, path = '/', timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, timeout: timeoutMs, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

export async function systemctl(manager: PrivateManager, ...args: string[]): Promise<string> {
  try {
    const { stdout } = await run('systemctl', ['--user', '--no-pager', ...args], { env: { ...process.env, ...manager.env } });
    return stdout.trim();
  } catch (error) {
    return ((error as { stdout?: string }).stdout ?? '').trim();
  }
}

/** ActiveState of a unit, e.g. active, inactive, failed. */
export function activeState(manager: PrivateManager, unit: string): Promise<string> {
  return systemctl(manager, 'show', '-p', 'ActiveState', '--value', unit);
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * Counts daemon-reloads as systemd reports them: the manager emits
 * Reloading(true) at the start of each one.
 */
export class ReloadCounter {
  count = 0;
  private constructor(private readonly bus: MessageBus) {}

  static async attach(manager: PrivateManager): Promise<ReloadCounter> {
    const bus = dbus.sessionBus({ busAddress: manager.env['DBUS_SESSION_BUS_ADDRESS']! });
    const counter = new ReloadCounter(bus);
    bus.on('message', (msg) => {
      if (msg.member === 'Reloading' && msg.interface === 'org.freedesktop.systemd1.Manager' && msg.body[0] === true) counter.count++;
    });
    const { Message } = dbus;
    await bus.call(new Message({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'AddMatch', signature: 's', body: ["type='signal',interface='org.freedesktop.systemd1.Manager',member='Reloading'"] }));
    await bus.call(new Message({ destination: 'org.freedesktop.systemd1', path: '/org/freedesktop/systemd1', interface: 'org.freedesktop.systemd1.Manager', member: 'Subscribe' }));
    return counter;
  }

  /**
   * The count once every Reloading signal systemd sent so far has arrived: a
   * round trip to systemd on the same connection is a barrier, because the bus
   * delivers what systemd sent to us in the order it sent it, so the reply
   * comes after any signal emitted before it.
   */
  async settle(): Promise<number> {
    const { Message } = dbus;
    await this.bus.call(new Message({ destination: 'org.freedesktop.systemd1', path: '/org/freedesktop/systemd1', interface: 'org.freedesktop.systemd1.Manager', member: 'GetDefaultTarget' }));
    return this.count;
  }

  close(): void {
    this.bus.disconnect();
  }
}
