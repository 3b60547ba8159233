// Test tiers that need real programs (systemd-analyze, a systemd manager,
// podman). Where a tier cannot run, it skips and says why; under CI=true a
// tier that cannot run is a failure, because CI must prove the real thing.
import test, { type TestFn } from 'ava';
import { execFileSync } from 'node:child_process';
import { privateManagerUnsupported, startPrivateManager, type PrivateManager, type PrivateManagerOptions } from '../../src/sandbox/private-manager.js';

export const IN_CI = process.env['CI'] === 'true';

export function missingPrograms(programs: readonly string[]): string[] {
  return programs.filter((p) => {
    try {
      execFileSync('sh', ['-c', `command -v "$1"`, 'sh', p], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
}

/** Why the programs make a tier impossible here, or undefined. */
export function needPrograms(programs: readonly string[]): string | undefined {
  const missing = missingPrograms(programs);
  return missing.length ? `needs ${missing.join(', ')} (run test/setup/install-deps.sh as root)` : undefined;
}

/**
 * Registers a tier's tests with `register`, or, where the tier cannot run,
 * a single skipped test (a failing one under CI) whose title says why.
 */
export function realTier(name: string, unsupported: string | undefined, register: () => void): void {
  if (!unsupported) return register();
  if (IN_CI) test(`${name} tier must run under CI`, (t) => t.fail(unsupported));
  else test.skip(`${name} tier skipped: ${unsupported}`, () => {});
}

/**
 * A tier whose tests share one private systemd manager (in `t.context.manager`),
 * started before the first test and stopped after the last.
 */
export function privateManagerTier(
  test: TestFn<{ manager: PrivateManager }>,
  name: string,
  register: () => void,
  options: PrivateManagerOptions = {},
): void {
  realTier(name, privateManagerUnsupported(), () => {
    test.before(async (t) => {
      t.context.manager = await startPrivateManager(options);
    });
    test.after.always(async (t) => {
      await t.context.manager?.stop();
    });
    register();
  });
}
