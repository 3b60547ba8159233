// A plan for people (unified diffs, then one line per action) and for scripts
// (JSON). Pure; the CLI decides about color.
import { createTwoFilesPatch } from 'diff';
import { assertNever } from '../manifest/app.js';
import { REASON_TEXT, type Action, type AppOutcome, type AppResult, type DeleteAction, type WriteAction } from './actions.js';
import type { Plan } from './plan.js';

export function symbol(action: Action): '+' | '~' | '-' {
  switch (action.kind) {
    case 'write':
      return action.before === undefined ? '+' : '~';
    case 'enable':
    case 'start':
    case 'create-network':
      return '+';
    case 'delete':
    case 'stop':
    case 'disable':
    case 'remove-network':
      return '-';
    case 'reload':
    case 'reset-failed':
    case 'restart':
      return '~';
    default:
      return assertNever(action);
  }
}

/** The verb people and scripts see: write is create or update, reload is daemon-reload. */
export function verb(action: Action): string {
  if (action.kind === 'write') return action.before === undefined ? 'create' : 'update';
  return action.kind === 'reload' ? 'daemon-reload' : action.kind;
}

export function reasonText(action: Action): string {
  const text = REASON_TEXT[action.reason];
  return 'detail' in action && action.detail ? `${text} (${action.detail})` : text;
}

export function describeAction(action: Action): string {
  if (action.kind === 'reload') return `${symbol(action)} ${verb(action)} (${reasonText(action)})`;
  return `${symbol(action)} ${verb(action)} ${subject(action)} (${action.app}: ${reasonText(action)})`;
}

/** What an action acts on: a unit, or a podman network. */
export function subject(action: Exclude<Action, { kind: 'reload' }>): string {
  return 'unit' in action ? action.unit : `network ${action.network}`;
}

/** The unified diff of one file change, with paths as a/UNIT and b/UNIT. */
export function unitDiff(action: WriteAction | DeleteAction, unitDir: string): string {
  const name = action.unit;
  const after = action.kind === 'write' ? action.after : undefined;
  const oldName = action.before === undefined ? '/dev/null' : `${unitDir}/${name}`;
  const newName = after === undefined ? '/dev/null' : `${unitDir}/${name}`;
  const patch = createTwoFilesPatch(oldName, newName, action.before ?? '', after ?? '', undefined, undefined, { context: 3 });
  // Drop jsdiff's "Index:"/"====" preamble: keep the --- / +++ lines and hunks, as diff -u prints.
  return patch.replace(/^=+\n/m, '').split('\n').filter((l) => !l.startsWith('Index: ') && !/^=+$/.test(l)).join('\n');
}

export interface FormatOptions {
  readonly color: boolean;
  readonly unitDir: string;
}

const COLORS = { '+': '\x1b[32m', '-': '\x1b[31m', '~': '\x1b[33m', '@': '\x1b[36m', bold: '\x1b[1m', reset: '\x1b[0m' };

export function formatPlan(plan: Plan, options: FormatOptions): string {
  const paint = (code: string, text: string) => (options.color ? `${code}${text}${COLORS.reset}` : text);
  const out: string[] = [];
  if (!plan.online) out.push('offline: comparing with the unit directory only; systemd\'s state (running, enabled, failed) is not known\n');
  for (const action of plan.actions) {
    if (action.kind !== 'write' && action.kind !== 'delete') continue;
    for (const line of unitDiff(action, options.unitDir).split('\n')) {
      if (line === '') continue;
      if (line.startsWith('+++') || line.startsWith('---')) out.push(paint(COLORS.bold, line));
      else if (line.startsWith('+')) out.push(paint(COLORS['+'], line));
      else if (line.startsWith('-')) out.push(paint(COLORS['-'], line));
      else if (line.startsWith('@@')) out.push(paint(COLORS['@'], line));
      else out.push(line);
    }
  }
  if (plan.actions.length) {
    if (out.length) out.push('');
    out.push(paint(COLORS.bold, 'Actions:'));
    for (const action of plan.actions) {
      const text = describeAction(action);
      out.push(`  ${paint(COLORS[symbol(action)], text)}`);
    }
  }
  // Dependencies of the apps this plan creates or changes, in words.
  const needs = plan.apps.filter((a) => a.needs && (a.outcome === 'created' || a.outcome === 'configured'));
  if (needs.length) {
    if (out.length) out.push('');
    out.push(paint(COLORS.bold, 'Dependencies:'));
    for (const a of needs) out.push(`  ${a.app} needs ${a.needs!.join(', ')} (started first, each once ready; stopped when nothing that needs them runs)`);
  }
  for (const line of appProblems(plan.apps)) out.push(line);
  return out.join('\n');
}

/** `error: APP: why` for apps that cannot be converged, `kept: APP: why` for apps kept as last applied. */
export function appProblems(apps: readonly AppResult[]): string[] {
  return apps.flatMap((a) => (a.outcome === 'failed' || a.outcome === 'kept' ? [`${a.outcome === 'failed' ? 'error' : 'kept'}: ${a.app}: ${a.error ?? ''}`] : []));
}

export function countOutcomes(apps: readonly AppResult[]): Record<AppOutcome, number> {
  const counts: Record<AppOutcome, number> = { created: 0, configured: 0, unchanged: 0, removed: 0, failed: 0, kept: 0 };
  for (const a of apps) counts[a.outcome]++;
  return counts;
}

export function summarizePlan(plan: Plan): string {
  if (plan.actions.length === 0) return 'no changes';
  const n = countOutcomes(plan.apps);
  return `${plan.actions.length} action${plan.actions.length === 1 ? '' : 's'}: ${n.created} app${n.created === 1 ? '' : 's'} to create, ${n.configured} to change, ${n.removed} to remove`;
}

export function planToJSON(plan: Plan, unitDir: string): unknown {
  return {
    online: plan.online,
    changes: plan.actions.length,
    actions: plan.actions.map((a) => ({
      action: a.kind === 'write' ? verb(a) : a.kind,
      symbol: symbol(a),
      app: a.kind === 'reload' ? null : a.app,
      unit: 'unit' in a ? a.unit : null,
      ...('network' in a && { network: a.network }),
      reason: a.reason,
      text: reasonText(a),
      ...((a.kind === 'write' || a.kind === 'delete') && { diff: unitDiff(a, unitDir) }),
    })),
    apps: plan.apps,
    errors: plan.apps.filter((a) => a.outcome === 'failed').map((a) => ({ app: a.app, message: a.error ?? '' })),
    kept: plan.apps.filter((a) => a.outcome === 'kept').map((a) => a.app),
  };
}
