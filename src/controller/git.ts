// Adapter: fast-forwarding a git work tree of manifests (`watch --pull`).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const GIT_ENV = { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' };

/** The top of the work tree that holds `dir`, or undefined if it is not in one. */
export async function workTreeOf(dir: string): Promise<string | undefined> {
  try {
    const { stdout } = await run('git', ['-C', dir, 'rev-parse', '--show-toplevel'], { env: GIT_ENV });
    return stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

export async function headCommit(dir: string): Promise<string | undefined> {
  try {
    const { stdout } = await run('git', ['-C', dir, 'rev-parse', 'HEAD'], { env: GIT_ENV });
    return stdout.trim();
  } catch {
    return undefined;
  }
}

export type PullResult = { ok: true; changed: boolean; commit: string | undefined } | { ok: false; error: string };

/** `git pull --ff-only`: a pull that cannot fast-forward changes nothing and is reported. */
export async function pullFastForward(dir: string, timeoutMs = 60_000): Promise<PullResult> {
  const before = await headCommit(dir);
  try {
    await run('git', ['-C', dir, 'pull', '--ff-only', '--quiet'], { env: GIT_ENV, timeout: timeoutMs });
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    const detail = (e.stderr || e.message).trim().split('\n').filter(Boolean).slice(-2).join(' ');
    return { ok: false, error: detail };
  }
  const after = await headCommit(dir);
  return { ok: true, changed: after !== before, commit: after };
}
