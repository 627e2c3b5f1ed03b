/**
 * What upstream `tools/eli_verify.py` does with inputs the strict code refuses, reproduced for compat mode:
 * Python's `base64.b64decode` (non-validating) and the exceptions `json_c14n_v1` raises for values Python's
 * `json.load` accepts (NaN/Infinity, overflowing floats, lone surrogates).
 */
import { JsonNumber, isJsonObject, type JsonObject, type JsonValue } from '../../kernel/json/index.ts';
import { jsonC14nV1 } from './c14n.ts';
import { bytesView } from '../../kernel/encoding.ts';

/** A Python exception raised by upstream (its `str()` is what upstream prints). */
export class PythonError extends Error {}

const B64 = new Int16Array(256).fill(-1);
'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.split('').forEach((c, i) => (B64[c.charCodeAt(0)] = i));

/**
 * `base64.b64decode(s)` with `validate=False` (CPython `binascii.a2b_base64`, non-strict): characters outside the
 * standard alphabet are discarded (so `-`/`_` of base64url and whitespace vanish), decoding stops at a pad that
 * completes a quantum, and a quantum left incomplete raises "Incorrect padding". Throws {@link PythonError}.
 */
export function pythonB64decode(s: string): Uint8Array {
  // the common case, canonical padded base64: Python and Node decode it to the same bytes
  if (s.length % 4 === 0) {
    const b = Buffer.from(s, 'base64');
    // Node skips characters outside its alphabets (so the length comes out short) but, unlike Python, also decodes
    // base64url letters: full length and no '-'/'_' means every character was a standard one, padding at the end
    if (b.length === (s.length / 4) * 3 - (s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0) && s.indexOf('-') < 0 && s.indexOf('_') < 0) return bytesView(b);
  }
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) throw new PythonError('string argument should contain only ASCII characters');
  }
  const out: number[] = [];
  let quad = 0;
  let left = 0;
  let pads = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    if (ch === 0x3d) {
      if (quad >= 2 && quad + ++pads >= 4) return Uint8Array.from(out);
      continue;
    }
    const v = B64[ch]!;
    if (v < 0) continue;
    pads = 0;
    switch (quad) {
      case 0:
        quad = 1;
        left = v;
        break;
      case 1:
        quad = 2;
        out.push(((left << 2) | (v >> 4)) & 0xff);
        left = v & 0x0f;
        break;
      case 2:
        quad = 3;
        out.push(((left << 4) | (v >> 2)) & 0xff);
        left = v & 0x03;
        break;
      default:
        quad = 0;
        out.push(((left << 6) | v) & 0xff);
        left = 0;
    }
  }
  if (quad === 1) {
    throw new PythonError(`Invalid base64-encoded string: number of data characters (${Math.floor(out.length / 3) * 4 + 1}) cannot be 1 more than a multiple of 4`);
  }
  if (quad !== 0) throw new PythonError('Incorrect padding');
  return Uint8Array.from(out);
}

function nonFinite(v: JsonValue): boolean {
  if (typeof v === 'number') return !Number.isFinite(v);
  if (v instanceof JsonNumber) return !v.isInteger && !Number.isFinite(v.toNumber());
  if (Array.isArray(v)) return v.some(nonFinite);
  if (isJsonObject(v)) return Object.values(v).some(nonFinite);
  return false;
}

/** Plane-15 private-use stand-in for a lone surrogate (one code point each, never escaped by json_c14n_v1). */
const STAND_IN = 0xf0000;

function standIns(v: JsonValue): JsonValue {
  if (typeof v === 'string') return v.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, (c) => String.fromCodePoint(STAND_IN + c.charCodeAt(0) - 0xd800));
  if (Array.isArray(v)) return v.map(standIns);
  if (isJsonObject(v)) {
    const o: JsonObject = {};
    for (const k of Object.keys(v)) o[standIns(k) as string] = standIns(v[k]!);
    return o;
  }
  return v;
}

/**
 * The message of the exception upstream's `json_c14n_v1(obj)` raises, or undefined when it raises none: its
 * `validate_no_special_floats` first ("NaN and Infinity are not allowed"), then UTF-8 encoding of the dumped text
 * (a lone surrogate: `'utf-8' codec can't encode character '\udXXX' in position N: surrogates not allowed`, N
 * counted in code points of the canonical text).
 */
export function pythonC14nError(obj: JsonValue): string | undefined {
  if (nonFinite(obj)) return 'NaN and Infinity are not allowed';
  let text: string;
  try {
    jsonC14nV1(obj);
    return undefined;
  } catch {
    text = jsonC14nV1(standIns(obj));
  }
  let pos = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp >= STAND_IN && cp < STAND_IN + 0x800) {
      const unit = (0xd800 + cp - STAND_IN).toString(16);
      return `'utf-8' codec can't encode character '\\u${unit}' in position ${pos}: surrogates not allowed`;
    }
    pos++;
  }
  return 'cannot canonicalise';
}
