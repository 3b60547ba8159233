// Manifests for the real-systemd tiers: exec apps running the fixture HTTP server.
import { fileURLToPath } from 'node:url';
import { get } from './systemd.js';

export const HELLO_SERVER = fileURLToPath(new URL('../fixtures/hello-server.mjs', import.meta.url));

/** An app answering `body` on 127.0.0.1:listen, served from 127.0.0.1:backend; `extra` adds manifest lines. */
export function execApp(listen: number, backend: number, body: string, extra = ''): string {
  return [
    `listen: 127.0.0.1:${listen}`,
    `backend: 127.0.0.1:${backend}`,
    extra,
    'exec:',
    `  command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(HELLO_SERVER)}, "${backend}", ${JSON.stringify(body)}]`,
  ].filter(Boolean).join('\n') + '\n';
}

/** A check for waitFor: does the port answer `body`? */
export const answers = (port: number, body: string) => async (): Promise<boolean> => (await get(port, '/', 500).catch(() => '')) === body;
