// `npm run bench`: what users feel, measured side by side with baselines in
// the same run, on a private systemd manager the benchmark starts itself.
// Prints a table and writes bench/results.json. Not part of `npm test`.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPrivateManager } from '../src/sandbox/private-manager.js';
import { buildTestImages, removeAppsdContainers, writeContainersConf } from '../test/helpers/podman.js';
import { workspace } from '../test/helpers/workspace.js';
import { coldStart } from './cold-start.js';
import { formatTable, type Figure } from './stats.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 10);

async function main(): Promise<void> {
  const confDir = mkdtempSync(join(tmpdir(), 'appsd-bench-'));
  const conf = writeContainersConf(confDir);
  const podmanEnv = { ...process.env, CONTAINERS_CONF: conf };
  await buildTestImages(podmanEnv);
  const manager = await startPrivateManager({ serviceEnv: { CONTAINERS_CONF: conf }, shareNetns: true });
  const cleanups: Array<() => void> = [];
  const figures: Figure[] = [];
  try {
    const w = workspace(manager, (fn) => cleanups.push(fn));
    figures.push(...(await coldStart({ manager, podmanEnv, appsd: w.appsd, writeManifest: w.write, runs: RUNS })));
    for (const name of ['cold.yaml', 'coldnative.yaml']) w.remove(name);
    await w.appsd('apply');
  } finally {
    await manager.stop();
    await removeAppsdContainers(podmanEnv);
    for (const fn of cleanups) fn();
    rmSync(confDir, { recursive: true, force: true });
  }
  const table = formatTable(figures);
  process.stdout.write(`${table}\n`);
  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version, date: new Date().toISOString() };
  const out = fileURLToPath(new URL('./results.json', import.meta.url));
  writeFileSync(out, JSON.stringify({ machine, runs: RUNS, figures }, null, 2) + '\n');
  process.stdout.write(`\nwritten to bench/results.json (${machine.cpus} x ${machine.cpu}, Node ${machine.node})\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
