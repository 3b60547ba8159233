import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireLock, LockBusyError, lockName } from '../../src/reconcile/lock.js';

test('one holder at a time: the second waits, then names the holder; nothing is written to disk', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'appsd-lock-'));
  const first = await acquireLock(dir);
  t.deepEqual(readdirSync(dir), []);
  const started = Date.now();
  const error = await t.throwsAsync(acquireLock(dir, 300), { instanceOf: LockBusyError });
  t.true(Date.now() - started >= 300);
  t.regex(error!.message, new RegExp(`PID ${process.pid}`));
  await first.release();
  const second = await acquireLock(dir, 0);
  await second.release();
});

test('different state directories have different locks', async (t) => {
  const a = await acquireLock(mkdtempSync(join(tmpdir(), 'appsd-lock-')), 0);
  const b = await acquireLock(mkdtempSync(join(tmpdir(), 'appsd-lock-')), 0);
  await a.release();
  await b.release();
  t.not(lockName('/x'), lockName('/y'));
  t.is(lockName('/x/'), lockName('/x'));
});

test('a lock whose holder died is free at once', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'appsd-lock-'));
  const script = `const net = require('net'); net.createServer().listen(${JSON.stringify(lockName(dir))}, () => process.stdout.write('held'));`;
  const child = spawn(process.execPath, ['-e', script]);
  await new Promise((resolve) => child.stdout.once('data', resolve));
  await t.throwsAsync(acquireLock(dir, 100), { instanceOf: LockBusyError });
  child.kill('SIGKILL');
  await new Promise((resolve) => child.on('exit', resolve));
  const lock = await acquireLock(dir, 0);
  await lock.release();
});

test('a waiting apply gets the lock when the holder releases it, not before', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'appsd-lock-'));
  const first = await acquireLock(dir);
  let releasedAt = Infinity;
  setTimeout(() => {
    releasedAt = Date.now();
    void first.release();
  }, 200);
  const second = await acquireLock(dir, 5000);
  const acquiredAt = Date.now();
  t.true(acquiredAt >= releasedAt, 'the second caller waited for the release');
  // Nobody else holds it now: the holder's socket answers with our own PID.
  await t.throwsAsync(acquireLock(dir, 0), { message: new RegExp(`PID ${process.pid}`) });
  await second.release();
});
