// The validator that checks every manifest against the schema (schema.ts).
// From source (the tests, tsx) it is compiled on first use, which takes ajv
// a few hundred milliseconds; `npm run build` replaces this module in dist/
// with the same validator as standalone code generated from the schema
// (scripts/build.ts), so that no command compiles the schema at start-up.
// Both report the same errors (test/unit/schema-validator.test.ts).
import type { ValidateFunction } from 'ajv';
import { compileManifestSchema } from './schema.js';

let compiled: ValidateFunction | undefined;

export function manifestValidator(): ValidateFunction {
  compiled ??= compileManifestSchema().validate;
  return compiled;
}
