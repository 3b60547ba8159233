// Turning ajv's errors into a few precise, positioned messages.
//
// With allErrors, ajv reports every failing branch of an anyOf/oneOf: for
// `listen: 70000` that is "must be <= 65535", "must be string", "must be array"
// and two "must match a schema in anyOf". A person wants the one that explains
// the mistake. The rule, applied recursively: a branch that failed only because
// the value has another type is not what the user meant; if exactly one branch
// remains, its errors are the explanation; otherwise the combinator's own
// `x-error` text says what was expected. (Branches are found by schema path,
// which is why the schema is compiled with its $refs inlined.)
import type { ErrorObject } from 'ajv';
import { isDiagnosticCode, type DiagnosticCode } from '../diagnostics.js';
import type { Path } from './source.js';

export interface SchemaProblem {
  path: Path;
  /** Point at the key at `path` (unknown fields), rather than its value. */
  atKey: boolean;
  code: DiagnosticCode;
  message: string;
  /** The field the message is about, when not the one at `path` (or its mapping, for a key). */
  subject?: Path;
  /**
   * The problem judges the value's text or number (a pattern, a range, a
   * length), not its type or presence: where a value parser read the same
   * value, the parser's more precise message replaces it.
   */
  aboutValue?: boolean;
}

const VALUE_KEYWORDS = new Set(['pattern', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'anyOf', 'oneOf']);

const COMBINATORS = new Set(['anyOf', 'oneOf']);

export function explainSchemaErrors(errors: readonly ErrorObject[]): SchemaProblem[] {
  // A propertyNames failure comes with its nested error, which lacks the name.
  // An if/then rule reports its failing `then` keyword itself, plus an `if`
  // error that says only "must match then schema".
  const relevant = resolveCombinators(errors.filter((e) => !e.schemaPath.includes('/propertyNames/') && e.keyword !== 'if'));
  const seen = new Set<string>();
  const problems: SchemaProblem[] = [];
  for (const e of relevant) {
    const p = { ...explain(e), ...(VALUE_KEYWORDS.has(e.keyword) && { aboutValue: true }) };
    const id = `${p.path.join('\0')}\0${p.message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    problems.push(p);
  }
  return problems;
}

function resolveCombinators(errors: readonly ErrorObject[]): ErrorObject[] {
  // The same schema (an array's items) applies at many instance paths: an error
  // belongs to a combinator only at or below the combinator's own instance.
  const inside = (e: ErrorObject, c: ErrorObject) =>
    e !== c &&
    e.schemaPath.startsWith(`${c.schemaPath}/`) &&
    (e.instancePath === c.instancePath || e.instancePath.startsWith(`${c.instancePath}/`));
  const combinators = errors.filter((e) => COMBINATORS.has(e.keyword));
  const outermost = combinators.filter((c) => !combinators.some((o) => inside(c, o)));
  const out = errors.filter((e) => !COMBINATORS.has(e.keyword) && !outermost.some((c) => inside(e, c)));
  for (const c of outermost) {
    const branches = new Map<string, ErrorObject[]>();
    for (const e of errors) {
      if (!inside(e, c)) continue;
      const index = e.schemaPath.slice(c.schemaPath.length + 1).split('/')[0]!;
      branches.set(index, [...(branches.get(index) ?? []), e]);
    }
    const typeOnly = (branch: ErrorObject[]) =>
      branch.every((e) => e.instancePath === c.instancePath && (e.keyword === 'type' || COMBINATORS.has(e.keyword)));
    const meant = [...branches.values()].filter((b) => !typeOnly(b));
    if (meant.length === 1) out.push(...resolveCombinators(meant[0]!));
    else out.push(c);
  }
  return out;
}

/** `/container/env/A~1B` -> ['container', 'env', 'A/B']; array indexes become numbers. */
export function pointerToPath(pointer: string): (string | number)[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : s));
}

export function formatPath(path: Path): string {
  let out = '';
  for (const segment of path) out += typeof segment === 'number' ? `[${segment}]` : out ? `.${segment}` : segment;
  return out;
}

function explain(e: ErrorObject): SchemaProblem {
  const path = pointerToPath(e.instancePath);
  const parent = e.parentSchema as Record<string, unknown> | undefined;
  const custom = typeof parent?.['x-error'] === 'string' ? (parent['x-error'] as string) : undefined;
  // The schema's own x-code, when it is one appsd documents.
  const customCode = isDiagnosticCode(parent?.['x-code']) ? parent['x-code'] : undefined;
  const at = (message: string, code: DiagnosticCode = 'schema', p: Path = path, atKey = false): SchemaProblem => ({ path: p, atKey, code, message });
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties': {
      const name = String(params['additionalProperty']);
      const known = Object.keys((parent?.['properties'] as object | undefined) ?? {});
      const guess = closest(name, known);
      const hint = guess ? ` (did you mean "${guess}"?)` : known.length ? ` (expected one of: ${known.join(', ')})` : '';
      return at(`unknown field "${name}"${hint}`, 'unknown-field', [...path, name], true);
    }
    case 'required': {
      const name = String(params['missingProperty']);
      const why = typeof parent?.['x-missing'] === 'string' ? `: ${parent['x-missing']}` : '';
      // Point at the mapping that lacks the field: its key, or the top of the file.
      return { ...at(`missing required field "${name}"${why}`, 'missing-field'), atKey: path.length > 0, subject: path };
    }
    case 'propertyNames': {
      const name = String(params['propertyName']);
      // The propertyNames schema's x-error says what a name must be here (labels, credentials, unit settings).
      const rule = (parent?.['propertyNames'] as Record<string, unknown> | undefined)?.['x-error'];
      const message = typeof rule === 'string' ? `"${name}" ${rule}` : `invalid variable name "${name}": use letters, digits and _, not starting with a digit`;
      return at(message, 'schema', [...path, name], true);
    }
    case 'pattern':
      // x-pattern: the message for this pattern alone (x-error also covers the type).
      return at(typeof parent?.['x-pattern'] === 'string' ? parent['x-pattern'] : custom ?? patternMessage(path, e.data), customCode ?? 'schema');
    case 'not':
      // A field a rule forbids in this combination (x-error says why): at its key.
      return { ...at(custom ?? 'is not allowed here', customCode ?? 'schema', path, true), subject: path };
    case 'enum':
      return at(`"${String(e.data)}" is not one of ${(params['allowedValues'] as unknown[]).map((v) => `"${String(v)}"`).join(', ')}${hint(e.data, params['allowedValues'] as unknown[])}`, 'bad-value');
    case 'const':
      return at(`must be "${String(params['allowedValue'])}"`, 'bad-value');
    case 'type':
      return at(custom ?? `must be ${typeNames(params['type'])}, not ${describe(e.data)}`, 'wrong-type');
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum': {
      const min = parent?.['minimum'] ?? parent?.['exclusiveMinimum'];
      const max = parent?.['maximum'];
      const range = min !== undefined && max !== undefined ? ` (${String(min)}-${String(max)})` : '';
      const what = typeof parent?.['title'] === 'string' ? `${parent['title']} ` : '';
      return at(`${what}${String(e.data)} is out of range${range || `: ${e.message ?? ''}`}`, 'out-of-range');
    }
    case 'maxLength':
      return at(`is longer than ${String(params['limit'])} characters`);
    case 'minLength':
      return at(`must not be empty`);
    case 'minItems':
      return at(`needs at least ${String(params['limit'])} item${params['limit'] === 1 ? '' : 's'}`);
    case 'maxItems':
      return at(`has more than ${String(params['limit'])} items`);
    case 'maxProperties':
      return at(`has more than ${String(params['limit'])} entries`);
    case 'minProperties':
      return at(`needs at least ${String(params['limit'])} entr${params['limit'] === 1 ? 'y' : 'ies'}`);
    case 'oneOf':
    case 'anyOf':
      if (e.keyword === 'oneOf' && path.length === 0 && isRecord(e.data) && 'container' in e.data && 'exec' in e.data) {
        return at('container and exec exclude each other: an app has exactly one backend', 'backend-kind', ['exec'], true);
      }
      return at(custom ?? `is not valid`, e.keyword === 'oneOf' && path.length === 0 ? 'backend-kind' : 'schema');
    default:
      return at(e.message ?? 'is not valid');
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function patternMessage(path: Path, data: unknown): string {
  const field = path[path.length - 1];
  const text = JSON.stringify(data);
  switch (field) {
    case 'name':
      return `${text} is not a valid app name: use lower-case letters, digits and '-', starting and ending with a letter or digit`;
    case 'description':
      return `${text} must be one line without control characters, not ending in a backslash`;
    case 'image':
      return `${text} is not an image reference (letters, digits and . _ / : @ -)`;
    case 'memory':
      return `${text} is not a memory size (e.g. 512M, 2G)`;
    case 'path':
      return `${text} must be an absolute URL path without spaces (e.g. /healthz)`;
    default:
      return `${text} is not valid`;
  }
}

function typeNames(type: unknown): string {
  const names = (Array.isArray(type) ? type : [type]).map((t) =>
    t === 'object' ? 'a mapping' : t === 'array' ? 'a list' : t === 'integer' ? 'an integer' : `a ${String(t)}`,
  );
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}` : names[0]!;
}

function describe(data: unknown): string {
  if (data === null) return 'null';
  if (Array.isArray(data)) return 'a list';
  if (typeof data === 'object') return 'a mapping';
  if (typeof data === 'string') return `the string ${JSON.stringify(data.length > 40 ? data.slice(0, 40) + '…' : data)}`;
  return `${typeof data} ${String(data)}`;
}

function hint(data: unknown, allowed: unknown[]): string {
  const guess = closest(String(data), allowed.map(String));
  return guess ? ` (did you mean "${guess}"?)` : '';
}

/** The candidate within edit distance 2 (or a case-insensitive match), for "did you mean". */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = candidate.toLowerCase() === word.toLowerCase() ? 0 : editDistance(word, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.min(2, Math.floor(word.length / 2)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  // Optimal string alignment: Levenshtein plus adjacent transpositions (imgae -> image).
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) current[j] = Math.min(current[j]!, before[j - 2]! + 1);
    }
    before = previous;
    previous = current;
  }
  return previous[b.length]!;
}
