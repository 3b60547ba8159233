// One appsd applies at a time: a lock file in the state directory holding the
// owner's PID. A lock whose process is gone is taken over.
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';

export class LockBusyError extends Error {
  override name = 'LockBusyError';
}

export interface Lock {
  release(): Promise<void>;
}

export async function acquireLock(stateDir: string, waitMs = 10_000): Promise<Lock> {
  await mkdir(stateDir, { recursive: true });
  const path = join(stateDir, 'lock');
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return { release: () => unlink(path).catch(() => {}) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
    if (!Number.isInteger(holder) || !alive(holder)) {
      // Stale: its owner died without releasing it.
      await unlink(path).catch(() => {});
      continue;
    }
    if (Date.now() >= deadline) throw new LockBusyError(`another appsd (PID ${holder}) is applying; lock ${path}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
