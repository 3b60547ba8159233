// A plan for people (unified diffs, then one line per action) and for scripts
// (JSON). Pure; the CLI decides about color.
import { createTwoFilesPatch } from 'diff';
import type { Action, Plan } from './plan.js';

export function symbol(action: Action): '+' | '~' | '-' {
  switch (action.kind) {
    case 'write':
      return action.before === undefined ? '+' : '~';
    case 'enable':
    case 'start':
      return '+';
    case 'delete':
    case 'stop':
    case 'disable':
      return '-';
    default:
      return '~';
  }
}

export function describeAction(action: Action): string {
  const verb = action.kind === 'write' ? (action.before === undefined ? 'create' : 'update') : action.kind === 'reload' ? 'daemon-reload' : action.kind;
  const subject = action.unit ? ` ${action.unit}` : '';
  const why = action.app ? `${action.app}: ${action.reason}` : action.reason;
  return `${symbol(action)} ${verb}${subject} (${why})`;
}

/** The unified diff of one file change, with paths as a/UNIT and b/UNIT. */
export function unitDiff(action: Action, unitDir: string): string {
  const name = action.unit!;
  const oldName = action.before === undefined ? '/dev/null' : `${unitDir}/${name}`;
  const newName = action.after === undefined ? '/dev/null' : `${unitDir}/${name}`;
  const patch = createTwoFilesPatch(oldName, newName, action.before ?? '', action.after ?? '', undefined, undefined, { context: 3 });
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
  for (const error of plan.errors) out.push(`error: ${error.app}: ${error.message}`);
  for (const name of plan.kept) out.push(`kept: ${name}: its manifest is invalid, its units stay as last applied`);
  return out.join('\n');
}

export function summarizePlan(plan: Plan): string {
  if (plan.actions.length === 0) return 'no changes';
  const created = new Set(plan.actions.filter((a) => a.kind === 'write' && a.reason === 'new app').map((a) => a.app));
  const removed = new Set(plan.actions.filter((a) => a.reason === 'manifest removed').map((a) => a.app));
  const touched = new Set(plan.actions.filter((a) => a.app).map((a) => a.app));
  const changed = [...touched].filter((a) => !created.has(a) && !removed.has(a)).length;
  return `${plan.actions.length} action${plan.actions.length === 1 ? '' : 's'}: ${created.size} app${created.size === 1 ? '' : 's'} to create, ${changed} to change, ${removed.size} to remove`;
}

export function planToJSON(plan: Plan, unitDir: string): unknown {
  return {
    online: plan.online,
    changes: plan.actions.length,
    actions: plan.actions.map((a) => ({
      action: a.kind === 'write' ? (a.before === undefined ? 'create' : 'update') : a.kind,
      symbol: symbol(a),
      app: a.app ?? null,
      unit: a.unit ?? null,
      reason: a.reason,
      ...((a.kind === 'write' || a.kind === 'delete') && { diff: unitDiff(a, unitDir) }),
    })),
    errors: plan.errors,
    kept: plan.kept,
  };
}
