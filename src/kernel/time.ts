/**
 * RFC 3339 date-times (`2026-05-16T12:00:00Z`, `…T12:00:00.5+05:30`): the one parser every profile, the trust store
 * and the CLI's time flags use. Pure; no I/O.
 */
import { EvidentError } from './errors.ts';

/** RFC 3339 date-time with offset. Its fields sit at fixed places, so they are read by position, not captured. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})$/;

/** The two-digit number at s[i], s[i + 1] (digits already checked). */
function two(s: string, i: number): number {
  return (s.charCodeAt(i) - 48) * 10 + s.charCodeAt(i + 1) - 48;
}

/** 400 Gregorian years, in ms (a whole number of days: the calendar repeats). */
const FOUR_CENTURIES_MS = 146_097 * 86_400_000;

function daysInMonth(y: number, mo: number): number {
  if (mo === 2) return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28;
  return mo === 4 || mo === 6 || mo === 9 || mo === 11 ? 30 : 31;
}

/**
 * Parse an RFC 3339 date-time with offset; returns epoch ms or throws the given code. Fractions are truncated to
 * the millisecond and a leap second (`:60`) counts as `:59`, as `Date.parse` of the same text does (tested equal).
 */
export function parseRfc3339(s: unknown, what = 'time', code = 'INPUT_INVALID'): number {
  if (typeof s !== 'string' || !RFC3339.test(s)) throw new EvidentError(code, `${what} is not an RFC 3339 date-time: ${JSON.stringify(s)}`);
  const n = s.length;
  const last = s.charCodeAt(n - 1);
  const offset = last !== 0x5a && last !== 0x7a; // not Z / z: ends in ±HH:MM
  const y = two(s, 0) * 100 + two(s, 2);
  const mo = two(s, 5);
  const d = two(s, 8);
  const h = two(s, 11);
  const mi = two(s, 14);
  const se = two(s, 17);
  const oh = offset ? two(s, n - 5) : 0;
  const om = offset ? two(s, n - 2) : 0;
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || se > 60 || oh > 23 || om > 59) {
    throw new EvidentError(code, `${what} is out of range: ${JSON.stringify(s)}`);
  }
  // fraction: the digits after "." at 19, up to the offset; truncated (or padded) to milliseconds
  const ms = s.charCodeAt(19) === 0x2e ? +s.slice(20, Math.min(23, offset ? n - 6 : n - 1)).padEnd(3, '0') : 0;
  // Date.UTC maps years 0-99 to 1900-1999: compute 400 years later (same calendar) and step back
  let t = Date.UTC(y + 400, mo - 1, d, h, mi, se === 60 ? 59 : se, ms) - FOUR_CENTURIES_MS;
  if (offset) t -= (s.charCodeAt(n - 6) === 0x2d ? -1 : 1) * (oh * 60 + om) * 60_000;
  return t;
}
