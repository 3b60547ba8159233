// Property: whatever a manifest says, validate never throws; and whatever
// validates renders units whose every value is exactly what the manifest
// said: one marker, no injected directive or section, command lines and
// environment that parse back to the manifest's words, no line longer than
// systemd reads. (test/systemd/property.test.ts loads a sample into systemd.)
import test from 'ava';
import fc from 'fast-check';
import { loadManifests } from '../../src/manifest/load.js';
import { desiredUnits } from '../../src/render/desired.js';
import { DEFAULT_RENDER_OPTIONS, type RenderOptions } from '../../src/render/options.js';
import { MAX_LINE_BYTES, notUnitText, UnitFile } from '../../src/unit/unitfile.js';
import { manifestText } from '../helpers/arbitrary.js';
import { parseEnvironmentLine, parseExecLine } from '../helpers/exec-line.js';

const SPECIFIERS = { t: '/run/user/1000', n: 'unit.service', h: '/home/u' };
const SECTIONS = new Set(['Unit', 'Socket', 'Service', 'Install']);

test('validate never throws, and what validates renders exactly what the manifest says', (t) => {
  let rendered = 0;
  fc.assert(
    fc.property(manifestText, fc.constantFrom<RenderOptions['scope']>('user', 'system'), (text, scope) => {
      const load = loadManifests([{ file: '/srv/apps.d/app.yaml', text }]);
      for (const d of load.diagnostics) {
        if (!(d.line >= 1 && d.column >= 1 && d.message.length > 0)) throw new Error(`a diagnostic without a place: ${JSON.stringify(d)}`);
      }
      const desired = desiredUnits(load.apps, { ...DEFAULT_RENDER_OPTIONS, scope, instance: 'abc' });
      for (const app of desired.apps) {
        rendered++;
        for (const unit of app.units) {
          for (const line of unit.text.split('\n')) if (Buffer.byteLength(line) >= MAX_LINE_BYTES) throw new Error(`${unit.name}: a line of ${Buffer.byteLength(line)} bytes`);
          if (notUnitText(unit.text) !== undefined) throw new Error(`${unit.name}: a character systemd does not accept`);
          const parsed = UnitFile.parse(unit.text);
          for (const s of parsed.sections) if (!SECTIONS.has(s.name)) throw new Error(`${unit.name}: injected section [${s.name}]`);
          if (JSON.stringify(parsed.get('Unit', 'X-Appsd-App')) !== JSON.stringify([app.name])) throw new Error(`${unit.name}: marker ${parsed.get('Unit', 'X-Appsd-App').join(',')}`);
          if (parsed.get('Service', 'ExecStartPre').some((l) => l.includes('/bin/false'))) throw new Error(`${unit.name}: injected ExecStartPre`);
        }
        const runtime = app.app.runtime;
        if (runtime.kind !== 'exec') continue;
        const worker = app.units.find((u) => u.name === (app.app.activation === 'proxy' ? `appsd-${app.name}-backend.service` : `appsd-${app.name}.service`))!;
        const service = UnitFile.parse(worker.text);
        const argv = parseExecLine(service.get('Service', 'ExecStart')[0]!, SPECIFIERS);
        if (JSON.stringify(argv) !== JSON.stringify(runtime.command)) throw new Error(`command ${JSON.stringify(runtime.command)} came back as ${JSON.stringify(argv)}`);
        const env = Object.assign({}, ...service.get('Service', 'Environment').map((l) => parseEnvironmentLine(l)));
        if (JSON.stringify(env) !== JSON.stringify(Object.fromEntries(runtime.env))) throw new Error(`env ${JSON.stringify(runtime.env)} came back as ${JSON.stringify(env)}`);
      }
    }),
    { numRuns: 1500 },
  );
  t.log(`${rendered} of 1500 random manifests validated and rendered`);
  t.true(rendered > 30, 'the generator reaches valid manifests often enough to test rendering');
});
