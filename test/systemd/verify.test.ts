// Every unit rendered from the golden cases and the example apps.d passes
// `systemd-analyze verify` with no warning at all: systemd itself reads them.
import anyTest from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { readManifestSources } from '../../src/fs/manifest-dir.js';
import { loadManifests } from '../../src/manifest/load.js';
import { desiredUnits } from '../../src/render/desired.js';
import { DEFAULT_RENDER_OPTIONS } from '../../src/render/options.js';
import type { RenderedUnit } from '../../src/render/units.js';
import { goldenCases, renderGoldenCase } from '../helpers/golden.js';
import { needPrograms, realTier } from '../helpers/tier.js';

const run = promisify(execFile);
const test = anyTest;

async function verify(units: RenderedUnit[]): Promise<{ code: number; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'appsd-verify-'));
  try {
    const runtime = join(dir, 'run');
    mkdirSync(runtime, { mode: 0o700 });
    const files = units.map((u) => {
      writeFileSync(join(dir, u.name), u.text);
      return join(dir, u.name);
    });
    try {
      const { stdout, stderr } = await run('systemd-analyze', ['--user', 'verify', '--man=no', ...files], {
        env: { ...process.env, XDG_RUNTIME_DIR: runtime, SYSTEMD_LOG_COLOR: '0' },
      });
      return { code: 0, output: (stdout + stderr).trim() };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, output: (e.stdout + e.stderr).trim() };
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

realTier('systemd-analyze', needPrograms(['systemd-analyze', 'podman', 'python3']), () => {
  for (const name of goldenCases) {
    test(`systemd-analyze verify accepts golden case ${name}`, async (t) => {
      const { units } = await renderGoldenCase(name);
      if (units.length === 0) return t.pass();
      t.deepEqual(await verify(units), { code: 0, output: '' });
    });
  }

  test('systemd-analyze verify accepts the example apps.d', async (t) => {
    const appsDir = fileURLToPath(new URL('../../apps.d/', import.meta.url));
    const result = loadManifests(await readManifestSources(appsDir));
    t.deepEqual(result.diagnostics, []);
    const units = desiredUnits(result.apps, DEFAULT_RENDER_OPTIONS).apps.flatMap((a) => a.units);
    t.true(units.length > 0);
    t.deepEqual(await verify(units), { code: 0, output: '' });
  });

  test('the verifier is not a rubber stamp: it reports a broken unit', async (t) => {
    const broken = { name: 'appsd-x.service', text: '[Service]\nExecStart=/nonexistent/program\nBogusKey=1\n' };
    const result = await verify([broken]);
    t.not(result.output, '');
  });
});
