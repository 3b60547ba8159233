// Parsing one manifest's text into a YAML document, and mapping document paths
// back to line:column. Pure: the caller reads the file.
import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, visit, type Document, type Node, type Pair } from 'yaml';
import type { Diagnostic, DiagnosticCode } from '../diagnostics.js';

/** A path into the manifest: map keys and sequence indexes. */
export type Path = ReadonlyArray<string | number>;

export interface Span {
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

export interface ParsedManifest {
  readonly file: string;
  readonly text: string;
  /** The plain data, or undefined when the YAML itself is unusable. */
  readonly data: unknown;
  readonly diagnostics: Diagnostic[];
  /** Where a path is in the text; `key: true` points at the key rather than the value. */
  locate(path: Path, options?: { key?: boolean }): Span;
}

// Aliases are legitimate in YAML, but an "alias bomb" (a billion laughs) expands
// exponentially: cap the expansion so such a file is an error, not a hang.
const MAX_ALIAS_COUNT = 100;

export function parseManifest(file: string, text: string): ParsedManifest {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true, strict: true });
  const spanAt = (start: number, end: number): Span => {
    const a = lineCounter.linePos(start);
    const b = lineCounter.linePos(Math.max(start, end));
    return { line: a.line, column: a.col, endLine: b.line, endColumn: b.col };
  };
  const diagnostics: Diagnostic[] = [];
  const report = (span: Span, code: DiagnosticCode, message: string) =>
    diagnostics.push({ file, ...span, severity: 'error', code, message });

  const list = Array.isArray(docs) ? docs : [];
  const doc = list[0];
  const locate = (path: Path, options?: { key?: boolean }): Span => {
    const range = doc ? locateRange(doc, path, options?.key ?? false) : undefined;
    return range ? spanAt(range[0], range[1]) : spanAt(0, 0);
  };
  const result = (data: unknown): ParsedManifest => ({ file, text, data, diagnostics, locate });

  // Errors in a second document are not worth reporting: the document itself is the error.
  for (const d of list.slice(0, 1)) {
    for (const error of d.errors) report(spanAt(error.pos[0], error.pos[1]), yamlCode(error.code), yamlMessage(error.code, error.message));
    for (const warning of d.warnings) report(spanAt(warning.pos[0], warning.pos[1]), yamlCode(warning.code), yamlMessage(warning.code, warning.message));
  }
  for (const extra of list.slice(1)) {
    const start = extra.range[0];
    const marker = text.lastIndexOf('---', start);
    report(spanAt(marker >= 0 ? marker : start, (marker >= 0 ? marker : start) + 3), 'multiple-documents',
      'a manifest holds one app: a second YAML document ("---") is not allowed; put each app in its own file');
  }
  if (diagnostics.some((d) => d.code !== 'multiple-documents')) return result(undefined);
  if (!doc || doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    report(spanAt(0, 0), 'empty-manifest', 'the manifest is empty: an app needs at least `listen` and a `container` or `exec` backend');
    return result(undefined);
  }
  // An alias with no anchor before it: at its place (toJS would only throw).
  const before = diagnostics.length;
  visit(doc, {
    Alias(_, node) {
      if (node.resolve(doc) === undefined) report(spanAt(node.range?.[0] ?? 0, node.range?.[1] ?? 0), 'yaml-syntax', `*${node.source} refers to no anchor: an alias needs &${node.source} before it`);
    },
  });
  if (diagnostics.length > before) return result(undefined);
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    report(spanAt(0, 0), 'alias-limit', `the YAML expands too many aliases (${(error as Error).message.replace(/\.$/, '')})`);
    return result(undefined);
  }
  if (!isMap(doc.contents)) {
    const range = doc.contents.range ?? [0, 0];
    report(spanAt(range[0], range[1]), 'not-a-mapping', 'a manifest must be a mapping of fields (listen:, container: ...)');
    return result(undefined);
  }
  keepAsWritten(doc, data as Record<string, unknown>, text);
  return result(data);
}

/**
 * Environment values and command arguments are strings to the process. YAML
 * reads a plain 01234 as the number 1234, 1.10 as 1.1 and 0x10 as 16: take
 * such scalars as they are written, so what the user wrote is what the
 * process gets.
 */
function keepAsWritten(doc: Document, data: Record<string, unknown>, text: string): void {
  const written = (node: unknown): string | undefined =>
    isScalar(node) && node.range && (typeof node.value === 'number' || typeof node.value === 'boolean') ? text.slice(node.range[0], node.range[1]) : undefined;
  for (const kind of ['exec', 'container']) {
    const section = data[kind];
    if (typeof section !== 'object' || section === null || Array.isArray(section)) continue;
    const target = section as Record<string, unknown>;
    const env = doc.getIn([kind, 'env'], true);
    if (isMap(env) && typeof target['env'] === 'object' && target['env'] !== null) {
      const values = target['env'] as Record<string, unknown>;
      for (const pair of env.items) {
        const value = written(pair.value);
        if (value !== undefined && isScalar(pair.key)) values[String(pair.key.value)] = value;
      }
    }
    const command = doc.getIn([kind, 'command'], true);
    if (isSeq(command) && Array.isArray(target['command'])) {
      const words = target['command'] as unknown[];
      command.items.forEach((item, i) => {
        const value = written(item);
        if (value !== undefined) words[i] = value;
      });
    }
  }
}

function yamlCode(code: string): DiagnosticCode {
  return code === 'DUPLICATE_KEY' ? 'duplicate-key' : code === 'TAB_AS_INDENT' ? 'tab-indent' : 'yaml-syntax';
}

function yamlMessage(code: string, message: string): string {
  // The library's messages end with a position suffix we already print.
  const text = message.replace(/ at line \d+, column \d+:?[\s\S]*$/, '').trim();
  if (code === 'DUPLICATE_KEY') return 'duplicate key: a field may appear only once in a mapping';
  if (code === 'TAB_AS_INDENT') return 'tabs are not allowed for indentation in YAML; use spaces';
  return `YAML: ${text}`;
}

/**
 * The source range of the node at `path`, or of the closest ancestor that
 * exists. With `key`, the key of the last segment (a typo in a field name is
 * at the key, not at its value).
 */
function locateRange(doc: Document, path: Path, key: boolean): [number, number] | undefined {
  let node: Node | null | undefined = doc.contents as Node | null;
  let best: [number, number] | undefined = rangeOf(node);
  for (let i = 0; i < path.length; i++) {
    const segment = path[i]!;
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p: Pair) => isScalar(p.key) && String(p.key.value) === String(segment)) as Pair<Node, Node> | undefined;
      if (!pair) return best;
      if (last && key) return rangeOf(pair.key as Node) ?? best;
      node = pair.value;
      // A key with no value (`image:`) has no value range: point at the key.
      best = rangeOf(node) ?? rangeOf(pair.key as Node) ?? best;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item: unknown = node.items[segment];
      if (!item) return best;
      node = isPair(item) ? (item.value as Node) : (item as Node);
      best = rangeOf(node) ?? best;
    } else {
      return best;
    }
  }
  return best;
}

function rangeOf(node: Node | null | undefined): [number, number] | undefined {
  if (!node || !node.range) return undefined;
  return [node.range[0], node.range[1]];
}
