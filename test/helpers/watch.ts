// Runs `appsd watch` as a child process and follows its log.
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI } from './cli.js';

export class WatchProcess {
  readonly lines: string[] = [];
  private readonly child: ChildProcess;
  private waiters: Array<() => void> = [];
  readonly exited: Promise<number | null>;

  constructor(args: string[], env: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, [CLI, 'watch', '--verbose', ...args], {
      env: { ...process.env, ...env, APPSD_LOG_FORMAT: 'journal', APPSD_DEBOUNCE_MS: '25' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop()!;
      this.lines.push(...parts);
      for (const w of this.waiters.splice(0)) w();
    };
    this.child.stdout!.on('data', onData);
    this.child.stderr!.on('data', onData);
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Waits for a log line matching `pattern` after line index `from`; returns its index. */
  async waitForLine(pattern: RegExp, timeoutMs = 10_000, from = 0): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.lines.findIndex((l, i) => i >= from && pattern.test(l));
      if (index >= 0) return index;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no log line matching ${pattern} within ${timeoutMs} ms; log:\n${this.lines.slice(-30).join('\n')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  signal(name: NodeJS.Signals): void {
    this.child.kill(name);
  }

  async stop(): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }
}
