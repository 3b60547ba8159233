// Test images for the podman tier, built offline: no registry is reachable
// here. A busybox root file system imported with `podman import`, serving files
// with busybox httpd, and a small static socket-activation server.
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** podman settings these VMs need (crun cannot set rlimits here; no journald); given through CONTAINERS_CONF, never /etc. */
export const CONTAINERS_CONF = `[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
log_driver = "k8s-file"

[engine]
runtime = "runc"
events_logger = "file"
cgroup_manager = "cgroupfs"

[network]
network_backend = "netavark"
`;

export function writeContainersConf(dir: string): string {
  const path = join(dir, 'containers.conf');
  writeFileSync(path, CONTAINERS_CONF);
  return path;
}

export const IMAGES = {
  /** httpd on 8080 serving $BODY, after sleeping $DELAY seconds. */
  httpd: 'localhost/appsd-test-httpd:v1',
  /** The same with another default body, to prove an image change. */
  httpdV2: 'localhost/appsd-test-httpd:v2',
  /** Serves on the socket systemd passes (LISTEN_FDS). */
  sockact: 'localhost/appsd-test-sockact:latest',
} as const;

const HTTPD_CMD = ['/bin/sh', '-c', 'sleep "${DELAY:-0}"; echo "${BODY}" > /www/index.html; exec httpd -f -p 8080 -h /www'];

export async function buildTestImages(env: NodeJS.ProcessEnv): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'appsd-images-'));
  try {
    const rootfs = join(dir, 'rootfs');
    for (const sub of ['bin', 'www', 'tmp', 'run', 'var/tmp']) mkdirSync(join(rootfs, sub), { recursive: true });
    copyFileSync(execFileSync('sh', ['-c', 'command -v busybox']).toString().trim(), join(rootfs, 'bin', 'busybox'));
    for (const applet of ['sh', 'httpd', 'sleep', 'echo', 'cat', 'ls', 'test', 'grep', 'id', 'hostname', 'touch', 'mkdir', 'wget']) symlinkSync('busybox', join(rootfs, 'bin', applet));
    const source = fileURLToPath(new URL('../fixtures/sockact-server.c', import.meta.url));
    await run('cc', ['-static', '-O2', '-o', join(rootfs, 'bin', 'sockact-server'), source]);
    const importImage = async (tag: string, changes: string[]) => {
      const args = ['import', ...changes.flatMap((c) => ['--change', c]), '-', tag];
      await new Promise<void>((resolve, reject) => {
        const tar = execFile('tar', ['-C', rootfs, '-c', '.'], { encoding: 'buffer', maxBuffer: 64 << 20 });
        const podman = execFile('podman', args, { env }, (error) => (error ? reject(error) : resolve()));
        tar.stdout!.pipe(podman.stdin!);
      });
    };
    await importImage(IMAGES.httpd, ['ENV BODY=image v1', `CMD ${JSON.stringify(HTTPD_CMD)}`]);
    await importImage(IMAGES.httpdV2, ['ENV BODY=image v2', `CMD ${JSON.stringify(HTTPD_CMD)}`]);
    await importImage(IMAGES.sockact, ['CMD ["/bin/sockact-server"]']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Names of the running containers, from the host's podman. */
export async function runningContainers(env: NodeJS.ProcessEnv): Promise<string[]> {
  const { stdout } = await run('podman', ['ps', '--format', '{{.Names}}'], { env });
  return stdout.split('\n').filter(Boolean);
}

export async function podmanInspect(name: string, env: NodeJS.ProcessEnv): Promise<Record<string, unknown>> {
  const { stdout } = await run('podman', ['inspect', name], { env });
  return (JSON.parse(stdout) as Array<Record<string, unknown>>)[0]!;
}

/** Removes every container named appsd-*, running or not. */
export async function removeAppsdContainers(env: NodeJS.ProcessEnv): Promise<void> {
  const { stdout } = await run('podman', ['ps', '-a', '--filter', 'name=^appsd-', '--format', '{{.Names}}'], { env });
  const names = stdout.split('\n').filter(Boolean);
  if (names.length) await run('podman', ['rm', '-f', '-t', '0', ...names], { env });
}
