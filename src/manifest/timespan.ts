// systemd time spans ("30s", "5min", "1h 30min"), as accepted by
// systemd-socket-proxyd --exit-idle-time and TimeoutStartSec=.
import type { Parsed } from './address.js';

const UNITS_MS: Record<string, number> = {
  us: 0.001, usec: 0.001, ms: 1, msec: 1,
  s: 1000, sec: 1000, second: 1000, seconds: 1000,
  m: 60_000, min: 60_000, minute: 60_000, minutes: 60_000,
  h: 3_600_000, hr: 3_600_000, hour: 3_600_000, hours: 3_600_000,
  d: 86_400_000, day: 86_400_000, days: 86_400_000,
  w: 604_800_000, week: 604_800_000, weeks: 604_800_000,
};

/** Longest span accepted: a year is plenty for an idle timeout or a readiness wait. */
const MAX_MS = 366 * 86_400_000;

/** Milliseconds, or null for `infinity`. A bare number means seconds, as in systemd. */
export function parseTimespan(value: string | number, allowInfinity: boolean): Parsed<number | null> {
  if (typeof value === 'number') return checkRange(value * 1000, String(value));
  const text = value.trim();
  if (text === 'infinity') {
    return allowInfinity ? { ok: true, value: null } : { ok: false, reason: '"infinity" is not allowed here' };
  }
  if (text === '') return { ok: false, reason: 'an empty time span' };
  let total = 0;
  const re = /\s*([0-9]+(?:\.[0-9]+)?)\s*([a-z]*)/gy;
  let consumed = 0;
  for (let m = re.exec(text); m && m[0] !== ''; m = re.exec(text)) {
    const unit = m[2] || 's';
    const factor = UNITS_MS[unit];
    if (factor === undefined) return { ok: false, reason: `unknown time unit "${unit}" in "${text}" (use ms, s, min, h, d)` };
    total += Number(m[1]) * factor;
    consumed = re.lastIndex;
  }
  if (consumed !== text.length) return { ok: false, reason: `"${text}" is not a time span (e.g. 30s, 5min, 1h 30min)` };
  return checkRange(total, text);
}

/** A time span that must be longer than 0 (a timeout, an interval). */
export function positiveSpan(value: string | number): Parsed<number> {
  const parsed = parseTimespan(value, false);
  if (!parsed.ok) return parsed;
  return parsed.value !== null && parsed.value > 0 ? { ok: true, value: parsed.value } : { ok: false, reason: 'must be longer than 0s' };
}

function checkRange(ms: number, text: string): Parsed<number> {
  if (!Number.isFinite(ms) || ms < 0) return { ok: false, reason: `"${text}" is not a time span` };
  if (ms > MAX_MS) return { ok: false, reason: `"${text}" is longer than a year` };
  return { ok: true, value: Math.round(ms) };
}

/** A canonical, byte-stable spelling of a span for unit files and command lines. */
export function formatTimespan(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}min`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
