// The manifest pipeline for a whole apps directory: parse, check against the
// schema, normalize, then the rules that span files. Pure: it takes the files'
// text (or why they could not be read) and returns apps and diagnostics.
import { basename } from 'node:path';
import { compareDiagnostics, type Diagnostic, type DiagnosticCode } from '../diagnostics.js';
import { addressesOverlap, formatAddress, type ListenAddress } from './address.js';
import type { App } from './app.js';
import { nameFromFile, normalizeManifest, pathKey, type Problem } from './normalize.js';
import { closest, explainSchemaErrors, formatPath } from './schema-errors.js';
import { manifestValidator } from './schema-validator.js';
import { sameHost, whyNotPlaced, type HostIdentity, type Placement } from './placement.js';
import { parseManifest, type ParsedManifest, type Path, type Span } from './source.js';

/** A manifest file as the adapter found it: its text, or a problem reading it. */
export type ManifestSource =
  | { readonly file: string; readonly text: string }
  | { readonly file: string; readonly error: { code: 'binary' | 'too-large' | 'unreadable' | 'not-a-file' | 'unsafe-permissions'; message: string } };

export interface LoadedManifest {
  readonly file: string;
  /** Set when the manifest is valid, cross-file rules included. */
  readonly app?: App;
  /** The app name, when it could be determined (even for an invalid manifest). */
  readonly name?: string;
  readonly diagnostics: Diagnostic[];
  /** The text, for code frames; undefined if the file could not be read. */
  readonly text?: string;
  /** For an invalid manifest: the names its `needs:` lists, as far as they could be read. */
  readonly needs?: readonly string[];
  /** For a valid app placed by `hosts:` or `placement:`: where that is written. */
  readonly placementAt?: Span;
}

export interface LoadResult {
  /** The manifests this host runs, and every invalid one (its placement cannot be trusted). */
  readonly manifests: LoadedManifest[];
  /** Valid apps, sorted by name. */
  readonly apps: App[];
  readonly diagnostics: Diagnostic[];
  /** Valid manifests placed on other hosts: to this host as if they were not there. */
  readonly skipped: SkippedManifest[];
}

/** A valid manifest this host does not run, and why. */
export interface SkippedManifest {
  readonly file: string;
  readonly name: string;
  readonly reason: string;
  /** Where its placement is written (hosts:, else placement:), and the text, for a code frame. */
  readonly at: Span;
  readonly text?: string;
  readonly placement?: Placement;
}

export interface Working {
  file: string;
  text?: string;
  /** What the rules across files need of the file, without keeping its YAML document alive. */
  located?: Located;
  app?: App;
  name?: string;
  diagnostics: Diagnostic[];
}

/**
 * What a long-running controller keeps between passes: each file's own
 * checks, keyed by the (unchanged) source object, and the last whole result,
 * which a pass whose sources are all the same objects gets back as it was:
 * the rules across a thousand files are not worked out again for nothing.
 */
export class CheckCache {
  readonly files = new WeakMap<ManifestSource, Working>();
  last: { readonly sources: readonly ManifestSource[]; readonly host: HostIdentity | undefined; readonly result: LoadResult } | undefined;
}

/**
 * @param host this host, for placement: valid manifests placed elsewhere are
 *   skipped, and the rules across files see only the apps this host runs.
 *   Undefined: every manifest counts (no placement is applied).
 */
export function loadManifests(sources: readonly ManifestSource[], cache?: CheckCache, host?: HostIdentity): LoadResult {
  const last = cache?.last;
  if (last && sameHost(last.host, host) && last.sources.length === sources.length && last.sources.every((s, i) => s === sources[i])) return last.result;
  const result = loadAll(sources, cache, host);
  if (cache) cache.last = { sources: [...sources], host, result };
  return result;
}

function loadAll(sources: readonly ManifestSource[], cache: CheckCache | undefined, host: HostIdentity | undefined): LoadResult {
  const check = (source: ManifestSource): Working => {
    let checked = cache?.files.get(source);
    if (!checked) {
      checked = checkOne(source);
      cache?.files.set(source, checked);
    }
    // The rules across files add diagnostics of their own: to a copy.
    return { ...checked, diagnostics: [...checked.diagnostics] };
  };
  const all = [...sources].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0)).map(check);
  // Placement: a valid manifest placed elsewhere is out of this host's
  // picture. An invalid one stays in it: where it runs cannot be trusted, and
  // it keeps its last applied units wherever it had some.
  const skipped: SkippedManifest[] = [];
  const working = host
    ? all.filter((w) => {
        const reason = w.app && whyNotPlaced(w.app.placement, host);
        if (reason) skipped.push({ file: w.file, name: w.app!.name, reason, at: w.located!.locate([w.app!.placement?.hosts ? 'hosts' : 'placement']), ...(w.text !== undefined && { text: w.text }), ...(w.app!.placement && { placement: w.app!.placement }) });
        return !reason;
      })
    : all;
  checkAcrossApps(working, new Map(skipped.map((m) => [m.name, m])));
  const manifests = working.map(({ file, text, app, name, diagnostics, located }) => {
    const valid = app && !diagnostics.some((d) => d.severity === 'error');
    return {
      file,
      diagnostics: diagnostics.sort(compareDiagnostics),
      ...(text !== undefined && { text }),
      ...(valid && { app }),
      ...(name !== undefined && { name }),
      // An invalid manifest keeps its units, and so must what it needs.
      ...(!valid && located?.needPaths.length && { needs: located.needPaths.map(([n]) => n) }),
      ...(valid && app.placement && located && { placementAt: located.locate([app.placement.hosts ? 'hosts' : 'placement']) }),
    };
  });
  const apps = manifests.flatMap((m) => (m.app ? [m.app] : [])).sort((a, b) => (a.name < b.name ? -1 : 1));
  return { manifests, apps, diagnostics: manifests.flatMap((m) => m.diagnostics), skipped };
}

function checkOne(source: ManifestSource): Working {
  if ('error' in source) {
    return { file: source.file, diagnostics: [{ file: source.file, line: 1, column: 1, severity: 'error', ...source.error }] };
  }
  const parsed = parseManifest(source.file, source.text);
  const w: Working = { file: source.file, text: source.text, diagnostics: [...parsed.diagnostics] };
  if (parsed.data === undefined) return w;
  const data = parsed.data as Record<string, unknown>;
  w.located = locateForCrossChecks(parsed, data);
  const validate = manifestValidator();
  const normalized = normalizeManifest(source.file, data);
  // Where a value parser judged a value, its message is the one that counts:
  // the schema's pattern (or range) error at the same place says less.
  const schemaProblems: Problem[] = validate(data) ? [] : explainSchemaErrors(validate.errors ?? []);
  const problems = [...schemaProblems.filter((p) => !(p.aboutValue && normalized.parsedPaths.has(pathKey(p.path)))), ...normalized.problems];
  for (const p of problems) w.diagnostics.push(diagnosticAt(parsed, p.path, p.atKey, p.code, p.message, p.subject));
  for (const p of normalized.warnings) w.diagnostics.push({ ...diagnosticAt(parsed, p.path, p.atKey, p.code, p.message, p.subject), severity: 'warning' });
  w.name = normalized.app?.name ?? (typeof data['name'] === 'string' ? data['name'] : undefined);
  if (!problems.length && normalized.app) w.app = normalized.app;
  return w;
}

/** Positions the problem and names the field it is about (for a key: the mapping it is in). */
/**
 * The positions the rules across files may report at (the name, each listen
 * address, the backend), computed once; the YAML document can then be freed,
 * which matters for a controller that keeps a thousand checked files.
 */
interface Located {
  readonly file: string;
  readonly nameIsSet: boolean;
  readonly listenIsList: boolean;
  /** The path of each `needs:` item, in the order written (a single name: ['needs']). */
  readonly needPaths: ReadonlyArray<readonly [name: string, path: Path]>;
  locate(path: Path, options?: { key?: boolean }): Span;
}

function locateForCrossChecks(parsed: ParsedManifest, data: Record<string, unknown>): Located {
  const listen = data['listen'];
  const needs = data['needs'];
  const needPaths: Array<[string, Path]> = Array.isArray(needs)
    ? needs.flatMap((n, i): Array<[string, Path]> => (typeof n === 'string' ? [[n, ['needs', i]]] : []))
    : typeof needs === 'string' ? [[needs, ['needs']]] : [];
  const paths: Path[] = [[], ['name'], ['listen'], ['backend'], ['needs'], ['hosts'], ['placement'], ...(Array.isArray(listen) ? listen.map((_, i) => ['listen', i]) : []), ...needPaths.map(([, p]) => p)];
  const spans = new Map<string, Span>();
  for (const p of paths) spans.set(p.join('\0'), parsed.locate(p));
  return {
    file: parsed.file,
    nameIsSet: typeof data['name'] === 'string',
    listenIsList: Array.isArray(listen),
    needPaths,
    locate: spanLookup(spans),
  };
}

/**
 * Made apart from locateForCrossChecks on purpose: a closure made there would
 * share its scope, which holds `parsed` (the YAML document and its nodes) for
 * as long as the controller keeps the file's checks.
 */
function spanLookup(spans: ReadonlyMap<string, Span>): Located['locate'] {
  return (path) => spans.get(path.join('\0')) ?? spans.get('')!;
}

function diagnosticAt(parsed: Pick<ParsedManifest, 'file' | 'locate'>, path: Path, atKey: boolean, code: DiagnosticCode, message: string, about?: Path): Diagnostic {
  const subject = about ?? (atKey ? path.slice(0, -1) : path);
  const text = subject.length ? `${formatPath(subject)}: ${message}` : message;
  return { file: parsed.file, ...parsed.locate(path, { key: atKey }), severity: 'error', code, message: text };
}

/**
 * Names and addresses must be unique across apps. A conflict invalidates every
 * app involved (each keeps its last applied units), rather than picking a
 * winner by file order: adding a file must not silently take over another
 * app's port.
 */
function checkAcrossApps(all: Working[], elsewhere: ReadonlyMap<string, SkippedManifest>): void {
  const valid = all.filter((w) => w.app);
  const report = (w: Working, path: Path, code: DiagnosticCode, message: string) =>
    w.diagnostics.push(diagnosticAt(w.located!, path, false, code, message));
  const nameOf = (w: Working) => w.app!.name;
  const namePath = (w: Working): Path => (w.located!.nameIsSet ? ['name'] : []);

  const byName = new Map<string, Working[]>();
  for (const w of valid) byName.set(nameOf(w), [...(byName.get(nameOf(w)) ?? []), w]);
  for (const [name, group] of byName) {
    if (group.length < 2) continue;
    for (const w of group) {
      const others = group.filter((o) => o !== w).map((o) => basename(o.file)).join(', ');
      report(w, namePath(w), 'duplicate-name', `app name "${name}" is also used by ${others}`);
    }
  }

  // Every address an app binds or connects to, with where it is written.
  // UDP and TCP ports are separate: only the same protocol can collide.
  type Use = { w: Working; role: 'listen' | 'backend'; address: ListenAddress; udp: boolean; path: Path };
  const uses: Use[] = valid.flatMap((w) => {
    const app = w.app!;
    const listenIsList = w.located!.listenIsList;
    const out: Use[] = app.listen.map(({ address, udp }, i) => ({ w, role: 'listen', address, udp, path: listenIsList ? ['listen', i] : ['listen'] }));
    if (app.backend && app.activation === 'proxy') {
      out.push({ w, role: 'backend', address: app.backend, udp: false, path: ['backend'] });
      // An exec app's extra ports (ADDRESS -> PORT) are on its backend host.
      if (app.runtime.kind === 'exec') {
        const seen = new Set<number>([app.backend.port]);
        app.listen.forEach((l, i) => {
          if (l.to === undefined || seen.has(l.to)) return;
          seen.add(l.to);
          out.push({ w, role: 'backend', address: { ...app.backend!, port: l.to }, udp: false, path: listenIsList ? ['listen', i] : ['listen'] });
        });
      }
    }
    return out;
  });
  // A unix path is one file, whatever the protocol.
  const datagram = (u: Use) => u.udp && u.address.kind === 'inet';
  for (const [a, b] of [...overlappingPairs(uses.filter((u) => !datagram(u))), ...overlappingPairs(uses.filter(datagram))]) {
    const describe = (u: Use) =>
      `${u.role} address ${formatAddress(u.address)} of ${u.w === a.w && u.w === b.w ? 'this app' : `app "${nameOf(u.w)}" (${basename(u.w.file)})`}`;
    const code = a.role === 'listen' && b.role === 'listen' ? 'listen-conflict' : 'address-conflict';
    const why =
      a.role !== b.role
        ? ': the socket would take the backend\'s port, so the backend cannot bind it (or the proxy would connect to itself)'
        : '';
    report(b.w, b.path, code, `${formatAddress(b.address)} collides with the ${describe(a)}${why}`);
    if (a.w !== b.w) report(a.w, a.path, code, `${formatAddress(a.address)} collides with the ${describe(b)}${why}`);
  }
  checkNeeds(all, elsewhere);
}

const isError = (w: Working) => w.diagnostics.some((d) => d.severity === 'error');

/**
 * `needs:` across files: every name must be an app, there must be no cycle,
 * and an app whose need is invalid is invalid too (it keeps its last applied
 * units rather than starting without what it needs). Also warns about an
 * internal app that nothing needs, since it would never start.
 */
function checkNeeds(all: Working[], elsewhere: ReadonlyMap<string, SkippedManifest>): void {
  const report = (w: Working, path: Path, code: DiagnosticCode, message: string) => w.diagnostics.push(diagnosticAt(w.located!, path, false, code, message));
  const byName = new Map<string, Working>();
  // Every manifest by its app name, valid or not (the name from the file when the manifest does not say).
  // Valid apps first: an invalid manifest named only by its file must not shadow a valid app that says `name:`.
  for (const w of [...all.filter((x) => x.app), ...all.filter((x) => !x.app)]) {
    const name = w.app?.name ?? w.name ?? nameFromFile(w.file);
    if (!byName.has(name)) byName.set(name, w);
  }
  const withApp = all.filter((w) => w.app && w.located);
  const names = [...byName.keys()].sort();
  for (const w of withApp) {
    for (const [need, path] of w.located!.needPaths) {
      if (need === w.app!.name) report(w, path, 'unknown-need', `an app cannot need itself`);
      else if (!byName.has(need) && elsewhere.has(need)) {
        report(w, path, 'unknown-need', `"${need}" does not run on this host (${elsewhere.get(need)!.reason}): an app and what it needs run on the same host`);
      } else if (!byName.has(need)) {
        const guess = closest(need, names);
        report(w, path, 'unknown-need', `no app is named "${need}"${guess ? ` (did you mean "${guess}"?)` : ''}`);
      }
    }
  }
  // Cycles, among the apps whose needs all exist: each member is told the whole cycle.
  const graph = new Map(withApp.map((w) => [w.app!.name, w.app!.needs.filter((n) => n !== w.app!.name && byName.get(n)?.app)] as const));
  for (const cycle of findCycles(graph)) {
    const text = cycle.length <= 6 ? [...cycle, cycle[0]].join(' -> ') : `${cycle.slice(0, 3).join(' -> ')} -> ... -> ${cycle.at(-1)} -> ${cycle[0]} (${cycle.length} apps)`;
    cycle.forEach((name, i) => {
      const w = byName.get(name)!;
      const next = cycle[(i + 1) % cycle.length]!;
      const path = w.located!.needPaths.find(([n]) => n === next)?.[1] ?? ['needs'];
      report(w, path, 'need-cycle', `needs form a cycle, so none of them could start first: ${text}`);
    });
  }
  // An invalid need makes the app that needs it invalid, transitively.
  for (let changed = true; changed; ) {
    changed = false;
    for (const w of withApp) {
      if (isError(w)) continue;
      for (const [need, path] of w.located!.needPaths) {
        const target = byName.get(need);
        if (!target || !isError(target)) continue;
        report(w, path, 'invalid-need', `"${need}" is invalid (${basename(target.file)}): this app keeps its last applied units until it is fixed`);
        changed = true;
        break;
      }
    }
  }
  const needed = new Set(withApp.flatMap((w) => w.app!.needs));
  for (const w of withApp) {
    if (w.app!.listen.length === 0 && !needed.has(w.app!.name) && !isError(w)) {
      w.diagnostics.push({ ...diagnosticAt(w.located!, [], false, 'not-needed', 'an internal app (no listen:) runs only while an app that needs it runs, and no app needs it'), severity: 'warning' });
    }
  }
}

/** The cycles of a dependency graph: each strongly connected component with more than one member, in a stable order. */
function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  // Tarjan's algorithm with an explicit stack: a chain of thousands of apps must not overflow the call stack.
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  for (const root of [...graph.keys()].sort()) {
    if (indices.has(root)) continue;
    const frames: Array<{ v: string; next: number }> = [{ v: root, next: 0 }];
    indices.set(root, index);
    low.set(root, index++);
    stack.push(root);
    onStack.add(root);
    while (frames.length) {
      const frame = frames[frames.length - 1]!;
      const edges = (graph.get(frame.v) ?? []).filter((w) => graph.has(w));
      if (frame.next < edges.length) {
        const w = edges[frame.next++]!;
        if (!indices.has(w)) {
          indices.set(w, index);
          low.set(w, index++);
          stack.push(w);
          onStack.add(w);
          frames.push({ v: w, next: 0 });
        } else if (onStack.has(w)) low.set(frame.v, Math.min(low.get(frame.v)!, indices.get(w)!));
        continue;
      }
      frames.pop();
      const parent = frames[frames.length - 1];
      if (parent) low.set(parent.v, Math.min(low.get(parent.v)!, low.get(frame.v)!));
      if (low.get(frame.v) === indices.get(frame.v)) {
        const component: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          component.push(w);
        } while (w !== frame.v);
        if (component.length > 1) cycles.push(orderCycle(component, graph));
      }
    }
  }
  return cycles;
}

/** A component's members in an order that follows its edges where it can, from its smallest name. */
function orderCycle(component: readonly string[], graph: ReadonlyMap<string, readonly string[]>): string[] {
  const members = new Set(component);
  const start = [...component].sort()[0]!;
  const order = [start];
  let at = start;
  for (;;) {
    const next = (graph.get(at) ?? []).filter((n) => members.has(n) && !order.includes(n)).sort()[0];
    if (next === undefined) break;
    order.push(next);
    at = next;
  }
  for (const m of [...component].sort()) if (!order.includes(m)) order.push(m);
  return order;
}

/**
 * The pairs of uses whose addresses overlap, in input order, without comparing
 * every pair: uses are grouped by port (or unix path) and host; only
 * wildcards are compared across the hosts of their port.
 */
function overlappingPairs<T extends { address: ListenAddress }>(uses: readonly T[]): Array<[T, T]> {
  const groups = new Map<string, number[]>();
  const portOf = new Map<string, string>();
  uses.forEach((use, i) => {
    const a = use.address;
    const port = a.kind === 'unix' ? `unix:${a.path}` : String(a.port);
    const host = a.kind === 'unix' ? '' : a.host === undefined || a.host === '::' ? '*' : a.host === '0.0.0.0' ? '*4' : a.host;
    const key = `${port}/${host}`;
    portOf.set(key, port);
    const list = groups.get(key);
    if (list) list.push(i);
    else groups.set(key, [i]);
  });
  const byPort = new Map<string, string[]>();
  for (const [key, port] of portOf) {
    const list = byPort.get(port);
    if (list) list.push(key);
    else byPort.set(port, [key]);
  }
  const found = new Set<number>();
  const pairs: Array<[number, number]> = [];
  const add = (i: number, j: number) => {
    const [x, y] = i < j ? [i, j] : [j, i];
    const id = x * uses.length + y;
    if (x === y || found.has(id) || !addressesOverlap(uses[x]!.address, uses[y]!.address)) return;
    found.add(id);
    pairs.push([x, y]);
  };
  for (const keys of byPort.values()) {
    for (const key of keys) {
      const members = groups.get(key)!;
      for (let i = 0; i < members.length; i++) for (let j = i + 1; j < members.length; j++) add(members[i]!, members[j]!);
      if (key.endsWith('/*') || key.endsWith('/*4')) {
        for (const other of keys) if (other !== key) for (const i of members) for (const j of groups.get(other)!) add(i, j);
      }
    }
  }
  return pairs.sort(([a1, b1], [a2, b2]) => a1 - a2 || b1 - b2).map(([x, y]) => [uses[x]!, uses[y]!]);
}

/** A problem found after loading (while rendering an app), at a path of its manifest. */
export interface LateProblem {
  readonly file: string;
  readonly path: Path;
  readonly code: DiagnosticCode;
  readonly message: string;
}

/**
 * The load result with later problems added: each one's manifest becomes
 * invalid (so its app keeps its last applied units) and gets a positioned
 * diagnostic. Rare, so the text is parsed again only to find the position.
 */
export function withLateProblems(load: LoadResult, problems: readonly LateProblem[]): LoadResult {
  if (problems.length === 0) return load;
  const manifests = load.manifests.map((m) => {
    const mine = problems.filter((p) => p.file === m.file);
    if (mine.length === 0) return m;
    const parsed = parseManifest(m.file, m.text ?? '');
    const added = mine.map((p) => diagnosticAt(parsed, p.path, false, p.code, p.message));
    const { app: _dropped, ...rest } = m;
    return { ...rest, diagnostics: [...m.diagnostics, ...added].sort(compareDiagnostics) };
  });
  const invalid = new Set(problems.map((p) => p.file));
  const apps = load.apps.filter((a) => !invalid.has(a.file));
  return { manifests, apps, diagnostics: manifests.flatMap((m) => m.diagnostics), skipped: load.skipped };
}
