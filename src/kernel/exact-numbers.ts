/**
 * Numbers a JSON document states exactly, or not: RFC 8785 (JCS) — and JSON.parse — carry every number as an IEEE-754
 * double, so a statement signed in canonical form says `9007199254740992` where the caller sent `9007199254740993`,
 * and `0` for `1e-400`. Signing that would attest something the caller never sent. {@link inexactNumbers} finds the
 * numbers of a lossless tree (kernel/json `numbers: 'lossless'`) whose decimal value differs from the value of their
 * canonical serialisation; issuers refuse them (JSON_NUMBER_INEXACT, 400) instead of changing them.
 *
 * Spelling differences of one value are exact (`1.0` = `1`, `1E2` = `100`, `-0` = `0`): only the value counts.
 */
import { EvidentError } from './errors.ts';
import { JsonNumber, isJsonObject, type JsonValue } from './json/index.ts';

/** Normalised decimal value of a JSON number lexeme: sign, significant digits, exponent; undefined if malformed. */
function decimal(lexeme: string): { neg: boolean; digits: string; exp: bigint } | undefined {
  const m = /^(-)?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(lexeme);
  if (!m) return undefined;
  const frac = m[3] ?? '';
  let digits = (m[2]! + frac).replace(/^0+/, '');
  let exp = BigInt(m[4] ?? '0') - BigInt(frac.length);
  if (digits === '') return { neg: false, digits: '0', exp: 0n };
  const trimmed = digits.replace(/0+$/, '');
  exp += BigInt(digits.length - trimmed.length);
  digits = trimmed;
  return { neg: m[1] === '-', digits, exp };
}

/** True when the number's value survives the double conversion JCS / JSON.parse apply. */
export function isExactNumber(lexeme: string): boolean {
  const v = Number(lexeme);
  if (!Number.isFinite(v)) return false;
  const a = decimal(lexeme);
  const b = decimal(String(v)); // ECMAScript Number::toString: the JCS serialisation of v
  return !!a && !!b && a.neg === b.neg && a.digits === b.digits && a.exp === b.exp;
}

export interface InexactNumber {
  /** JSON path, e.g. `$.statement.predicate.n`. */
  path: string;
  sent: string;
  /** What a double (and so the canonical form) would carry; `Infinity` when out of range. */
  becomes: string;
}

/** The numbers of a lossless tree that a double cannot carry exactly (at most `max`). */
export function inexactNumbers(v: JsonValue | undefined, max = 10): InexactNumber[] {
  const out: InexactNumber[] = [];
  const walk = (x: JsonValue | undefined, path: string): void => {
    if (out.length >= max || x === undefined) return;
    if (x instanceof JsonNumber) {
      if (!isExactNumber(x.lexeme)) out.push({ path, sent: x.lexeme, becomes: String(Number(x.lexeme)) });
    } else if (typeof x === 'bigint') {
      if (BigInt(Number(x)) !== x) out.push({ path, sent: x.toString(), becomes: String(Number(x)) });
    } else if (Array.isArray(x)) x.forEach((e, i) => walk(e, `${path}[${i}]`));
    else if (isJsonObject(x)) for (const k of Object.keys(x)) walk(x[k], /^[A-Za-z_$][\w$]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`);
  };
  walk(v, '$');
  return out;
}

/** Throw JSON_NUMBER_INEXACT (a 400 on the issuing routes) when some number would be changed. */
export function assertExactNumbers(v: JsonValue | undefined): void {
  const bad = inexactNumbers(v, 3);
  if (bad.length === 0) return;
  const list = bad.map((b) => `${b.path} = ${b.sent.slice(0, 40)} (a double holds ${b.becomes})`).join('; ');
  throw new EvidentError('JSON_NUMBER_INEXACT', `numbers that cannot be signed exactly in canonical JSON (RFC 8785 numbers are IEEE-754 doubles): ${list}; send them as strings`);
}
