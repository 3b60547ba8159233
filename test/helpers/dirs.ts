// Temporary apps, unit and state directories for tests of the reconciler
// against real files and a fake systemd.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Dirs {
  readonly root: string;
  readonly appsDir: string;
  readonly unitDir: string;
  readonly stateDir: string;
  write(name: string, text: string): void;
  remove(name: string): void;
  /** Files in the unit directory, sorted. */
  unitFiles(): string[];
  cleanup(): void;
}

export function tempDirs(): Dirs {
  const root = mkdtempSync(join(tmpdir(), 'appsd-unit-'));
  const dirs = { appsDir: join(root, 'apps.d'), unitDir: join(root, 'units'), stateDir: join(root, 'state') };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  return {
    root,
    ...dirs,
    write: (name, text) => writeFileSync(join(dirs.appsDir, name), text),
    remove: (name) => rmSync(join(dirs.appsDir, name), { force: true }),
    unitFiles: () => readdirSync(dirs.unitDir).filter((n) => !n.startsWith('.')).sort(),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** An exec app behind the proxy. */
export function echoApp(name: string, port: number, body = 'v1'): string {
  return `name: ${name}\nlisten: 127.0.0.1:${port}\nbackend: 127.0.0.1:${port + 1}\nexec:\n  command: [/bin/echo, ${body}]\n`;
}
