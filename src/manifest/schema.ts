// The manifest's JSON Schema. The schema is the single source of truth for
// the manifest's shape: field names, types, patterns, sizes and the rules
// between fields (if/then), in plain JSON Schema that editors (the YAML
// language server) apply as they are. What needs real parsing (is this
// address an IP? is the port in range?) is the value parsers' job, in
// normalize.ts; the schema's patterns only approximate it, so an editor
// never flags a value appsd accepts.
//
// How it is compiled is here; the validator appsd runs is in
// schema-validator.ts, which `npm run build` replaces in dist/ with the same
// validator generated ahead of time (scripts/build.ts).
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv';

export const SCHEMA_URL = new URL('../../schema/appsd-v1.schema.json', import.meta.url);

export function manifestSchema(): Record<string, unknown> {
  return JSON.parse(readFileSync(SCHEMA_URL, 'utf8')) as Record<string, unknown>;
}

/**
 * Compiles the schema with ajv: at run time from source, and at build time
 * (with `code: { source: true, esm: true }`) for the generated validator, so
 * both are the same validator and report the same errors.
 */
export function compileManifestSchema(extra: Options = {}): { ajv: Ajv; validate: ValidateFunction } {
  // strictTypes off: the if/then rules name properties without repeating
  // `type: object` (which would report a wrong type twice).
  const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, strictRequired: false, strictTypes: false, allowUnionTypes: true, useDefaults: false, ...extra });
  // Our own annotations, which editors ignore: `x-error`, the message when a
  // rule fails (or no single anyOf/oneOf branch explains the failure);
  // `x-pattern`, the message when the pattern alone fails; `x-code`, the
  // diagnostic code; `x-missing`, why a required field is needed.
  ajv.addVocabulary(['x-error', 'x-code', 'x-missing', 'x-pattern']);
  return { ajv, validate: ajv.compile(inlineRefs(manifestSchema())) };
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
