// The one escaper between manifest values and unit files.
//
// systemd applies several layers of interpretation to a unit-file value, and a
// value from a manifest must survive all of them unchanged:
//   1. line structure: a newline ends the directive, a trailing backslash joins
//      the next line;
//   2. specifiers: `%n`, `%h`, ... are expanded (`%%` is a literal percent);
//   3. in command lines: words are split on whitespace, with "..." quoting and
//      C escapes (`\n`, `\"`, `\\`), a lone unquoted `;` separates commands,
//      and prefix characters (`-@:+!|`) on the first word change how it runs;
//   4. in command lines: `$VAR` and `${VAR}` are replaced at run time (`$$` is
//      a literal dollar).
// Values that cannot be represented (a newline in a Description=) are rejected
// by validation before they get here; the serializer double-checks.

/** Characters systemd reads as prefixes on an Exec*= program (ignore failure, argv0, privileges, ...). */
export const EXEC_PREFIX = /^[-@:+!|]/;

/** A piece of a command word that is a systemd specifier we emit on purpose, e.g. `%h`. */
export interface Specifier {
  readonly specifier: 'h' | 't' | 'n' | 'N';
}

/** A command-line word: plain text (escaped) or a mix of text and specifiers. */
export type Word = string | ReadonlyArray<string | Specifier>;

export function specifier(s: Specifier['specifier']): Specifier {
  return { specifier: s };
}

/** `%` would start a specifier. */
export function escapeSpecifiers(value: string): string {
  return value.replace(/%/g, '%%');
}

// Characters that never need quoting in a command word. Deliberately small:
// anything else is quoted, which is always safe.
const BARE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** C-style escaping as systemd's unquoting understands it (inside double quotes). */
export function cEscape(value: string): string {
  let out = '';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === '"') out += '\\"';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out;
}

/**
 * One word of an Exec*= command line. The result is a single word to systemd,
 * whose value after specifier expansion, unquoting and variable substitution is
 * exactly the input (plus whatever the specifiers expand to).
 */
export function escapeExecWord(word: Word): string {
  const parts = typeof word === 'string' ? [word] : word;
  let text = '';
  let hasSpecifier = false;
  for (const part of parts) {
    if (typeof part === 'string') {
      if (part.includes('\0')) throw new UnitValueError('a command word cannot contain a NUL byte');
      text += escapeSpecifiers(part).replace(/\$/g, '$$$$');
    } else {
      text += `%${part.specifier}`;
      hasSpecifier = true;
    }
  }
  // A specifier can expand to text with spaces (a home directory): quote it so
  // that it stays one word.
  if (!hasSpecifier && BARE_WORD.test(text)) return text;
  return `"${cEscape(text)}"`;
}

/**
 * A full command line. The first word is the executable: systemd reads prefix
 * characters off it after unquoting, so it must not start with one.
 */
export function formatCommandLine(words: readonly Word[]): string {
  const [first] = words;
  if (first === undefined) throw new UnitValueError('a command line needs at least one word');
  if (typeof first === 'string' && EXEC_PREFIX.test(first)) {
    throw new UnitValueError(`the executable "${first}" starts with a character systemd reads as a prefix`);
  }
  return words.map(escapeExecWord).join(' ');
}

/** `Environment=` takes quoted `NAME=value` assignments with C escapes; `$` is literal there. */
export function formatEnvironmentAssignment(name: string, value: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new UnitValueError(`invalid environment variable name "${name}"`);
  if (value.includes('\0')) throw new UnitValueError('an environment value cannot contain a NUL byte');
  return `"${cEscape(escapeSpecifiers(`${name}=${value}`))}"`;
}

/** Thrown when a value cannot be written safely: a bug upstream, since validation should have refused it. */
export class UnitValueError extends Error {
  override name = 'UnitValueError';
}
