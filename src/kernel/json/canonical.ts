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

function pythonNumber(v: number | bigint | JsonNumber, allowNan: boolean): string {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof JsonNumber) {
    if (v.isInteger) return BigInt(v.lexeme).toString();
    return formatPythonFloat(Number(v.lexeme), allowNan);
  }
  if (Number.isSafeInteger(v) && !Object.is(v, -0)) return String(v);
  return formatPythonFloat(v, allowNan);
}

// ---------------------------------------------------------------- strings

const NEEDS_ASCII_ESCAPE = /[^\x20-\x7e]/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const ANY_SURROGATE = /[\ud800-\udfff]/;
const NON_ASCII_PRINTABLE = /[^\x20-\x7e]/;

function pyString(s: string, ensureAscii: boolean): string {
  // cheap tests first: most strings have no surrogates and, for ensure_ascii, nothing to escape
  if (ANY_SURROGATE.test(s) && LONE_SURROGATE.test(s)) notCanon('string contains a lone surrogate (not encodable as UTF-8)');
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

export function canonicalizePython(value: unknown, opts: PythonOptions = {}): string {
  const ensureAscii = opts.ensureAscii ?? false;
  const sortKeys = opts.sortKeys ?? true;
  const allowNan = opts.allowNan ?? false;
  const indent = opts.indent;
  const maxDepth = opts.maxDepth ?? MAX_DEPTH;
  const py = (v: unknown, depth: number): string => {
    switch (typeof v) {
      case 'string':
        return pyString(v, ensureAscii);
      case 'number':
      case 'bigint':
        return pythonNumber(v, allowNan);
      case 'boolean':
        return v ? 'true' : 'false';
      case 'object': {
        if (v === null) return 'null';
        if (depth >= maxDepth) notCanon(`nesting deeper than ${maxDepth}`);
        if (v instanceof JsonNumber) return pythonNumber(v, allowNan);
        const nl = indent === undefined ? '' : '\n' + ' '.repeat(indent * (depth + 1));
        const nlEnd = indent === undefined ? '' : '\n' + ' '.repeat(indent * depth);
        if (Array.isArray(v)) {
          if (v.length === 0) return '[]';
          const parts: string[] = [];
          for (let k = 0; k < v.length; k++) {
            if (v[k] === undefined) notCanon(`undefined array element at index ${k}`);
            parts.push(py(v[k], depth + 1));
          }
          return '[' + nl + parts.join(',' + nl) + nlEnd + ']';
        }
        if (!isPlainObject(v)) notCanon(`cannot canonicalize a ${v.constructor?.name ?? 'non-plain'} object`);
        const o = v as Record<string, unknown>;
        const keys = Object.keys(o);
        if (keys.length === 0) return '{}';
        if (sortKeys) keys.sort(compareCodePoints);
        const sep = indent === undefined ? ':' : ': ';
        const parts: string[] = [];
        for (const k of keys) {
          const e = o[k];
          if (e === undefined) notCanon(`member ${JSON.stringify(k)} is undefined`);
          parts.push(pyString(k, ensureAscii) + sep + py(e, depth + 1));
        }
        return '{' + nl + parts.join(',' + nl) + nlEnd + '}';
      }
      default:
        return notCanon(`cannot canonicalize a value of type ${typeof v}`);
    }
  };
  return py(value, 0);
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
