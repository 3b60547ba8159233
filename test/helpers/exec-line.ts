// How systemd reads an Exec*= line, written down independently of appsd's
// escaper (from systemd.service(5) "Command lines" and systemd.unit(5)
// "Specifiers"), so the tests compare the escaper against the documented
// rules rather than against itself. The real-systemd tier checks the same
// property against a running manager.

/** Splits an Exec line into argv as systemd would, expanding the given specifiers. */
export function parseExecLine(line: string, specifiers: Record<string, string> = {}): string[] {
  const words: string[] = [];
  let i = 0;
  const n = line.length;
  while (i < n) {
    while (i < n && /\s/.test(line[i]!)) i++;
    if (i >= n) break;
    // A lone unquoted ";" separates commands: appsd must never produce one.
    if (line[i] === ';' && (i + 1 >= n || /\s/.test(line[i + 1]!))) throw new Error('unquoted ; separator in command line');
    let word = '';
    let quote: string | null = null;
    for (; i < n; i++) {
      const c = line[i]!;
      if (quote === null && /\s/.test(c)) break;
      if (c === '\\') {
        const next = line[++i];
        if (next === undefined) throw new Error('trailing backslash');
        const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", a: '\x07', b: '\b', f: '\f', v: '\v', s: ' ' };
        if (next === 'x') {
          word += String.fromCharCode(parseInt(line.slice(i + 1, i + 3), 16));
          i += 2;
        } else if (simple[next] !== undefined) word += simple[next];
        else throw new Error(`unknown escape \\${next}`);
        continue;
      }
      if (quote === null && (c === '"' || c === "'")) {
        quote = c;
        continue;
      }
      if (quote !== null && c === quote) {
        quote = null;
        continue;
      }
      word += c;
    }
    if (quote !== null) throw new Error('unbalanced quote');
    words.push(word);
  }
  return words.map((w) => expandDollars(expandSpecifiers(w, specifiers)));
}

export function expandSpecifiers(text: string, specifiers: Record<string, string>): string {
  return text.replace(/%(.)/g, (_, c: string) => {
    if (c === '%') return '%';
    const value = specifiers[c];
    if (value === undefined) throw new Error(`specifier %${c} would be expanded by systemd`);
    return value;
  });
}

/** `$$` is a literal dollar; any other `$` would be a variable reference. */
function expandDollars(word: string): string {
  let out = '';
  for (let i = 0; i < word.length; i++) {
    if (word[i] === '$') {
      if (word[i + 1] === '$') {
        out += '$';
        i++;
        continue;
      }
      throw new Error(`unescaped $ in word ${JSON.stringify(word)} would be replaced by a variable`);
    }
    out += word[i];
  }
  return out;
}

/** `Environment=` values: quoted assignments with C escapes, specifiers expanded, `$` literal. */
export function parseEnvironmentLine(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const word of parseExecLine(line.replace(/\$/g, '$$$$'))) {
    const eq = word.indexOf('=');
    out[word.slice(0, eq)] = word.slice(eq + 1);
  }
  return out;
}
