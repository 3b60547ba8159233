// Figure 10, CLI start-up (issue 14, target 1): what a user waits for on every
// command. Each command runs as a whole process, `node dist/cli/main.js ...`,
// with the two example apps (apps.d/) applied to the private manager, and the
// baseline is `node -e 0`, Node starting and doing nothing, in the same
// rounds: every round runs all of them once, in an order that rotates. A
// small C wrapper (bench/rusage.c) reports each process's wall time from
// fork to exit, its peak resident memory and its CPU time.
// Targets: validate, render, diff --offline and status within 1.5x `node -e
// 0`, --help within 1.2x. BENCH_CLI_BEFORE=PATH/dist/cli/main.js adds the
// same commands run with another build (say, the previous commit's, from a
// `git worktree`), in the same rounds.
import { execFileSync, execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI, runCli } from '../test/helpers/cli.js';
import type { BenchContext } from './context.js';
import { median, percentile, type Figure } from './stats.js';

interface Command {
  readonly name: string;
  readonly argv: readonly string[];
  readonly target?: number;
  /** What a correct run prints and exits with (a command that fails fast would look fast). */
  readonly expect: { readonly code: number; readonly stdout: RegExp };
}

interface Sample {
  readonly wallMs: number;
  readonly rssKiB: number;
  readonly cpuMs: number;
}

/** The example apps, listening on an address of their own (the host's 8080 may be taken). */
function exampleApps(): Record<string, string> {
  const read = (name: string) => readFileSync(fileURLToPath(new URL(`../apps.d/${name}`, import.meta.url)), 'utf8');
  return {
    'hello.yaml': read('hello.yaml').replace('listen: 127.0.0.1:8080', 'listen: 127.19.0.1:8080'),
    'hello-container.yaml': read('hello-container.yaml').replace('listen: 127.0.0.1:8090', 'listen: 127.19.0.1:8090'),
  };
}

function runOnce(rusage: string, argv: readonly string[], env: NodeJS.ProcessEnv): Promise<{ sample: Sample; code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(rusage, argv, { env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) return reject(error);
      const lines = stderr.trimEnd().split('\n');
      const m = /^rusage: ([\d.]+) (\d+) (\d+) ([\d.]+)$/.exec(lines.pop() ?? '');
      if (!m) return reject(new Error(`rusage: no measurement in ${JSON.stringify(stderr.slice(-300))}`));
      resolve({ sample: { wallMs: Number(m[1]), rssKiB: Number(m[2]), cpuMs: Number(m[4]) }, code: Number(m[3]), stdout, stderr: lines.join('\n') });
    });
  });
}

export async function cliStartup(ctx: BenchContext, appsDir: string, stateDir: string): Promise<Figure[]> {
  const rusage = join(ctx.scratch, 'rusage');
  execFileSync('cc', ['-O2', '-o', rusage, fileURLToPath(new URL('./rusage.c', import.meta.url))]);
  for (const [name, text] of Object.entries(exampleApps())) writeFileSync(join(appsDir, name), text);
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...ctx.manager.env };
  const applied = await runCli(['apply', '--apps-dir', appsDir, '--state-dir', stateDir], { env: ctx.manager.env });
  if (applied.code !== 0) throw new Error(`apply failed: ${applied.stdout}${applied.stderr}`);
  const dirs = ['--apps-dir', appsDir, '--state-dir', stateDir];
  const node = process.execPath;
  const commands: Command[] = [
    { name: 'node -e 0', argv: [node, '-e', '0'], expect: { code: 0, stdout: /^$/ } },
    { name: 'appsd --help', argv: [node, CLI, '--help'], target: 1.2, expect: { code: 0, stdout: /^appsd: / } },
    { name: 'appsd validate', argv: [node, CLI, 'validate', ...dirs], target: 1.5, expect: { code: 0, stdout: /^2 manifests valid: hello, hello-container\n$/ } },
    { name: 'appsd render', argv: [node, CLI, 'render', ...dirs], target: 1.5, expect: { code: 0, stdout: /^--- .*appsd-hello\.socket ---\n/ } },
    { name: 'appsd diff --offline', argv: [node, CLI, 'diff', '--offline', ...dirs], target: 1.5, expect: { code: 0, stdout: /\nno changes\n$/ } },
    { name: 'appsd status', argv: [node, CLI, 'status', ...dirs], target: 1.5, expect: { code: 0, stdout: /^APP +STATE(?![\s\S]*failed)[\s\S]*\nhello +/ } },
  ];
  const before = process.env['BENCH_CLI_BEFORE'];
  if (before) {
    for (const c of commands.slice(1)) commands.push({ ...c, name: `before: ${c.name}`, argv: c.argv.map((a) => (a === CLI ? before : a)) });
  }
  // NODE_EXTRA_CA_CERTS makes every Node process read and parse those
  // certificates as it starts (about 60 ms on the VM of docs/benchmarks.md),
  // before any of its own code runs: where it is set, every command runs
  // both with it and without it, each against `node -e 0` in the same
  // environment.
  const envs: Array<{ suffix: string; env: NodeJS.ProcessEnv }> = [{ suffix: '', env }];
  if (env['NODE_EXTRA_CA_CERTS']) {
    const { NODE_EXTRA_CA_CERTS: _unused, ...clean } = env;
    envs.push({ suffix: ' [no NODE_EXTRA_CA_CERTS]', env: clean });
  }
  const runs = envs.flatMap(({ suffix, env }) => commands.map((c) => ({ ...c, name: `${c.name}${suffix}`, env, suffix })));
  const samples = new Map<string, Sample[]>(runs.map((c) => [c.name, []]));
  const rounds = ctx.runs * 2;
  // One round untimed: the page cache and the manager warm.
  for (let r = -1; r < rounds; r++) {
    for (let i = 0; i < runs.length; i++) {
      const command = runs[(i + Math.max(r, 0)) % runs.length]!;
      const result = await runOnce(rusage, command.argv, command.env);
      if (result.code !== command.expect.code || !command.expect.stdout.test(result.stdout)) {
        throw new Error(`${command.name}: exit ${result.code}, expected ${command.expect.code}\n${result.stdout.slice(0, 500)}${result.stderr.slice(0, 500)}`);
      }
      if (r >= 0) samples.get(command.name)!.push(result.sample);
    }
  }
  // Leave the manager as the other figures expect it: no apps.
  for (const name of Object.keys(exampleApps())) rmSync(join(appsDir, name), { force: true });
  await runCli(['apply', '--apps-dir', appsDir, '--state-dir', stateDir], { env: ctx.manager.env });

  const mib = (kib: number) => `${(kib / 1024).toFixed(0)} MiB`;
  return runs.map((c) => {
    const s = samples.get(c.name)!;
    const base = median(samples.get(`node -e 0${c.suffix}`)!.map((x) => x.wallMs));
    const wall = s.map((x) => x.wallMs);
    return {
      figure: 'CLI start-up',
      variant: c.name,
      unit: 'ms',
      median: median(wall),
      p90: percentile(wall, 90),
      runs: s.length,
      vsBaseline: median(wall) / base,
      baseline: 'node -e 0',
      ...(c.target !== undefined && { target: `<= ${c.target}x node -e 0` }),
      note: `RSS ${mib(median(s.map((x) => x.rssKiB)))}, CPU ${median(s.map((x) => x.cpuMs)).toFixed(0)} ms; 2 apps`,
      samples: wall,
    };
  });
}
