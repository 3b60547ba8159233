// The architecture as a test: the pure core (manifest/, render/, plan/, export/,
// status/, unit/) imports nothing from the adapters and the layers above it,
// and does no I/O of its own. docs/architecture.md draws the same picture.
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
const CORE = ['manifest', 'render', 'plan', 'status', 'unit', 'export'];
const OUTSIDE_CORE = ['systemd', 'podman', 'controller', 'cli', 'fs', 'reconcile', 'sandbox', 'logs', 'metrics', 'host'];
// Node modules that do I/O. The exceptions, named: the manifest schema is
// read once from the package's own schema file, and address.ts uses only
// node:net's pure isIPv4/isIPv6.
const IO_MODULES = /^node:(fs|fs\/promises|net|child_process|dgram|http|https)$/;
const ALLOWED_IO = new Set(['manifest/schema.ts node:fs', 'manifest/address.ts node:net']);

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^(?:import|export)[^'"]*from\s+'([^']+)'/gm)].map((m) => m[1]!);
}

const coreFiles = CORE.flatMap((dir) => readdirSync(join(SRC, dir)).filter((f) => f.endsWith('.ts')).map((f) => `${dir}/${f}`));

test('the core imports no adapter, controller or command', (t) => {
  t.true(coreFiles.length > 20);
  const offending = coreFiles.flatMap((file) =>
    imports(join(SRC, file))
      .filter((spec) => OUTSIDE_CORE.some((dir) => spec.startsWith(`../${dir}/`)))
      .map((spec) => `${file} imports ${spec}`),
  );
  t.deepEqual(offending, []);
});

test('the core does no I/O', (t) => {
  const offending = coreFiles.flatMap((file) =>
    imports(join(SRC, file))
      .filter((spec) => IO_MODULES.test(spec) && !ALLOWED_IO.has(`${file} ${spec}`))
      .map((spec) => `${file} imports ${spec}`),
  );
  t.deepEqual(offending, []);
});

test('the reconciler reaches systemd only through the port', (t) => {
  const files = readdirSync(join(SRC, 'reconcile')).map((f) => `reconcile/${f}`);
  const offending = files.flatMap((file) => imports(join(SRC, file)).filter((spec) => spec.startsWith('../systemd/')).map((spec) => `${file} imports ${spec}`));
  t.deepEqual(offending, []);
});
