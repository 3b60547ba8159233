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
  compiled = ajv.compile(inlineRefs(schema));
  return compiled;
}

export type SchemaError = ErrorObject;

/**
 * Replaces local `{"$ref": "#/definitions/x"}` with the definition itself, so
 * every error's schema path shows which anyOf branch it came from. The
 * manifest schema has no recursive definitions.
 */
export function inlineRefs(schema: object): object {
  const definitions = (schema as { definitions?: Record<string, object> }).definitions ?? {};
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (node === null || typeof node !== 'object') return node;
    const { $ref, ...rest } = node as Record<string, unknown>;
    const copy = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, walk(v)]));
    if (typeof $ref !== 'string') return copy;
    const name = /^#\/definitions\/([^/]+)$/.exec($ref)?.[1];
    const target = name === undefined ? undefined : definitions[name];
    if (!target) throw new Error(`schema: unsupported $ref ${$ref}`);
    return { ...(walk(target) as object), ...copy };
  };
  const { definitions: _unused, ...root } = schema as Record<string, unknown>;
  return walk(root) as object;
}
