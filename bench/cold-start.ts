// Cold start: the first request to a scaled-to-zero container app, until the
// response. Side by side in one run, on one private manager:
//   appsd   units appsd generates (readiness wait, --init)
//   seed    units written as in the seed write-up (ExecStartPost=/bin/sleep 1)
//   floor   `podman run` until the port answers: what any tool must pay
//   native  appsd with activation: native (the container gets the socket)
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PrivateManager } from '../src/sandbox/private-manager.js';
import { IMAGES } from '../test/helpers/podman.js';
import { activeState, get, systemctl, waitFor } from '../test/helpers/systemd.js';
import { median, percentile, type Figure } from './stats.js';

const run = promisify(execFile);

const SEED_SOCKET = (port: number) => `[Socket]\nListenStream=127.0.0.1:${port}\n\n[Install]\nWantedBy=sockets.target\n`;
const SEED_PROXY = (backend: number) => `[Unit]
Requires=seed-httpd.service
After=seed-httpd.service
Requires=seed-httpd-proxy.socket
After=seed-httpd-proxy.socket

[Service]
ExecStart=/usr/lib/systemd/systemd-socket-proxyd --exit-idle-time=30s 127.0.0.1:${backend}
`;
// As the seed's container unit, in the form podman 4.3 generates (Type=notify
// instead of podman 2's forking), keeping the seed's sleep 1.
const SEED_CONTAINER = (backend: number) => `[Unit]
Description=Podman container-httpd.service
StopWhenUnneeded=yes

[Service]
Environment=PODMAN_SYSTEMD_UNIT=%n
Restart=on-failure
ExecStartPre=/bin/rm -f %t/%n.ctr-id
ExecStart=/usr/bin/podman run --cidfile=%t/%n.ctr-id --cgroups=no-conmon --rm --sdnotify=conmon -d --replace --name seed-httpd -p 127.0.0.1:${backend}:8080 --env BODY=seed ${IMAGES.httpd}
ExecStartPost=/bin/sleep 1
ExecStop=/usr/bin/podman stop --ignore -t 10 --cidfile=%t/%n.ctr-id
ExecStopPost=/usr/bin/podman rm -f --ignore -t 10 --cidfile=%t/%n.ctr-id
Type=notify
NotifyAccess=all
`;

export interface ColdStartOptions {
  readonly manager: PrivateManager;
  readonly podmanEnv: NodeJS.ProcessEnv;
  readonly appsd: (...args: string[]) => Promise<{ code: number | null; stdout: string; stderr: string }>;
  readonly writeManifest: (name: string, text: string) => void;
  readonly runs: number;
}

export async function coldStart(o: ColdStartOptions): Promise<Figure[]> {
  const { manager } = o;
  o.writeManifest('cold.yaml', `listen: 127.0.0.1:19500\nidleTimeout: 1h\ncontainer:\n  image: ${IMAGES.httpd}\n  port: 8080\n  env: {BODY: cold}\n`);
  o.writeManifest('coldnative.yaml', `listen: 127.0.0.1:19503\nactivation: native\ncontainer:\n  image: ${IMAGES.sockact}\n  command: [/bin/sockact-server, "native\\n"]\n`);
  const apply = await o.appsd('apply');
  if (apply.code !== 0) throw new Error(`apply failed: ${apply.stdout}${apply.stderr}`);
  writeFileSync(join(manager.unitDir, 'seed-httpd-proxy.socket'), SEED_SOCKET(19501));
  writeFileSync(join(manager.unitDir, 'seed-httpd-proxy.service'), SEED_PROXY(19511));
  writeFileSync(join(manager.unitDir, 'seed-httpd.service'), SEED_CONTAINER(19511));
  await systemctl(manager, 'daemon-reload');
  await systemctl(manager, 'start', 'seed-httpd-proxy.socket');

  const scaleToZero = async (proxy: string, backend: string) => {
    // The seed's container lacks --init: its httpd ignores SIGTERM and every
    // stop would wait out podman's 10 s. Kill it first: this measures starts.
    if (proxy.startsWith('seed')) await run('podman', ['kill', 'seed-httpd'], { env: o.podmanEnv }).catch(() => {});
    await systemctl(manager, 'stop', proxy);
    await waitFor(async () => (await activeState(manager, backend)) !== 'active' && (await activeState(manager, backend)) !== 'deactivating', 30_000, `${backend} to stop`);
    // The seed's units end "failed" after a scale-down; without a reset its
    // start limit would soon refuse to start it at all.
    await systemctl(manager, 'reset-failed', backend, proxy);
    await sleep(100);
  };
  const timeRequest = async (port: number, expect: string) => {
    const started = performance.now();
    const body = await get(port, '/', 30_000);
    const ms = performance.now() - started;
    if (body !== expect) throw new Error(`unexpected answer on ${port}: ${JSON.stringify(body)}`);
    return ms;
  };
  const samples: Record<string, number[]> = { appsd: [], seed: [], floor: [], native: [] };
  for (let i = 0; i < o.runs; i++) {
    // Interleaved, so that drift in the machine's load hits every variant alike.
    await scaleToZero('appsd-cold.service', 'appsd-cold-backend.service');
    samples['appsd']!.push(await timeRequest(19500, 'cold\n'));
    await scaleToZero('seed-httpd-proxy.service', 'seed-httpd.service');
    samples['seed']!.push(await timeRequest(19501, 'seed\n'));
    samples['floor']!.push(await floorOnce(o.podmanEnv));
    await systemctl(manager, 'stop', 'appsd-coldnative.service');
    await sleep(100);
    samples['native']!.push(await timeRequest(19503, 'native\n'));
  }
  await scaleToZero('appsd-cold.service', 'appsd-cold-backend.service');
  await scaleToZero('seed-httpd-proxy.service', 'seed-httpd.service');
  const floor = median(samples['floor']!);
  return Object.entries(samples).map(([variant, ms]) => ({
    figure: 'cold start',
    variant,
    unit: 'ms',
    median: median(ms),
    p90: percentile(ms, 90),
    runs: ms.length,
    vsBaseline: variant === 'floor' ? 1 : median(ms) / floor,
    baseline: 'floor',
    note: variant === 'floor' ? 'podman run until the port answers' : `${(median(ms) - floor).toFixed(0)} ms over the floor`,
  }));
}

/** podman run, then poll the port until an HTTP request succeeds. */
async function floorOnce(env: NodeJS.ProcessEnv): Promise<number> {
  const started = performance.now();
  await run('podman', ['run', '-d', '--rm', '--init', '--name', 'appsd-bench-floor', '-p', '127.0.0.1:19502:8080', '--env', 'BODY=floor', IMAGES.httpd], { env });
  for (;;) {
    try {
      if ((await get(19502, '/', 2000)) === 'floor\n') break;
    } catch {
      await sleep(5);
    }
  }
  const ms = performance.now() - started;
  await run('podman', ['rm', '-f', '-t', '0', 'appsd-bench-floor'], { env });
  return ms;
}
