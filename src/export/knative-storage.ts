// What a container app mounts, as Knative volumes: tmpfs (and /dev/shm) as
// memory-backed emptyDirs, secret files as Secret volumes. Knative allows no
// host path and no persistent volume unless a cluster turns its feature flags
// on (knative.dev/serving pkg/apis/config/features.go), so bind mounts,
// named volumes and devices are refused with the reason.
import { posix } from 'node:path';
import type { ContainerRuntime } from '../manifest/app.js';
import type { Path } from '../manifest/source.js';
import { binaryQuantity, isDns1123Subdomain } from './k8s-values.js';
import type { Volume, VolumeMount } from './knative-types.js';
import type { ExportProblem, Report } from './problems.js';

export interface Storage {
  readonly volumes: Volume[];
  readonly mounts: VolumeMount[];
  readonly problems: ExportProblem[];
}

/** Where podman puts a secret given by a plain file name. */
export const SECRETS_DIR = '/run/secrets';

/** Mount paths Knative's webhook refuses (k8s_validation.go, reservedPaths; before Knative 1.13 also /tmp and /var). */
const RESERVED_PATHS = new Set(['/', '/dev', '/dev/log']);

/**
 * tmpfs options an emptyDir can do without: its files are the pod's own and
 * writable by any user (mode 0777), so ownership and mode options (U, mode=,
 * uid=, gid=) change nothing the app can rely on; the rest are mount flags
 * and propagation, which a pod's volume does not take. The differences are in
 * docs/kubernetes.md.
 */
const IGNORED_TMPFS_OPTIONS = /^(U|rw|exec|noexec|suid|nosuid|dev|nodev|tmpcopyup|notmpcopyup|atime|noatime|relatime|norelatime|strictatime|nodiratime|r?private|r?shared|r?slave|r?unbindable|(mode|uid|gid)=.*)$/;

const HOST_PATH = 'a bind mount of a host path: a pod runs on any node of the cluster, and Knative allows no hostPath volume (unless the cluster turns on kubernetes.podspec-volumes-hostpath)';
const NAMED_VOLUME = (name?: string) =>
  `the named volume${name === undefined ? '' : ` "${name}"`} keeps data on this host; Knative allows no persistent volume unless the cluster turns on kubernetes.podspec-persistent-volume-claim (and -write for writes): keep the data in a database or an object store, or use tmpfs: for scratch space`;

export function knativeStorage(runtime: ContainerRuntime): Storage {
  const out: Storage = { volumes: [], mounts: [], problems: [] };
  const problem: Report = (path, message, atKey = false) => void out.problems.push({ path, message, ...(atKey && { atKey }) });
  const seen = new Set<string>();
  /** Adds a volume and its mount, unless Knative would refuse the path. */
  const mount = (path: Path, volume: Volume, at: string, extra: Omit<VolumeMount, 'name' | 'mountPath'> = {}) => {
    const clean = posix.normalize(at).replace(/(.)\/$/, '$1');
    if (RESERVED_PATHS.has(clean)) return problem(path, `Knative reserves the mount path ${clean} for itself`);
    if (seen.has(clean)) return problem(path, `${clean} is mounted twice (Knative takes one mount per path)`);
    seen.add(clean);
    out.volumes.push(volume);
    out.mounts.push({ name: volume.name, mountPath: at, ...extra });
  };

  runtime.volumes.forEach((volume, i) => {
    problem(['container', 'volumes', i], volume.kind === 'bind' ? HOST_PATH : NAMED_VOLUME(volume.name));
  });
  runtime.tmpfs.forEach((text, i) => {
    const path: Path = ['container', 'tmpfs', i];
    const colon = text.indexOf(':');
    const target = colon < 0 ? text : text.slice(0, colon);
    const options = colon < 0 ? [] : text.slice(colon + 1).split(',');
    const emptyDir = memoryDir(path, options, problem, /^size=(.*)$/);
    if (emptyDir) mount(path, { name: `tmpfs-${i}`, emptyDir: emptyDir.dir }, target, emptyDir.readOnly ? { readOnly: true } : {});
  });
  runtime.mounts.forEach((text, i) => {
    const path: Path = ['container', 'mounts', i];
    const fields = new Map(text.split(',').map((part) => [part.split('=')[0]!, part.includes('=') ? part.slice(part.indexOf('=') + 1) : 'true']));
    const type = fields.get('type');
    if (type !== 'tmpfs') return problem(path, type === 'bind' ? HOST_PATH : type === 'volume' ? NAMED_VOLUME() : `a ${type} mount: of podman's mounts only type=tmpfs has a Knative equivalent (an emptyDir)`);
    const target = fields.get('target') ?? fields.get('dst') ?? fields.get('destination')!;
    // The rest as tmpfs options: ro or rw, mode=, and the flags as they are.
    const options = [...fields]
      .filter(([key]) => !['type', 'target', 'dst', 'destination'].includes(key))
      .map(([key, value]) =>
        key === 'ro' || key === 'readonly' ? (value === 'false' ? 'rw' : 'ro') : key === 'tmpfs-mode' ? `mode=${value}` : value === 'true' ? key : `${key}=${value}`,
      );
    const emptyDir = memoryDir(path, options, problem, /^tmpfs-size=(.*)$/);
    if (emptyDir) mount(path, { name: `mount-${i}`, emptyDir: emptyDir.dir }, target, emptyDir.readOnly ? { readOnly: true } : {});
  });
  if (runtime.shmSize !== undefined) {
    const size = binaryQuantity(runtime.shmSize);
    // The schema lets only sizes through (digits and b, k, m or g).
    if (size) mount(['container', 'shmSize'], { name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: size } }, '/dev/shm');
  }
  runtime.secrets.forEach((secret, i) => {
    if (secret.as !== 'file') return;
    const path: Path = ['container', 'secrets', i];
    if (!isDns1123Subdomain(secret.name)) return problem(path, secretNameProblem(secret.name));
    // subPath mounts the one key as a file at the very path podman uses,
    // beside whatever else the image has in that directory.
    const at = secret.target.startsWith('/') ? secret.target : `${SECRETS_DIR}/${secret.target}`;
    mount(path, { name: `secret-${i}`, secret: { secretName: secret.name } }, at, { subPath: secret.name, readOnly: true });
  });
  if (runtime.devices.length) problem(['container', 'devices'], 'host devices: Knative gives a pod no device of its node', true);
  return out;
}

/** Kubernetes names a Secret more narrowly than podman: the reason, for an error. */
export function secretNameProblem(name: string): string {
  return `the secret "${name}" would be the Kubernetes Secret of that name, and a Secret name is lower-case letters, digits, '-' and '.' (starting and ending with a letter or digit): rename the secret`;
}

/** A memory-backed emptyDir from tmpfs options, or undefined after reporting an option it cannot take. */
function memoryDir(
  path: Path,
  options: readonly string[],
  problem: Report,
  sizeOption: RegExp,
): { dir: { medium: 'Memory'; sizeLimit?: string }; readOnly: boolean } | undefined {
  let sizeLimit: string | undefined;
  let readOnly = false;
  for (const option of options) {
    const size = sizeOption.exec(option)?.[1];
    if (size !== undefined) {
      sizeLimit = binaryQuantity(size);
      if (sizeLimit === undefined) return void problem(path, `the size "${size}" has no Kubernetes quantity (an emptyDir's sizeLimit is in bytes, e.g. 64m)`);
    } else if (option === 'ro') readOnly = true;
    else if (!IGNORED_TMPFS_OPTIONS.test(option)) return void problem(path, `the tmpfs option "${option}" has no equivalent on a Kubernetes emptyDir`);
  }
  return { dir: { medium: 'Memory', ...(sizeLimit !== undefined && { sizeLimit }) }, readOnly };
}
