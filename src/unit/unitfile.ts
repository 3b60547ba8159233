// A small model of a systemd unit file: ordered sections, repeated keys,
// leading comments. Serialization is byte-stable (same model, same bytes), so
// "unchanged" is a byte comparison and a no-op pass writes nothing.

import { UnitValueError } from './escape.js';

export type Entry = readonly [key: string, value: string];

export interface Section {
  readonly name: string;
  readonly entries: Entry[];
}

export class UnitFile {
  readonly comments: string[] = [];
  readonly sections: Section[] = [];

  /** Adds a comment line at the top of the file. */
  comment(text: string): this {
    assertSingleLine(text, 'comment');
    this.comments.push(text);
    return this;
  }

  /** Returns the section, creating it at the end if it does not exist yet. */
  section(name: string): Section {
    let section = this.sections.find((s) => s.name === name);
    if (!section) {
      section = { name, entries: [] };
      this.sections.push(section);
    }
    return section;
  }

  /** Appends `key=value` to a section; keys may repeat, as systemd allows. */
  add(sectionName: string, key: string, value: string | number): this {
    if (!/^[A-Za-z][A-Za-z0-9-]*$/.test(key)) throw new UnitValueError(`invalid unit file key "${key}"`);
    const text = String(value);
    assertSingleLine(text, key);
    // A trailing backslash would join the next line to this directive.
    if (text.endsWith('\\')) throw new UnitValueError(`value of ${key}= ends with a backslash`);
    // systemd refuses a unit whose line is longer than this (LONG_LINE_MAX).
    const bytes = Buffer.byteLength(key) + 1 + Buffer.byteLength(text);
    if (bytes >= MAX_LINE_BYTES) {
      throw new UnitValueError(`the ${key}= line would be ${bytes} bytes, and systemd reads unit-file lines of at most ${MAX_LINE_BYTES - 1}: shorten the values that go into it`);
    }
    this.section(sectionName).entries.push([key, text]);
    return this;
  }

  /** All values of a key in a section, in order. */
  get(sectionName: string, key: string): string[] {
    return this.sections
      .filter((s) => s.name === sectionName)
      .flatMap((s) => s.entries.filter(([k]) => k === key).map(([, v]) => v));
  }

  toString(): string {
    const blocks: string[] = [];
    if (this.comments.length) blocks.push(this.comments.map((c) => `# ${c}`.trimEnd()).join('\n'));
    for (const section of this.sections) {
      blocks.push([`[${section.name}]`, ...section.entries.map(([k, v]) => `${k}=${v}`)].join('\n'));
    }
    return blocks.join('\n\n') + '\n';
  }

  /**
   * Parses unit-file text. Continuation lines are joined, as systemd does, so
   * that a round trip through the parser shows what systemd would read.
   */
  static parse(text: string): UnitFile {
    const unit = new UnitFile();
    let current: Section | undefined;
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      let line = lines[i]!.trim();
      if (line === '') continue;
      if (line.startsWith('#') || line.startsWith(';')) {
        if (!current) unit.comments.push(line.replace(/^[#;] ?/, ''));
        continue;
      }
      while (line.endsWith('\\') && i + 1 < lines.length) {
        line = line.slice(0, -1) + ' ' + lines[++i]!.trim();
      }
      const header = /^\[([^\]]+)\]$/.exec(line);
      if (header) {
        current = { name: header[1]!, entries: [] };
        unit.sections.push(current);
        continue;
      }
      const eq = line.indexOf('=');
      if (eq < 0 || !current) throw new UnitParseError(`line ${i + 1}: not a directive: ${line}`);
      current.entries.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
    }
    return unit;
  }
}

/** systemd's LONG_LINE_MAX: 1 MiB, including the line's end. */
export const MAX_LINE_BYTES = 1024 * 1024;

function assertSingleLine(text: string, what: string): void {
  if (/[\n\r\0]/.test(text)) throw new UnitValueError(`${what} cannot contain a line break or NUL byte`);
  const bad = notUnitText(text);
  if (bad !== undefined) {
    throw new UnitValueError(`${what} cannot contain U+${bad.toString(16).toUpperCase().padStart(4, '0')}: systemd ignores a unit-file line with it (not UTF-8 clean); remove the character`);
  }
}

/**
 * The first code point systemd does not accept in a unit file, or undefined:
 * its utf8_is_valid() refuses UTF-16 surrogates (a lone one, in a JS string)
 * and the noncharacters U+FDD0-U+FDEF and U+xFFFE/U+xFFFF of every plane.
 */
export function notUnitText(text: string): number | undefined {
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if ((cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) === 0xfffe) return cp;
  }
  return undefined;
}

export class UnitParseError extends Error {
  override name = 'UnitParseError';
}
