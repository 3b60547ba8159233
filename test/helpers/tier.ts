// Test tiers that need real programs (systemd-analyze, a systemd manager,
// podman). Where a program is missing, the tier skips and says why; under
// CI=true a skipped tier is a failure, because CI must prove the real thing.
import test, { type TestFn } from 'ava';
import { execFileSync } from 'node:child_process';

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

/**
 * `test` when the tier can run; otherwise a single failing test under CI, or a
 * skipped one elsewhere, whose title says what is missing.
 */
export function tier(name: string, programs: readonly string[]): TestFn | undefined {
  const missing = missingPrograms(programs);
  if (missing.length === 0) return test;
  const reason = `${name} tier needs ${missing.join(', ')} (run test/setup/install-deps.sh as root)`;
  if (IN_CI) test(`${name} tier must run under CI`, (t) => t.fail(reason));
  else test.skip(`${name} tier skipped: ${reason}`, () => {});
  return undefined;
}
