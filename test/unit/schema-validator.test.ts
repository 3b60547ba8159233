// The validator `npm run build` generates ahead of time
// (dist/manifest/schema-validator.js, scripts/build.ts) is the one the source
// compiles at run time: the same verdict and the same error objects (keyword,
// paths, params, message, schema, parentSchema, data), which the messages in
// schema-errors.ts are made from, for every manifest in the repository and
// for random ones. The other tests run the source; test/cli runs the build.
import test from 'ava';
import fc from 'fast-check';
import type { ValidateFunction } from 'ajv';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { compileManifestSchema } from '../../src/manifest/schema.js';
import { parseManifest } from '../../src/manifest/source.js';
import { standaloneValidator } from '../../scripts/build.js';
import { manifestText } from '../helpers/arbitrary.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GENERATED = join(ROOT, 'dist/manifest/schema-validator.js');

const compiled = compileManifestSchema().validate;
const generated = ((await import(GENERATED)) as { manifestValidator(): ValidateFunction }).manifestValidator();

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : yamlFiles(path);
    return /\.ya?ml$/.test(name) ? [path] : [];
  });
}

/** Why the two validators disagree on this manifest, or undefined. */
function difference(text: string): string | undefined {
  const data = parseManifest('/apps.d/app.yaml', text).data;
  if (data === undefined) return undefined;
  const a = compiled(data);
  const errorsA = compiled.errors ?? [];
  const b = generated(data);
  const errorsB = generated.errors ?? [];
  if (a !== b) return `compiled says ${a ? 'valid' : 'invalid'}, generated ${b ? 'valid' : 'invalid'}`;
  if (!isDeepStrictEqual(errorsA, errorsB)) return `errors differ:\n${JSON.stringify(errorsA, null, 1).slice(0, 2000)}\n---\n${JSON.stringify(errorsB, null, 1).slice(0, 2000)}`;
  return undefined;
}

test('the generated validator is the current schema, compiled as at run time', (t) => {
  t.is(readFileSync(GENERATED, 'utf8'), standaloneValidator(), 'dist/manifest/schema-validator.js is out of date: npm run build');
});

test('every manifest in the repository: the same verdict and the same errors', (t) => {
  const files = ['test/golden', 'examples', 'apps.d'].flatMap((dir) => yamlFiles(join(ROOT, dir)));
  t.true(files.length > 30);
  let invalid = 0;
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    t.is(difference(text), undefined, file);
    const data = parseManifest(file, text).data;
    if (data !== undefined && !compiled(data)) invalid++;
  }
  t.true(invalid > 0, 'the golden error cases reach the schema');
});

test('random manifests: the same verdict and the same errors', (t) => {
  let invalid = 0;
  fc.assert(
    fc.property(manifestText, (text) => {
      const why = difference(text);
      if (why) throw new Error(why);
      if (generated.errors?.length) invalid++;
    }),
    { numRuns: 1000 },
  );
  t.true(invalid > 300, `${invalid} of 1000 random manifests have schema errors`);
});
