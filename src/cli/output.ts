// Presentation helpers shared by the commands: paths as the user sees them,
// diagnostics with code frames.
import { isAbsolute, relative } from 'node:path';
import { formatDiagnostic, formatDiagnosticLine, type Diagnostic } from '../diagnostics.js';
import type { LoadResult, SkippedManifest } from '../manifest/load.js';
import type { HostIdentity } from '../manifest/placement.js';

/** Paths inside the working directory print relative to it, like a compiler's. */
export function displayPath(file: string, cwd = process.cwd()): string {
  const rel = relative(cwd, file);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

export function displayDiagnostic(d: Diagnostic): Diagnostic {
  return { ...d, file: displayPath(d.file) };
}

/** Every diagnostic with its code frame, in file order. */
export function formatLoadDiagnostics(result: LoadResult, frames = true): string {
  const blocks: string[] = [];
  for (const m of result.manifests) {
    for (const d of m.diagnostics) {
      const shown = displayDiagnostic(d);
      blocks.push(frames ? formatDiagnostic(shown, m.text) : formatDiagnosticLine(shown));
    }
  }
  return blocks.join('\n');
}

/** A host as the JSON outputs give it (validate, status, diff). */
export function hostJson(host: HostIdentity): { name: string; labels: Record<string, string> } {
  return { name: host.name, labels: Object.fromEntries(host.labels) };
}

/** A manifest placed on other hosts as the JSON outputs give it (validate, status, diff). */
export function skippedJson(s: SkippedManifest): { file: string; app: string; reason: string } {
  return { file: displayPath(s.file), app: s.name, reason: s.reason };
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Color on a terminal, unless NO_COLOR is set (https://no-color.org). */
export function useColor(stream: NodeJS.WriteStream): boolean {
  return Boolean(stream.isTTY) && !process.env['NO_COLOR'];
}
