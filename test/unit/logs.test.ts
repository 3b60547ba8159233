// The pure parts of `appsd logs`: journalctl's arguments, journal entries to
// lines, which unit an entry is from, --since; and the sandbox's render option.
import test from 'ava';
import { sinceArgument } from '../../src/cli/logs.js';
import { entryLines, entryUnit, fieldText, formatLogLine, orphanUnit, type JournalEntry } from '../../src/logs/entry.js';
import { journalctlArgs } from '../../src/logs/journal.js';
import { DEFAULT_RENDER_OPTIONS, renderOptionsFor } from '../../src/render/options.js';
import { desiredUnits } from '../../src/render/desired.js';
import { load } from '../helpers/fixtures.js';

const UNITS = new Set(['appsd-web.socket', 'appsd-web.service', 'appsd-web-backend.service']);
const BOOT = 'f104962c5a7a46309774fd85546f054a';

test('user scope: the units by _SYSTEMD_USER_UNIT and USER_UNIT for this user, and known main processes, ORed', (t) => {
  const args = journalctlArgs({
    scope: 'user',
    units: ['appsd-web.socket', 'appsd-web-backend.service'],
    source: { directory: '/tmp/j' },
    lines: 70,
    uid: 1000,
    processes: new Map([[4242, { unit: 'appsd-web-backend.service', sinceMonoUs: 5n }]]),
  });
  t.true(args.includes('--output=json') && args.includes('--directory=/tmp/j') && args.includes('--lines=70'));
  t.false(args.some((a) => a.startsWith('--user')), 'no --user or --user-unit: root\'s user units are in the system journal');
  const matches = args.slice(args.findIndex((a) => !a.startsWith('--')));
  t.deepEqual(matches, [
    '_SYSTEMD_USER_UNIT=appsd-web.socket', '_SYSTEMD_USER_UNIT=appsd-web-backend.service', '_UID=1000', '+',
    'USER_UNIT=appsd-web.socket', 'USER_UNIT=appsd-web-backend.service', '_UID=1000', '+',
    '_PID=4242', '_UID=1000',
  ]);
  // Only the processes' own lines: no manager messages.
  const own = journalctlArgs({ scope: 'user', units: ['appsd-web-backend.service'], source: {}, processOnly: true, uid: 0 });
  t.deepEqual(own.filter((a) => !a.startsWith('--')), ['_SYSTEMD_USER_UNIT=appsd-web-backend.service', '_UID=0']);
});

test('system scope: journalctl -u per unit; following from a cursor', (t) => {
  const args = journalctlArgs({ scope: 'system', units: ['appsd-web.socket', 'appsd-web-backend.service'], source: {}, follow: true, afterCursor: 's=1;i=2' });
  t.deepEqual(args.filter((a) => a.startsWith('--unit=')), ['--unit=appsd-web.socket', '--unit=appsd-web-backend.service']);
  t.true(args.includes('--follow') && args.includes('--after-cursor=s=1;i=2'));
  t.deepEqual(journalctlArgs({ scope: 'system', units: ['appsd-web-backend.service'], source: {}, processOnly: true }).filter((a) => !a.startsWith('--')), ['_SYSTEMD_UNIT=appsd-web-backend.service']);
});

test('an entry\'s unit: the user unit first, the manager\'s message about a unit, or none of ours', (t) => {
  t.is(entryUnit({ _SYSTEMD_UNIT: 'user@0.service', _SYSTEMD_USER_UNIT: 'appsd-web-backend.service' }, UNITS, 'user'), 'appsd-web-backend.service');
  t.is(entryUnit({ _SYSTEMD_UNIT: 'init.scope', UNIT: 'appsd-web.socket' }, UNITS, 'system'), 'appsd-web.socket');
  t.is(entryUnit({ _SYSTEMD_USER_UNIT: 'init.scope', USER_UNIT: 'appsd-web.service' }, UNITS, 'user'), 'appsd-web.service');
  t.is(entryUnit({ _SYSTEMD_UNIT: 'other.service' }, UNITS, 'system'), undefined);
  // A system unit's field does not count in the system scope for user fields.
  t.is(entryUnit({ _SYSTEMD_USER_UNIT: 'appsd-web.service' }, UNITS, 'system'), undefined);
});

test('entries to lines: trailing newline, several lines, binary, noise dropped, the time in UTC', (t) => {
  const base = { __REALTIME_TIMESTAMP: '1795910335563435', PRIORITY: '3' };
  const [line] = entryLines({ ...base, MESSAGE: 'from a container\n' }, 'appsd-web-backend.service');
  t.is(formatLogLine(line!), '2026-11-28T23:58:55.563Z appsd-web-backend.service: from a container');
  t.is(line!.priority, 3);
  t.deepEqual(entryLines({ ...base, MESSAGE: 'Error: boom\n    at main (x.js:1)' }, 'u').map((l) => l.message), ['Error: boom', '    at main (x.js:1)']);
  t.deepEqual(entryLines({ ...base, MESSAGE: [104, 105, 255] }, 'u').map((l) => l.message), ['hi\ufffd']);
  t.deepEqual(entryLines({ ...base, MESSAGE: '' }, 'u'), []);
  t.deepEqual(entryLines({ ...base, MESSAGE: null }, 'u'), [], 'a field journalctl did not print');
  // `podman run -d` prints the container ID; the app's own hex output stays.
  const id = 'a'.repeat(64);
  t.deepEqual(entryLines({ ...base, MESSAGE: id, SYSLOG_IDENTIFIER: 'podman' }, 'u'), []);
  t.is(entryLines({ ...base, MESSAGE: id, SYSLOG_IDENTIFIER: 'node' }, 'u').length, 1);
  t.is(fieldText({ MESSAGE: ['first', 'second'] }, 'MESSAGE'), 'second');
});

test('an entry journald could not place (the writer was gone): the unit whose last main process wrote it, in its last run', (t) => {
  const known = new Map([[4242, { unit: 'appsd-web-backend.service', sinceMonoUs: 1000n }]]);
  const orphan: JournalEntry = { _PID: '4242', _BOOT_ID: BOOT, __MONOTONIC_TIMESTAMP: '2000', MESSAGE: 'fatal' };
  t.is(orphanUnit(orphan, known, BOOT), 'appsd-web-backend.service');
  t.is(orphanUnit({ ...orphan, __MONOTONIC_TIMESTAMP: '999' }, known, BOOT), undefined, 'before that run: another process with the PID');
  t.is(orphanUnit({ ...orphan, _BOOT_ID: '0'.repeat(32) }, known, BOOT), undefined, 'another boot');
  t.is(orphanUnit({ ...orphan, _SYSTEMD_CGROUP: '/user.slice/other.service' }, known, BOOT), undefined, 'placed: someone else\'s');
  t.is(orphanUnit({ ...orphan, _PID: '4243' }, known, BOOT), undefined);
});

test('--since: a time span means that long ago; anything else goes to journalctl as it is', (t) => {
  const now = Date.UTC(2026, 10, 28, 18, 0, 0);
  t.is(sinceArgument('10min', now), `@${(now / 1000 - 600).toFixed(3)}`);
  t.is(sinceArgument('1h 30min', now), `@${(now / 1000 - 5400).toFixed(3)}`);
  for (const text of ['2026-11-28 18:00', 'yesterday', '-1h', '10min ago', '@1795910335']) t.is(sinceArgument(text, now), text);
});

test('containers log to the journal by flag only under the sandbox; the default units are as before', (t) => {
  const apps = load({ 'web.yaml': 'listen: 127.0.0.1:8080\ncontainer:\n  image: localhost/web:1\n  port: 80\n' }).apps;
  const execStart = (options: typeof DEFAULT_RENDER_OPTIONS) =>
    desiredUnits(apps, options).apps[0]!.units.find((u) => u.name === 'appsd-web-backend.service')!.text.split('\n').find((l) => l.startsWith('ExecStart='))!;
  t.false(execStart(DEFAULT_RENDER_OPTIONS).includes('--log-driver'));
  t.false(execStart(renderOptionsFor('user', '/tmp/s', 0, {})).includes('--log-driver'));
  t.false(execStart(renderOptionsFor('system', '/tmp/s', 0, { APPSD_JOURNAL_DIR: '/tmp/j' })).includes('--log-driver'));
  t.regex(execStart(renderOptionsFor('user', '/tmp/s', 0, { APPSD_JOURNAL_DIR: '/tmp/appsd-x/log/journal' })), / -d --replace --log-driver=journald --init /);
});
