// The manifest's JSON Schema, compiled once. The schema file is the single
// source of truth for field names, types and descriptions (editors use it too);
// formats that need real parsing call the same parsers the renderer relies on.
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parseBackendAddress, parseListenAddress, type Parsed } from './address.js';
import { parseHostPath, parseVolume } from './paths.js';
import { parseTimespan } from './timespan.js';

export const SCHEMA_URL = new URL('../../schema/appsd-v1.schema.json', import.meta.url);

/** Custom formats: each explains its failure, for a precise message. */
export const FORMATS: Record<string, (value: string | number) => Parsed<unknown>> = {
  'appsd-listen': (v) => parseListenAddress(v),
  'appsd-backend': (v) => parseBackendAddress(String(v)),
  'appsd-timespan': (v) => parseTimespan(v, true),
  'appsd-volume': (v) => parseVolume(String(v)),
  'appsd-directory': (v) => parseHostPath(String(v), 'directory'),
};

let compiled: ValidateFunction | undefined;

export function manifestValidator(): ValidateFunction {
  if (compiled) return compiled;
  const schema = JSON.parse(readFileSync(SCHEMA_URL, 'utf8')) as object;
  const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, strictRequired: false, allowUnionTypes: true, useDefaults: false });
  // Our own annotation: the message to show when no single branch of an
  // anyOf/oneOf explains the failure better.
  ajv.addVocabulary(['x-error']);
  for (const [name, parse] of Object.entries(FORMATS)) {
    // Formats apply to strings only; integers (idleTimeout: 30) are range-checked when normalizing.
    ajv.addFormat(name, { type: 'string', validate: (v: string) => parse(v).ok });
  }
  compiled = ajv.compile(schema);
  return compiled;
}

export type SchemaError = ErrorObject;
