// Adapter: who this host is, for placement. Its name is the machine's host
// name unless --host or host.yaml says otherwise; its labels come from
// --host-labels, or host.yaml. Flags win over the file, field by field.
// host.yaml decides which apps run here, so it is read as carefully as a
// manifest: only a regular file, of bounded size, that nobody but appsd's
// user (or root) can write, through the manifest's YAML reader (alias
// limits, duplicate keys, positions).
import { statSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { InputError } from '../errors.js';
import { unsafeOwnership } from '../fs/ownership.js';
import { readRegularFile } from '../fs/read.js';
import type { HostIdentity } from '../manifest/placement.js';
import { parseManifest, type ParsedManifest, type Path } from '../manifest/source.js';

// The same rules as the schema's hostName, labelName and labelValue.
const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/;
const LABEL_NAME = /^[A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^[A-Za-z0-9._-]*$/;
const MAX_LABELS = 64;
const MAX_HOSTS = 1000;
const MAX_HOST_FILE_BYTES = 64 * 1024;
const MAX_FLEET_FILE_BYTES = 1024 * 1024;

export interface HostFlags {
  host?: string | undefined;
  'host-labels'?: string | undefined;
}

/** Where host.yaml is: /etc/appsd for the system manager, $XDG_CONFIG_HOME/appsd (~/.config/appsd) for a user's. */
export function hostFilePath(scope: 'user' | 'system', env: NodeJS.ProcessEnv = process.env): string {
  if (scope === 'system') return '/etc/appsd/host.yaml';
  return join(env['XDG_CONFIG_HOME'] || join(env['HOME'] || '/', '.config'), 'appsd', 'host.yaml');
}

/** User input in a message: quoted, control characters escaped, not 10 KB of it. */
const shown = (text: string) => JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}...` : text);

/**
 * This host's identity. A missing host.yaml is fine (the host name, no
 * labels); an unreadable, unsafe or invalid one is an error, not a silent
 * default: a host that lost its labels would remove the apps placed on it.
 */
export async function resolveHost(flags: HostFlags, scope: 'user' | 'system', env: NodeJS.ProcessEnv = process.env): Promise<HostIdentity> {
  if (flags.host !== undefined && !validHostName(flags.host)) throw new InputError(`--host: ${shown(flags.host)} is not a host name (letters, digits, '.', '_' and '-')`);
  const labelsFlag = flags['host-labels'] !== undefined ? parseLabels(flags['host-labels'], '--host-labels') : undefined;
  const file = flags.host !== undefined && labelsFlag !== undefined ? {} : await readHostFile(hostFilePath(scope, env));
  return { name: flags.host ?? file.name ?? hostname(), labels: labelsFlag ?? file.labels ?? new Map<string, string>() };
}

async function readHostFile(path: string): Promise<{ name?: string; labels?: Map<string, string> }> {
  const text = await readTrusted(path, MAX_HOST_FILE_BYTES, false);
  return text === undefined ? {} : parseHostFile(text, path);
}

/** A file that decides what runs here: its text, or undefined when it does not exist (and `required` is false). */
async function readTrusted(path: string, maxBytes: number, required: boolean): Promise<string | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(path, maxBytes);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !required) return undefined;
    throw new InputError(`${path}: ${(error as Error).message}`);
  }
  for (const p of [dirname(path), path]) {
    const s = statSync(p, { throwIfNoEntry: false });
    const unsafe = s && unsafeOwnership(p, s);
    if (unsafe) throw new InputError(unsafe);
  }
  if (bytes.includes(0)) throw new InputError(`${path}: a binary file, not YAML`);
  return bytes.toString('utf8');
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
    if (eq < 0) throw new InputError(`${where}: ${shown(part)} is not NAME=VALUE`);
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    const problem = labelProblem(key, value);
    if (problem) throw new InputError(`${where}: ${problem}`);
    if (labels.has(key)) throw new InputError(`${where}: label ${shown(key)} is given twice`);
    labels.set(key, value);
    if (labels.size > MAX_LABELS) throw new InputError(`${where}: more than ${MAX_LABELS} labels`);
  }
  return labels;
}

function labelProblem(key: string, value: unknown): string | undefined {
  if (key.length > 63 || !LABEL_NAME.test(key)) return `${shown(key)} is not a label name (letters, digits, '.', '_', '/' and '-')`;
  if (typeof value !== 'string' || value.length > 63 || !LABEL_VALUE.test(value)) {
    const what = typeof value === 'string' ? shown(value) : `a ${value === null ? 'null' : Array.isArray(value) ? 'list' : typeof value}`;
    return `label ${key}: ${what} is not a label value (letters, digits, '.', '_' and '-'; quote numbers)`;
  }
  return undefined;
}

/** host.yaml: `name: web-1` (optional) and `labels: {role: edge}` (optional). */
export function parseHostFile(text: string, path: string): { name?: string; labels?: Map<string, string> } {
  const parsed = yamlMapping(text, path);
  const data = parsed.data as Record<string, unknown>;
  for (const key of Object.keys(data)) if (key !== 'name' && key !== 'labels') throw errorAt(parsed, [key], `unknown key ${shown(key)} (host.yaml has name and labels)`, true);
  const out: { name?: string; labels?: Map<string, string> } = {};
  if (data['name'] !== undefined) {
    if (typeof data['name'] !== 'string' || !validHostName(data['name'])) throw errorAt(parsed, ['name'], `name: must be a host name (letters, digits, '.', '_' and '-')`);
    out.name = data['name'];
  }
  if (data['labels'] !== undefined) out.labels = labelMap(data['labels'], ['labels'], parsed);
  return out;
}

/** The fleet file of `validate --hosts`, read as carefully as host.yaml. */
export async function readFleetFile(path: string): Promise<HostIdentity[]> {
  return parseFleetFile((await readTrusted(path, MAX_FLEET_FILE_BYTES, true))!, path);
}

/**
 * A fleet file for `validate --hosts`: each host by name with its labels.
 *   hosts:
 *     web-1: {role: edge, region: eu}
 *     db-1: {}
 */
export function parseFleetFile(text: string, path: string): HostIdentity[] {
  const parsed = yamlMapping(text, path);
  const data = parsed.data as Record<string, unknown>;
  for (const key of Object.keys(data)) if (key !== 'hosts') throw errorAt(parsed, [key], `unknown key ${shown(key)} (a fleet file has hosts:)`, true);
  const hosts = data['hosts'];
  if (typeof hosts !== 'object' || hosts === null || Array.isArray(hosts) || Object.keys(hosts).length === 0) {
    throw errorAt(parsed, ['hosts'], `hosts: must map each host name to its labels (web-1: {role: edge})`);
  }
  const names = Object.keys(hosts);
  if (names.length > MAX_HOSTS) throw errorAt(parsed, ['hosts'], `more than ${MAX_HOSTS} hosts`);
  const seen = new Map<string, string>();
  return Object.entries(hosts as Record<string, unknown>).map(([name, labels]) => {
    if (!validHostName(name)) throw errorAt(parsed, ['hosts', name], `hosts: ${shown(name)} is not a host name`, true);
    const twin = seen.get(name.toLowerCase());
    if (twin !== undefined) throw errorAt(parsed, ['hosts', name], `hosts: ${shown(name)} is ${shown(twin)} again (host names do not differ by case)`, true);
    seen.set(name.toLowerCase(), name);
    return { name, labels: labels === null ? new Map() : labelMap(labels, ['hosts', name], parsed) };
  });
}

function labelMap(value: unknown, where: Path, parsed: ParsedManifest): Map<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw errorAt(parsed, where, `${where.join('.')}: must be a mapping of labels to values ({role: edge})`);
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > MAX_LABELS) throw errorAt(parsed, where, `${where.join('.')}: more than ${MAX_LABELS} labels`);
  const labels = new Map<string, string>();
  for (const [k, v] of entries) {
    const problem = labelProblem(k, v);
    if (problem) throw errorAt(parsed, [...where, k], `${[...where, k].join('.')}: ${problem}`);
    labels.set(k, v as string);
  }
  return labels;
}

/** An error at a place in a YAML file: `FILE:LINE:COL: message` (`key`: at the key rather than its value). */
function errorAt(parsed: ParsedManifest, path: Path, message: string, key = false): InputError {
  const s = parsed.locate(path, { key });
  return new InputError(`${parsed.file}:${s.line}:${s.column}: ${message}`);
}

/** The file's YAML as a mapping (an empty file: an empty one), or an InputError at the first problem. */
function yamlMapping(text: string, path: string): ParsedManifest & { data: Record<string, unknown> } {
  const parsed = parseManifest(path, text);
  if (parsed.data === undefined || parsed.data === null) {
    const first = parsed.diagnostics.find((d) => d.code !== 'empty-manifest');
    if (first) throw new InputError(`${path}:${first.line}:${first.column}: ${first.message}`);
    return { ...parsed, data: {} };
  }
  const first = parsed.diagnostics.find((d) => d.severity === 'error');
  if (first) throw new InputError(`${path}:${first.line}:${first.column}: ${first.message}`);
  if (typeof parsed.data !== 'object' || Array.isArray(parsed.data)) throw new InputError(`${path}:1:1: must be a mapping`);
  return parsed as ParsedManifest & { data: Record<string, unknown> };
}
