import test from 'ava';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { acquireLock, LockBusyError } from '../../src/reconcile/lock.js';

test('one holder at a time: the second waits, then names the holder', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'appsd-lock-'));
  const first = await acquireLock(dir);
  t.is(readFileSync(join(dir, 'lock'), 'utf8'), `${process.pid}\n`);
  const started = Date.now();
  const error = await t.throwsAsync(acquireLock(dir, 300), { instanceOf: LockBusyError });
  t.true(Date.now() - started >= 300);
  t.regex(error!.message, new RegExp(`PID ${process.pid}`));
  await first.release();
  const second = await acquireLock(dir, 0);
  await second.release();
  t.false(existsSync(join(dir, 'lock')));
});

test('a lock left by a dead process is taken over', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'appsd-lock-'));
  const child = spawn(process.execPath, ['-e', '0']);
  const pid = child.pid!;
  await new Promise((resolve) => child.on('exit', resolve));
  writeFileSync(join(dir, 'lock'), `${pid}\n`);
  const lock = await acquireLock(dir, 0);
  t.is(readFileSync(join(dir, 'lock'), 'utf8'), `${process.pid}\n`);
  await lock.release();
});

test('a waiting apply gets the lock when the holder releases it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'appsd-lock-'));
  const first = await acquireLock(dir);
  setTimeout(() => void first.release(), 200);
  const second = await acquireLock(dir, 5000);
  t.pass();
  await second.release();
});
