/**
 * Canonical JSON serialisers.
 *
 * - `jcs`: RFC 8785. Keys sorted by UTF-16 code units, ES6 number formatting, JSON.stringify string escaping.
 *   Also HashMatch's `stableStringify` (which additionally throws on undefined / non-plain objects — so do we).
 * - `python`: `json.dumps(obj, sort_keys=True, separators=(",",":"), allow_nan=False, ensure_ascii=…)`:
 *   code-point key order, Python int/float `repr` rules (decided by JsonNumber token shape), Python escaping.
 *   `ensureAscii: false` is ELI `json_c14n_v1`; `true` is WCP / pyhall.
 *
 * Input values: output of {@link parseJson} (JsonNumber) or plain JS values. A plain JS `number` is a Python
 * `int` when it is a safe integer (and not -0), otherwise a `float`; a `bigint` is an `int`. Use JsonNumber
 * (e.g. `new JsonNumber('1.0')`) to force a float.
 */
import { EvidentError } from '../errors.ts';
import { JsonNumber } from './number.ts';

export type CanonProfile = 'jcs' | 'python';

export interface PythonOptions {
  ensureAscii?: boolean;
  /** Default true. False keeps insertion order (Python dict order), as in H4MK META. */
  sortKeys?: boolean;
  /** Default false (allow_nan=False). */
  allowNan?: boolean;
  /** `indent=N`: pretty form with `", "`-free item separators and `": "` key separator, as Python does. */
  indent?: number;
  maxDepth?: number;
  /**
   * The caller guarantees that no string in the value (member names included) holds a character json.dumps would
   * escape (`"`, `\`, C0 controls; non-ASCII when ensureAscii) or a lone surrogate, so strings are quoted as they are
   * without testing them. True for everything parsed from text without a backslash (a fatal UTF-8 decode and the
   * parser exclude the rest). Output is identical; a false guarantee yields wrong output, never an exception.
   */
  plainStrings?: boolean;
  /**
   * Write lone surrogates as Python does instead of refusing them (default false): with `ensureAscii` as a
   * lower-case `\udXXX` escape (json.dumps output; WCP compat). Without `ensureAscii` they are still refused, since
   * Python's output then cannot be encoded as UTF-8.
   */
  loneSurrogates?: boolean;
}

const MAX_DEPTH = 1000;

function notCanon(msg: string): never {
  throw new EvidentError('JSON_NOT_CANONICALIZABLE', msg);
}

// ---------------------------------------------------------------- numbers

/** ES6 Number.prototype.toString as required by RFC 8785 §3.2.2.3 (−0 → "0"). */
export function formatJcsNumber(x: number): string {
  if (!Number.isFinite(x)) notCanon(`number ${x} is not allowed in canonical JSON`);
  if (x === 0) return '0';
  return String(x);
}

/** Python `float.__repr__` for a finite double (shortest round-trip digits; repr's notation rules). */
export function formatPythonFloat(x: number, allowNan = false): string {
  if (Number.isNaN(x)) return allowNan ? 'NaN' : notCanon('NaN is not allowed (allow_nan=False)');
  if (x === Infinity) return allowNan ? 'Infinity' : notCanon('Infinity is not allowed (allow_nan=False)');
  if (x === -Infinity) return allowNan ? '-Infinity' : notCanon('-Infinity is not allowed (allow_nan=False)');
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  // JS and Python both print the shortest round-trip digits; in Python's fixed-notation range (1e-4 <= |x| < 1e16)
  // JS prints them in fixed notation too, so only a missing ".0" differs
  const ax = Math.abs(x);
  if (ax >= 1e-4 && ax < 1e16) {
    const js = String(x);
    return js.includes('.') ? js : js + '.0';
  }
  const neg = x < 0;
  // toExponential() without an argument yields the shortest round-trip digits: "d.ddde±x"
  const ex = Math.abs(x).toExponential();
  const ePos = ex.indexOf('e');
  const digits = ex.slice(0, ePos).replace('.', '');
  const exp = parseInt(ex.slice(ePos + 1), 10);
  let s: string;
  if (exp >= -4 && exp < 16) {
    if (exp < 0) s = '0.' + '0'.repeat(-exp - 1) + digits;
    else if (digits.length <= exp + 1) s = digits + '0'.repeat(exp + 1 - digits.length) + '.0';
    else s = digits.slice(0, exp + 1) + '.' + digits.slice(exp + 1);
  } else {
    const mant = digits.length === 1 ? digits : digits[0] + '.' + digits.slice(1);
    const es = Math.abs(exp).toString().padStart(2, '0');
    s = `${mant}e${exp < 0 ? '-' : '+'}${es}`;
  }
  return neg ? '-' + s : s;
}

const INT_LEXEME = /^-?(?:0|[1-9][0-9]*)$/;

function pythonNumber(v: number | bigint | JsonNumber, allowNan: boolean): string {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof JsonNumber) {
    const lex = v.lexeme;
    // a JSON integer token is already Python's int repr (only "-0" differs); odd hand-made lexemes go via BigInt
    if (INT_LEXEME.test(lex)) return lex === '-0' ? '0' : lex;
    if (v.isInteger) return BigInt(lex).toString();
    return formatPythonFloat(Number(lex), allowNan);
  }
  if (Number.isSafeInteger(v) && !Object.is(v, -0)) return String(v);
  return formatPythonFloat(v, allowNan);
}

// ---------------------------------------------------------------- strings

const NEEDS_ASCII_ESCAPE = /[^\x20-\x7e]/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const ANY_SURROGATE = /[\ud800-\udfff]/;
const NON_ASCII_PRINTABLE = /[^\x20-\x7e]/;
/** ES2024 `String.prototype.isWellFormed` (Node >= 20), with a regex fallback. */
const nativeWellFormed = (String.prototype as unknown as { isWellFormed?: (this: string) => boolean }).isWellFormed;

/** True when a string has no lone surrogate (i.e. it is encodable as UTF-8). */
export function isWellFormedString(s: string): boolean {
  return nativeWellFormed ? nativeWellFormed.call(s) : !(ANY_SURROGATE.test(s) && LONE_SURROGATE.test(s));
}

/** Strings that need no escaping at all (the common case: ids, digests, timestamps): quoted as they are. */
const PLAIN_UNICODE = /^[^"\\\x00-\x1f\ud800-\udfff]*$/;
const PLAIN_ASCII = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function pyString(s: string, ensureAscii: boolean, loneSurrogates = false): string {
  if ((ensureAscii ? PLAIN_ASCII : PLAIN_UNICODE).test(s)) return '"' + s + '"';
  // (JSON.stringify writes a lone surrogate as a lower-case \udXXX escape, as json.dumps(ensure_ascii=True) does)
  if (!loneSurrogates && !isWellFormedString(s)) notCanon('string contains a lone surrogate (not encodable as UTF-8)');
  // JSON.stringify escapes exactly what Python's json.dumps(ensure_ascii=False) escapes (", \\, \b \f \n \r \t,
  // other C0 controls as lowercase \u00XX); ensure_ascii additionally escapes everything outside 0x20-0x7e
  const j = JSON.stringify(s);
  if (!ensureAscii || !NON_ASCII_PRINTABLE.test(j)) return j;
  return j.replace(NEEDS_ASCII_ESCAPE, (ch) => '\\u' + ch.charCodeAt(0).toString(16).padStart(4, '0'));
}

// ---------------------------------------------------------------- key order

/** Compare by Unicode code point (Python str order); JS `<` compares UTF-16 code units. */
export function compareCodePoints(a: string, b: string): number {
  const len = Math.min(a.length, b.length);
  for (let k = 0; k < len; k++) {
    let x = a.charCodeAt(k);
    let y = b.charCodeAt(k);
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) {
        x = x <= 0xdfff ? x + 0x2000 : x - 0x800;
        y = y <= 0xdfff ? y + 0x2000 : y - 0x800;
      }
      return x - y;
    }
  }
  return a.length - b.length;
}

const AT_OR_ABOVE_SURROGATES = /[\ud800-\uffff]/;

/**
 * Sort keys in code point order, in place. Small objects (the usual case) take an insertion sort with
 * {@link compareCodePoints}: five times faster than Array.prototype.sort for a handful of keys. Larger ones use the
 * native sort; code unit order (the default sort) is the same unless a key holds a surrogate or a character above
 * U+DFFF, so the comparator is used only then.
 */
export function sortCodePoints(keys: string[]): string[] {
  const n = keys.length;
  if (n <= 12) {
    for (let i = 1; i < n; i++) {
      const key = keys[i]!;
      let j = i - 1;
      while (j >= 0 && compareCodePoints(keys[j]!, key) > 0) {
        keys[j + 1] = keys[j]!;
        j--;
      }
      keys[j + 1] = key;
    }
    return keys;
  }
  for (let k = 0; k < n; k++) if (AT_OR_ABOVE_SURROGATES.test(keys[k]!)) return keys.sort(compareCodePoints);
  return keys.sort();
}

// ---------------------------------------------------------------- JCS

function isPlainObject(v: object): boolean {
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}

/** RFC 8785 canonical form (string). Throws JSON_NOT_CANONICALIZABLE on undefined, NaN, bigint, class instances. */
export function canonicalizeJcs(value: unknown): string {
  return jcs(value, 0);
}

function jcs(v: unknown, depth: number): string {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      return formatJcsNumber(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object': {
      if (v === null) return 'null';
      if (depth >= MAX_DEPTH) notCanon(`nesting deeper than ${MAX_DEPTH}`);
      if (v instanceof JsonNumber) return formatJcsNumber(Number(v.lexeme));
      if (Array.isArray(v)) {
        let s = '[';
        for (let k = 0; k < v.length; k++) {
          if (k) s += ',';
          const e = v[k];
          if (e === undefined) notCanon(`undefined array element at index ${k}`);
          s += jcs(e, depth + 1);
        }
        return s + ']';
      }
      if (!isPlainObject(v)) notCanon(`cannot canonicalize a ${v.constructor?.name ?? 'non-plain'} object`);
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o).sort();
      let s = '{';
      let first = true;
      for (const k of keys) {
        const e = o[k];
        if (e === undefined) notCanon(`member ${JSON.stringify(k)} is undefined`);
        if (!first) s += ',';
        first = false;
        s += JSON.stringify(k) + ':' + jcs(e, depth + 1);
      }
      return s + '}';
    }
    default:
      return notCanon(`cannot canonicalize a value of type ${typeof v}`);
  }
}

// ---------------------------------------------------------------- Python json.dumps

interface PyState {
  ensureAscii: boolean;
  sortKeys: boolean;
  allowNan: boolean;
  indent: number | undefined;
  maxDepth: number;
  plainStrings: boolean;
  loneSurrogates: boolean;
}

function pyState(opts: PythonOptions): PyState {
  return {
    ensureAscii: opts.ensureAscii ?? false,
    sortKeys: opts.sortKeys ?? true,
    allowNan: opts.allowNan ?? false,
    indent: opts.indent,
    maxDepth: opts.maxDepth ?? MAX_DEPTH,
    plainStrings: opts.plainStrings ?? false,
    loneSurrogates: (opts.loneSurrogates ?? false) && (opts.ensureAscii ?? false),
  };
}

export function canonicalizePython(value: unknown, opts: PythonOptions = {}): string {
  return py(value, 0, pyState(opts));
}

/** A `canonicalizePython` with its options fixed once (for hot paths that canonicalise many small values). */
export function pythonCanonicalizer(opts: PythonOptions = {}): (value: unknown) => string {
  const st = pyState(opts);
  return (value) => py(value, 0, st);
}

function py(v: unknown, depth: number, st: PyState): string {
  switch (typeof v) {
    case 'string':
      return st.plainStrings ? '"' + v + '"' : pyString(v, st.ensureAscii, st.loneSurrogates);
    case 'number':
    case 'bigint':
      return pythonNumber(v, st.allowNan);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object': {
      if (v === null) return 'null';
      if (depth >= st.maxDepth) notCanon(`nesting deeper than ${st.maxDepth}`);
      if (v instanceof JsonNumber) return pythonNumber(v, st.allowNan);
      const nl = st.indent === undefined ? '' : '\n' + ' '.repeat(st.indent * (depth + 1));
      const nlEnd = st.indent === undefined ? '' : '\n' + ' '.repeat(st.indent * depth);
      const itemSep = ',' + nl;
      if (Array.isArray(v)) {
        if (v.length === 0) return '[]';
        let s = '[' + nl;
        for (let k = 0; k < v.length; k++) {
          const e: unknown = v[k];
          if (e === undefined) notCanon(`undefined array element at index ${k}`);
          if (k) s += itemSep;
          s += py(e, depth + 1, st);
        }
        return s + nlEnd + ']';
      }
      if (!isPlainObject(v)) notCanon(`cannot canonicalize a ${v.constructor?.name ?? 'non-plain'} object`);
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o);
      if (keys.length === 0) return '{}';
      if (st.sortKeys) sortCodePoints(keys);
      const sep = st.indent === undefined ? ':' : ': ';
      let s = '{' + nl;
      for (let k = 0; k < keys.length; k++) {
        const key = keys[k]!;
        const e = o[key];
        if (e === undefined) notCanon(`member ${JSON.stringify(key)} is undefined`);
        if (k) s += itemSep;
        s += (st.plainStrings ? '"' + key + '"' : pyString(key, st.ensureAscii, st.loneSurrogates)) + sep + py(e, depth + 1, st);
      }
      return s + nlEnd + '}';
    }
    default:
      return notCanon(`cannot canonicalize a value of type ${typeof v}`);
  }
}

// ---------------------------------------------------------------- facade

export interface CanonOptions extends PythonOptions {
  profile?: CanonProfile;
}

const enc = new TextEncoder();

/** Canonical string in the chosen profile (default `jcs`). */
export function canonicalize(value: unknown, opts: CanonOptions = {}): string {
  return (opts.profile ?? 'jcs') === 'jcs' ? canonicalizeJcs(value) : canonicalizePython(value, opts);
}

/** Canonical UTF-8 bytes. */
export function canonicalBytes(value: unknown, opts: CanonOptions = {}): Uint8Array {
  return enc.encode(canonicalize(value, opts));
}

/** Stable file form: canonical bytes followed by exactly one `\n`. */
export function stableFile(value: unknown, opts: CanonOptions = {}): string {
  return canonicalize(value, opts) + '\n';
}

/** JSONL: one canonical line per record, plus a final `\n` (an empty list yields just `\n`). */
export function stableJsonl(records: readonly unknown[], opts: CanonOptions = {}): string {
  return records.map((r) => canonicalize(r, opts)).join('\n') + '\n';
}
