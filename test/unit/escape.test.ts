import test from 'ava';
import { escapeExecWord, formatCommandLine, formatEnvironmentAssignment, specifier, UnitValueError } from '../../src/unit/escape.js';
import { UnitFile } from '../../src/unit/unitfile.js';
import { parseEnvironmentLine, parseExecLine } from '../helpers/exec-line.js';

// Values a manifest could carry to break out of a unit file or a command line.
export const HOSTILE = [
  'plain',
  '',
  'two words',
  'new\nline',
  'new\nExecStartPre=/bin/rm -rf /',
  '%n %h %% %',
  '$HOME ${HOME} $$ $',
  '"double" \'single\'',
  'back\\slash',
  'trailing\\',
  ';',
  'a ; b',
  '\\;',
  '-leading-dash',
  '@at',
  'tab\there',
  'carriage\rreturn',
  'bell\x07 esc\x1b del\x7f',
  'ünïcödé ✓ 日本',
  '$(rm -rf /) `id` && || > <',
  '#comment',
  '[Section]',
];

for (const value of HOSTILE) {
  test(`exec word round-trips: ${JSON.stringify(value)}`, (t) => {
    const line = formatCommandLine(['/bin/echo', value, 'after']);
    t.false(/[\n\r]/.test(line), 'no line break reaches the unit file');
    t.deepEqual(parseExecLine(line), ['/bin/echo', value, 'after']);
  });

  test(`environment value round-trips: ${JSON.stringify(value)}`, (t) => {
    const line = formatEnvironmentAssignment('VALUE', value);
    t.false(/[\n\r]/.test(line));
    t.deepEqual(parseEnvironmentLine(line), { VALUE: value });
  });
}

test('specifier parts expand and stay one word even if the home directory has spaces', (t) => {
  const line = formatCommandLine(['/usr/bin/podman', ['--volume=', specifier('h'), '/data 100%:/data']]);
  t.deepEqual(parseExecLine(line, { h: '/home/a b' }), ['/usr/bin/podman', '--volume=/home/a b/data 100%:/data']);
});

test('simple words stay bare, for readable units', (t) => {
  t.is(escapeExecWord('--exit-idle-time=30s'), '--exit-idle-time=30s');
  t.is(escapeExecWord('127.0.0.1:8080'), '127.0.0.1:8080');
  t.is(escapeExecWord('two words'), '"two words"');
});

test('an executable that systemd would read as a prefix is refused', (t) => {
  for (const first of ['-rm', '@x', ':x', '+x', '!x', '|x']) {
    t.throws(() => formatCommandLine([first]), { instanceOf: UnitValueError });
  }
});

test('the unit model refuses line breaks and trailing backslashes in any value', (t) => {
  const unit = new UnitFile();
  t.throws(() => unit.add('Unit', 'Description', 'a\nExecStart=/bin/sh'), { instanceOf: UnitValueError });
  t.throws(() => unit.add('Unit', 'Description', 'ends in \\'), { instanceOf: UnitValueError });
  t.throws(() => unit.add('Unit', 'Bad Key', 'x'), { instanceOf: UnitValueError });
  t.throws(() => unit.comment('x\n[Service]'), { instanceOf: UnitValueError });
});

test('unit files serialize byte-stably and parse back to the same model', (t) => {
  const unit = new UnitFile().comment('header');
  unit.add('Unit', 'Description', 'x').add('Service', 'ExecStart', '/bin/true').add('Unit', 'After', 'a.service');
  const text = unit.toString();
  t.is(text, '# header\n\n[Unit]\nDescription=x\nAfter=a.service\n\n[Service]\nExecStart=/bin/true\n');
  t.is(UnitFile.parse(text).toString(), text);
  t.deepEqual(UnitFile.parse(text).get('Unit', 'After'), ['a.service']);
});
