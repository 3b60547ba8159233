// Property, against systemd itself: random manifests that validate (with
// hostile values wherever any value is allowed) render units that
// systemd-analyze verify accepts without a word, and that a real manager
// loads (LoadState=loaded).
import anyTest, { type TestFn } from 'ava';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { loadManifests } from '../../src/manifest/load.js';
import { desiredUnits } from '../../src/render/desired.js';
import { DEFAULT_RENDER_OPTIONS } from '../../src/render/options.js';
import type { PrivateManager } from '../../src/sandbox/private-manager.js';
import { SystemdManager } from '../../src/systemd/manager.js';
import { validManifestObject } from '../helpers/arbitrary.js';
import { privateManagerTier } from '../helpers/tier.js';

const run = promisify(execFile);
const test = anyTest as TestFn<{ manager: PrivateManager }>;
const SAMPLE = 40;

privateManagerTier(test, 'property (real systemd)', () => {
  test('random valid manifests: systemd-analyze verify says nothing, and the manager loads every unit', async (t) => {
    const seed = Number(process.env['APPSD_PROPERTY_SEED'] ?? Date.now() % 100000);
    t.log(`seed ${seed} (APPSD_PROPERTY_SEED=${seed} repeats this sample)`);
    const objects = fc.sample(validManifestObject, { numRuns: SAMPLE, seed });
    // Unique names and ports across the sample, so all of them go in at once.
    const sources = objects.map((o, i) => ({ file: `/srv/apps.d/p${i}.yaml`, text: stringify({ ...o, name: `p${i}`, listen: `127.0.0.1:${40000 + i}`, backend: `127.0.0.1:${41000 + i}` }) }));
    const load = loadManifests(sources);
    // Whatever validates (load and render, as appsd validate does) must verify and load.
    const desired = desiredUnits(load.apps, DEFAULT_RENDER_OPTIONS);
    const units = desired.apps.flatMap((a) => a.units);
    t.log(`${desired.apps.length} of ${SAMPLE} validated; ${load.manifests.length - load.apps.length} refused by validation, ${desired.failures.length} when rendering`);
    t.true(desired.apps.length >= SAMPLE / 2, 'most of the sample validates');

    const dir = mkdtempSync(join(tmpdir(), 'appsd-property-'));
    try {
      const runtime = join(dir, 'run');
      mkdirSync(runtime, { mode: 0o700 });
      for (const u of units) writeFileSync(join(dir, u.name), u.text);
      let output = '';
      try {
        const { stdout, stderr } = await run('systemd-analyze', ['--user', 'verify', '--man=no', ...units.map((u) => join(dir, u.name))], { env: { ...process.env, XDG_RUNTIME_DIR: runtime, SYSTEMD_LOG_COLOR: '0' }, maxBuffer: 16 * 1024 * 1024 });
        output = (stdout + stderr).trim();
      } catch (error) {
        const e = error as { stdout: string; stderr: string };
        output = `exit non-zero: ${(e.stdout + e.stderr).trim()}`;
      }
      t.is(output, '', 'systemd-analyze verify');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    const m = t.context.manager;
    for (const u of units) writeFileSync(join(m.unitDir, u.name), u.text);
    const systemd = await SystemdManager.connect({ scope: 'user', env: m.env });
    try {
      await systemd.reload();
      const states = await systemd.listUnits(units.map((u) => u.name));
      t.deepEqual(units.filter((u) => states.get(u.name)?.loadState !== 'loaded').map((u) => `${u.name}: ${states.get(u.name)?.loadState}`), []);
    } finally {
      for (const u of units) unlinkSync(join(m.unitDir, u.name));
      await systemd.reload();
      systemd.close();
    }
  });
});
