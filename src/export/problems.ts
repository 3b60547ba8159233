// Why an app cannot be exported, as data at a manifest path, and as the same
// `file:line:col: message` diagnostics that `validate` prints.
import { compareDiagnostics, type Diagnostic } from '../diagnostics.js';
import { formatPath } from '../manifest/schema-errors.js';
import { parseManifest, type Path } from '../manifest/source.js';

/** Something the target cannot express, at the manifest field that says it. */
export interface ExportProblem {
  readonly path: Path;
  /** Point at the key rather than its value: for a whole section (`exec:`, `podmanArgs:`) the key names it best. */
  readonly atKey?: boolean;
  readonly message: string;
}

/** How the mapping functions report a problem as they find it. */
export type Report = (path: Path, message: string, atKey?: boolean) => void;

/**
 * Positions each problem in the manifest's text, in the order of the text.
 * The text is parsed again: App keeps no positions, and this runs only for
 * the apps that fail.
 */
export function exportDiagnostics(file: string, text: string, target: string, problems: readonly ExportProblem[]): Diagnostic[] {
  if (problems.length === 0) return [];
  const parsed = parseManifest(file, text);
  const diagnostics = problems.map((p): Diagnostic => ({
    file,
    ...parsed.locate(p.path, { key: p.atKey ?? false }),
    severity: 'error',
    code: 'not-exportable',
    message: `${p.path.length ? `${formatPath(p.path)}: ` : ''}cannot export to ${target}: ${p.message}`,
  }));
  return diagnostics.sort(compareDiagnostics);
}
