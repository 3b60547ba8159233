// Golden tests, in the style of quadlet's: each folder under test/golden holds
// an apps.d/ of manifests, the unit files they must render to (units/), and
// the diagnostics they must produce (errors.txt, `apps.d/FILE:LINE:COL: message`).
// The manifests are read with the real adapter, so its ignore rules are part of
// the test. Run with UPDATE_GOLDEN=1 to rewrite the expectations after a
// deliberate change, then review the diff.
import test from 'ava';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GOLDEN_DIR, goldenCases, renderGoldenCase } from './helpers/golden.js';

const update = process.env['UPDATE_GOLDEN'] === '1';

for (const name of goldenCases) {
  test(`golden: ${name}`, async (t) => {
    const dir = join(GOLDEN_DIR, name);
    const { errors, units } = await renderGoldenCase(name);
    const errorsFile = join(dir, 'errors.txt');
    const unitsDir = join(dir, 'units');
    if (update) {
      rmSync(unitsDir, { recursive: true, force: true });
      if (units.length) mkdirSync(unitsDir);
      for (const unit of units) writeFileSync(join(unitsDir, unit.name), unit.text);
      if (errors.length) writeFileSync(errorsFile, errors.join('\n') + '\n');
      else rmSync(errorsFile, { force: true });
    }
    const expectedErrors = existsSync(errorsFile) ? readFileSync(errorsFile, 'utf8').split('\n').filter(Boolean) : [];
    t.deepEqual(errors, expectedErrors, 'diagnostics');
    const expectedNames = existsSync(unitsDir) ? readdirSync(unitsDir).sort() : [];
    t.deepEqual(units.map((u) => u.name).sort(), expectedNames, 'unit names');
    for (const unit of units) {
      if (expectedNames.includes(unit.name)) t.is(unit.text, readFileSync(join(unitsDir, unit.name), 'utf8'), unit.name);
    }
  });
}
