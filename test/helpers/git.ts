// A git repository of manifests for the --pull tiers: a bare origin, and an
// author's clone whose commits are pushed to it, as a user's workflow would.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** git with an identity and branch name of its own, never prompting. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', '-c', 'init.defaultBranch=main', ...args], { cwd, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } })
    .toString()
    .trim();
}

export interface ManifestRepo {
  readonly origin: string;
  /** The author's work tree; its manifests are in `${author}/apps.d`. */
  readonly author: string;
  /** Commits everything in the author's tree, pushes it, and returns the commit. */
  push(message: string): string;
  /** A clone of origin's main branch at `dir`, as a host deploys it. */
  clone(dir: string): void;
}

/** Under `root`: origin.git and author/, with `files` in apps.d as the first pushed commit. */
export function manifestRepo(root: string, files: Record<string, string>, message = 'first'): ManifestRepo {
  const origin = join(root, 'origin.git');
  const author = join(root, 'author');
  git(root, 'init', '--bare', '-q', origin);
  git(root, 'clone', '-q', origin, author);
  mkdirSync(join(author, 'apps.d'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(author, 'apps.d', name), text);
  const push = (m: string) => {
    git(author, 'add', '-A');
    git(author, 'commit', '-q', '-m', m);
    git(author, 'push', '-q', 'origin', 'HEAD:main');
    return git(author, 'rev-parse', 'HEAD');
  };
  push(message);
  return { origin, author, push, clone: (dir) => void git(root, 'clone', '-q', '-b', 'main', origin, dir) };
}
