// Adapter: who this host is, for placement. Its name is the machine's host
// name unless --host or host.yaml says otherwise; its labels come from
// --host-labels, or host.yaml. Flags win over the file, field by field.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { InputError } from '../errors.js';
import type { HostIdentity } from '../manifest/placement.js';

// The same rules as the schema's hostName, labelName and labelValue.
const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/;
const LABEL_NAME = /^[A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^[A-Za-z0-9._-]*$/;

export interface HostFlags {
  host?: string | undefined;
  'host-labels'?: string | undefined;
}

/** Where host.yaml is: /etc/appsd for the system manager, $XDG_CONFIG_HOME/appsd (~/.config/appsd) for a user's. */
export function hostFilePath(scope: 'user' | 'system', env: NodeJS.ProcessEnv = process.env): string {
  if (scope === 'system') return '/etc/appsd/host.yaml';
  return join(env['XDG_CONFIG_HOME'] || join(env['HOME'] || '/', '.config'), 'appsd', 'host.yaml');
}

/**
 * This host's identity. A missing host.yaml is fine (the host name, no
 * labels); an unreadable or invalid one is an error, not a silent default:
 * a host that lost its labels would remove the apps placed on it.
 */
export function resolveHost(flags: HostFlags, scope: 'user' | 'system', env: NodeJS.ProcessEnv = process.env): HostIdentity {
  const path = hostFilePath(scope, env);
  let file: { name?: string; labels?: Map<string, string> } = {};
  let text: string | undefined;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new InputError(`${path}: ${(error as Error).message}`);
  }
  if (text !== undefined) file = parseHostFile(text, path);
  const name = flags.host ?? file.name ?? hostname();
  if (flags.host !== undefined && !validHostName(flags.host)) throw new InputError(`--host: "${flags.host.slice(0, 80)}" is not a host name (letters, digits, '.', '_' and '-')`);
  const labels = flags['host-labels'] !== undefined ? parseLabels(flags['host-labels'], '--host-labels') : (file.labels ?? new Map<string, string>());
  return { name, labels };
}

export function validHostName(name: string): boolean {
  return name.length <= 253 && HOST_NAME.test(name);
}

/** `role=edge,region=eu` (an empty string: no labels). */
export function parseLabels(text: string, where: string): Map<string, string> {
  const labels = new Map<string, string>();
  for (const part of text.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    const key = (eq < 0 ? part : part.slice(0, eq)).trim();
    const value = eq < 0 ? undefined : part.slice(eq + 1).trim();
    if (value === undefined) throw new InputError(`${where}: "${part.slice(0, 80)}" is not NAME=VALUE`);
    checkLabel(key, value, where);
    if (labels.has(key)) throw new InputError(`${where}: label "${key}" is given twice`);
    labels.set(key, value);
  }
  return labels;
}

function checkLabel(key: string, value: unknown, where: string): asserts value is string {
  if (key.length > 63 || !LABEL_NAME.test(key)) throw new InputError(`${where}: "${key.slice(0, 80)}" is not a label name (letters, digits, '.', '_', '/' and '-')`);
  if (typeof value !== 'string' || value.length > 63 || !LABEL_VALUE.test(value)) {
    throw new InputError(`${where}: label ${key}: ${JSON.stringify(value)?.slice(0, 80)} is not a label value (letters, digits, '.', '_' and '-'; quote numbers)`);
  }
}

/** host.yaml: `name: web-1` (optional) and `labels: {role: edge}` (optional). */
export function parseHostFile(text: string, path: string): { name?: string; labels?: Map<string, string> } {
  const data = yamlMapping(text, path);
  for (const key of Object.keys(data)) if (key !== 'name' && key !== 'labels') throw new InputError(`${path}: unknown key "${key.slice(0, 80)}" (host.yaml has name and labels)`);
  const out: { name?: string; labels?: Map<string, string> } = {};
  if (data['name'] !== undefined) {
    if (typeof data['name'] !== 'string' || !validHostName(data['name'])) throw new InputError(`${path}: name: must be a host name (letters, digits, '.', '_' and '-')`);
    out.name = data['name'];
  }
  if (data['labels'] !== undefined) out.labels = labelMap(data['labels'], `${path}: labels`);
  return out;
}

/**
 * A fleet file for `validate --hosts`: each host by name with its labels.
 *   hosts:
 *     web-1: {role: edge, region: eu}
 *     db-1: {}
 */
export function parseFleetFile(text: string, path: string): HostIdentity[] {
  const data = yamlMapping(text, path);
  for (const key of Object.keys(data)) if (key !== 'hosts') throw new InputError(`${path}: unknown key "${key.slice(0, 80)}" (a fleet file has hosts:)`);
  const hosts = data['hosts'];
  if (typeof hosts !== 'object' || hosts === null || Array.isArray(hosts) || Object.keys(hosts).length === 0) {
    throw new InputError(`${path}: hosts: must map each host name to its labels (web-1: {role: edge})`);
  }
  return Object.entries(hosts as Record<string, unknown>).map(([name, labels]) => {
    if (!validHostName(name)) throw new InputError(`${path}: hosts: "${name.slice(0, 80)}" is not a host name`);
    return { name, labels: labels === null ? new Map() : labelMap(labels, `${path}: hosts: ${name}`) };
  });
}

function labelMap(value: unknown, where: string): Map<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InputError(`${where}: must be a mapping of labels to values ({role: edge})`);
  const labels = new Map<string, string>();
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    checkLabel(k, v, where);
    labels.set(k, v);
  }
  return labels;
}

function yamlMapping(text: string, path: string): Record<string, unknown> {
  const doc = parseDocument(text, { uniqueKeys: true });
  const error = doc.errors[0];
  if (error) {
    const at = error.linePos?.[0];
    throw new InputError(`${path}${at ? `:${at.line}:${at.col}` : ''}: ${error.message.split('\n')[0]}`);
  }
  const data: unknown = doc.toJS({ maxAliasCount: 10 });
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) throw new InputError(`${path}: must be a mapping`);
  return data as Record<string, unknown>;
}
