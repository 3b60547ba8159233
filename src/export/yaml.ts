// Exported objects as YAML that every Kubernetes client reads back exactly.
// The yaml library quotes what YAML 1.2 would read as another type, but
// kubectl and the API server read YAML 1.1 (go-yaml), where `yes`, `NO`, `on`
// and `0o17` are not strings either: an env var named NO or a value "on"
// would arrive as a boolean. And go-yaml takes NEL and the Unicode line
// separators as line breaks, and refuses other control characters outright,
// which the library leaves unescaped in a double-quoted string. So every
// string is written plain only when it is a plain word in both versions, as a
// literal block when it is lines of printable text, and double-quoted
// otherwise, with every character go-yaml could misread escaped.
import { Document, isMap, Scalar, visit } from 'yaml';

/** Starts with a letter or `/`, then letters, digits and `. _ / @ : -`, not ending in `:`. */
const PLAIN = /^[A-Za-z/][A-Za-z0-9._/@:-]*$/;
/** Words YAML 1.1 reads as booleans or null, in any case. */
const NOT_A_STRING_IN_1_1 = /^(y|yes|n|no|true|false|on|off|null)$/i;
/**
 * What must be escaped to reach go-yaml as written: anything outside the
 * characters it reads (YAML's c-printable), and the ones it reads as a line
 * break or a byte order mark.
 */
const MISREAD = /[^\t\n\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]|[\u{85}\u{2028}\u{2029}\u{feff}]/gu;
const HAS_MISREAD = new RegExp(MISREAD.source, 'u');

export function scalarStyle(value: string): Scalar.Type {
  if (PLAIN.test(value) && !value.endsWith(':') && !NOT_A_STRING_IN_1_1.test(value)) return Scalar.PLAIN;
  // A literal block keeps tabs and line breaks; white space at its start would need an indentation indicator.
  if (value.includes('\n') && !/^\s/.test(value) && !HAS_MISREAD.test(value)) return Scalar.BLOCK_LITERAL;
  return Scalar.QUOTE_DOUBLE;
}

/**
 * One YAML document (no leading `---`), with `comment` above it: one line,
 * control characters (a file name may hold a newline) shown as `\xNN`.
 */
export function toYaml(value: unknown, comment?: string): string {
  // No anchors and aliases: every object is written where it is.
  const doc = new Document(value, { aliasDuplicateObjects: false });
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value !== 'string') return;
      // Half a surrogate pair is no character: UTF-8 cannot hold it, and YAML
      // has no escape for it. U+FFFD is what writing it out would give anyway.
      node.value = node.value.replace(/\p{Cs}/gu, '\ufffd');
      node.type = scalarStyle(node.value as string);
    },
  });
  // On the first key rather than the document, so no blank line follows it.
  if (comment !== undefined && isMap(doc.contents)) doc.contents.commentBefore = ` ${comment.replace(/[\t\n\r]/g, escape).replace(MISREAD, escape)}`;
  // lineWidth 0: no folding, so each value stays on its one line, as written.
  // Each character MISREAD finds is in a double-quoted string by now (the
  // other styles never take one), where YAML's escape means it exactly.
  return doc.toString({ lineWidth: 0 }).replace(MISREAD, escape);
}

function escape(c: string): string {
  const code = c.codePointAt(0)!;
  if (code === 0x85) return '\\N';
  if (code === 0x2028) return '\\L';
  if (code === 0x2029) return '\\P';
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}
