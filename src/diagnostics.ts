// Diagnostics are data, not exceptions: every problem found in user input is
// collected with its position so that one run reports all of them at once.

export type Severity = 'error' | 'warning';

/** Every diagnostic code that reading and checking manifests emits (validate, and every command that loads them): stable identifiers for scripts (docs/cli.md lists them). */
export const DIAGNOSTIC_CODES = [
  // reading the file
  'binary', 'too-large', 'unreadable', 'not-a-file', 'unsafe-permissions',
  // YAML
  'yaml-syntax', 'duplicate-key', 'tab-indent', 'multiple-documents', 'empty-manifest', 'not-a-mapping', 'alias-limit',
  // the schema
  'unknown-field', 'missing-field', 'wrong-type', 'bad-value', 'out-of-range', 'schema', 'backend-kind', 'native-conflict', 'invalid-field',
  // values
  'bad-name', 'bad-address', 'bad-duration', 'bad-volume', 'bad-path', 'bad-command', 'reserved-key',
  // across files
  'duplicate-name', 'listen-conflict', 'address-conflict', 'unknown-need', 'need-cycle', 'invalid-need',
  // rendering
  'unrenderable',
  // warnings
  'system-mount', 'not-needed',
] as const;

/**
 * Codes only `appsd export` emits, about a valid app that the target cannot
 * express. Apart from DIAGNOSTIC_CODES because `validate` never emits them.
 */
export const EXPORT_DIAGNOSTIC_CODES = ['not-exportable'] as const;

/** Codes only `validate --hosts` emits, about the fleet as a whole (warnings: an app no host runs, a host name no host has). */
export const FLEET_DIAGNOSTIC_CODES = ['placed-nowhere', 'unknown-host'] as const;

export type DiagnosticCode = (typeof DIAGNOSTIC_CODES)[number] | (typeof EXPORT_DIAGNOSTIC_CODES)[number] | (typeof FLEET_DIAGNOSTIC_CODES)[number];

/** A code that checking manifests emits (the schema's x-code must be one). */
export function isDiagnosticCode(code: unknown): code is (typeof DIAGNOSTIC_CODES)[number] {
  return (DIAGNOSTIC_CODES as readonly unknown[]).includes(code);
}

export interface Diagnostic {
  /** Path of the file the problem is in, as the user named it. */
  file: string;
  /** 1-based line and column of the start of the offending text. */
  line: number;
  column: number;
  /** 1-based end position (exclusive column), when known: used to underline. */
  endLine?: number;
  endColumn?: number;
  severity: Severity;
  /** A stable identifier for scripts: `yaml-syntax`, `unknown-field`, ... */
  code: DiagnosticCode;
  message: string;
}

/** `file:line:col: message`, the GCC format that editors and CI logs turn into links. */
export function formatDiagnosticLine(d: Diagnostic): string {
  const prefix = d.severity === 'warning' ? 'warning: ' : '';
  return `${d.file}:${d.line}:${d.column}: ${prefix}${d.message}`;
}

/**
 * The GCC line followed by a short code frame: the offending line with one line
 * of context above, and a caret underline.
 */
export function formatDiagnostic(d: Diagnostic, source?: string): string {
  const head = formatDiagnosticLine(d);
  if (source === undefined) return head;
  const lines = source.split(/\r?\n/);
  const target = lines[d.line - 1];
  if (target === undefined) return head;
  const first = Math.max(1, d.line - 1);
  const width = String(d.line).length;
  const out = [head];
  for (let n = first; n <= d.line; n++) {
    const marker = n === d.line ? '>' : ' ';
    out.push(` ${marker} ${String(n).padStart(width)} | ${visible(lines[n - 1] ?? '')}`);
  }
  const span =
    d.endLine === d.line && d.endColumn !== undefined && d.endColumn > d.column
      ? d.endColumn - d.column
      : 1;
  const underline = ' '.repeat(d.column - 1) + '^'.repeat(Math.min(span, 80));
  out.push(`   ${' '.repeat(width)} | ${underline}`);
  return out.join('\n');
}

/** Control characters would garble a terminal: show them as `\xNN`. */
function visible(line: string): string {
  return line.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  return a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column || (a.message < b.message ? -1 : a.message > b.message ? 1 : 0);
}
