/**
 * Python `json.loads` semantics, for compat modes whose upstream is Python (ELI `eli_verify.py`, WCP hall_api
 * `/enroll`): what upstream accepts, this accepts, with the value upstream sees.
 *
 * - `NaN`, `Infinity`, `-Infinity` literals → JS numbers NaN / ±Infinity (Python floats); a number token that
 *   overflows (`1e400`) stays a {@link JsonNumber} whose value is ±Infinity, as `float('1e400')` is.
 * - `\u` escapes of lone surrogates are kept (Python keeps them in `str`); adjacent high+low escapes combine.
 * - Duplicate keys: the last value wins (the member keeps its first position, as a dict does).
 * - `source: 'bytes'` is `json.loads(bytes)` (Flask `request.get_json`): a UTF-8 BOM is skipped (`utf-8-sig`),
 *   UTF-16 input is detected by its zero bytes, and UTF-8-encoded surrogates are decoded (`surrogatepass`).
 *   `source: 'text'` is `json.load(open(path))`: strict UTF-8 (invalid bytes → `JSON_BAD_UTF8`, which Python
 *   raises as UnicodeDecodeError, not JSONDecodeError) and a BOM is a syntax error ("Unexpected UTF-8 BOM").
 *
 * Every input the strict kernel parser ({@link parseJson}) accepts parses to the same value here, so callers try the
 * fast parser first and come here only when it refuses ({@link parsePythonJsonFast}).
 */
import { EvidentError } from '../errors.ts';
import { bufferView } from '../encoding.ts';
import { JsonNumber, setOwn, type JsonObject, type JsonValue } from './number.ts';
import { parseJson } from './parse.ts';

export interface PyJsonOptions {
  source?: 'bytes' | 'text';
  maxDepth?: number;
  maxBytes?: number;
}

function syntax(msg: string, pos: number): never {
  throw new EvidentError('JSON_SYNTAX', `${msg}: char ${pos}`);
}

/** Decode bytes as Python does for the given source. */
export function pythonDecode(bytes: Uint8Array, source: 'bytes' | 'text'): string {
  const b = bufferView(bytes);
  if (source === 'bytes') {
    // json.detect_encoding, then decode(…, 'surrogatepass')
    const utf32 = () => new EvidentError('JSON_BAD_UTF8', 'UTF-32 JSON input is not supported');
    if ((b[0] === 0 && b[1] === 0 && b[2] === 0xfe && b[3] === 0xff) || (b[0] === 0xff && b[1] === 0xfe && b[2] === 0 && b[3] === 0)) throw utf32();
    if (b[0] === 0xfe && b[1] === 0xff) return utf16(b, 'utf-16be', 2);
    if (b[0] === 0xff && b[1] === 0xfe) return utf16(b, 'utf-16le', 2);
    if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return utf8Decode(b.subarray(3), true);
    if (b.length >= 4) {
      if (b[0] === 0) {
        if (b[1]) return utf16(b, 'utf-16be', 0);
        throw utf32();
      }
      if (b[1] === 0) {
        if (b[2] || b[3]) return utf16(b, 'utf-16le', 0);
        throw utf32();
      }
    } else if (b.length === 2) {
      if (b[0] === 0) return utf16(b, 'utf-16be', 0);
      if (b[1] === 0) return utf16(b, 'utf-16le', 0);
    }
    return utf8Decode(b, true);
  }
  return utf8Decode(b, false);
}

function utf16(b: Buffer, enc: 'utf-16le' | 'utf-16be', skip: number): string {
  try {
    return new TextDecoder(enc, { fatal: true }).decode(b.subarray(skip));
  } catch (e) {
    throw new EvidentError('JSON_BAD_UTF8', `input is not valid ${enc.toUpperCase()}`, { cause: e });
  }
}

/** Strict UTF-8 decoding; `surrogatepass` also decodes the three-byte forms of U+D800..U+DFFF. */
function utf8Decode(b: Buffer, surrogatepass: boolean): string {
  let out = '';
  let i = 0;
  const n = b.length;
  let chunk: number[] = [];
  const flush = () => {
    out += String.fromCharCode(...chunk);
    chunk = [];
  };
  while (i < n) {
    const c = b[i]!;
    let cp: number;
    if (c < 0x80) {
      cp = c;
      i += 1;
    } else if (c >= 0xc2 && c <= 0xdf && i + 1 < n && (b[i + 1]! & 0xc0) === 0x80) {
      cp = ((c & 0x1f) << 6) | (b[i + 1]! & 0x3f);
      i += 2;
    } else if (c >= 0xe0 && c <= 0xef && i + 2 < n && (b[i + 1]! & 0xc0) === 0x80 && (b[i + 2]! & 0xc0) === 0x80) {
      cp = ((c & 0x0f) << 12) | ((b[i + 1]! & 0x3f) << 6) | (b[i + 2]! & 0x3f);
      if (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff && !surrogatepass)) badUtf8(i);
      i += 3;
    } else if (c >= 0xf0 && c <= 0xf4 && i + 3 < n && (b[i + 1]! & 0xc0) === 0x80 && (b[i + 2]! & 0xc0) === 0x80 && (b[i + 3]! & 0xc0) === 0x80) {
      cp = ((c & 0x07) << 18) | ((b[i + 1]! & 0x3f) << 12) | ((b[i + 2]! & 0x3f) << 6) | (b[i + 3]! & 0x3f);
      if (cp < 0x10000 || cp > 0x10ffff) badUtf8(i);
      i += 4;
    } else badUtf8(i);
    if (cp >= 0x10000) {
      cp -= 0x10000;
      chunk.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
    } else chunk.push(cp);
    if (chunk.length >= 8192) flush();
  }
  flush();
  return out;
}

function badUtf8(pos: number): never {
  throw new EvidentError('JSON_BAD_UTF8', `'utf-8' codec can't decode byte at position ${pos}`);
}

/** Parse as Python's `json.loads` (see the module comment). Throws EvidentError JSON_SYNTAX / JSON_BAD_UTF8 / JSON_TOO_*. */
export function parsePythonJson(input: Uint8Array | string, opts: PyJsonOptions = {}): JsonValue {
  const maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
  if (input.length > maxBytes) throw new EvidentError('JSON_TOO_LARGE', `input exceeds ${maxBytes} bytes`);
  const text = typeof input === 'string' ? input : pythonDecode(input, opts.source ?? 'bytes');
  if (text.charCodeAt(0) === 0xfeff) syntax('Unexpected UTF-8 BOM (decode using utf-8-sig)', 0);
  return new PyParser(text, opts.maxDepth ?? 1000).parse();
}

/**
 * {@link parsePythonJson} that first tries the fast strict kernel parser (duplicate keys last-wins), whose accepted
 * inputs Python parses to the same value; only inputs it refuses are parsed again here.
 */
export function parsePythonJsonFast(input: Uint8Array, opts: PyJsonOptions = {}): JsonValue {
  try {
    return parseJson(input, { duplicateKeys: 'last-wins', maxDepth: opts.maxDepth, maxBytes: opts.maxBytes });
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'JSON_TOO_LARGE' || code === 'JSON_TOO_DEEP') throw e;
    return parsePythonJson(input, opts);
  }
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);
const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/y;
const ESC: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

class PyParser {
  private i = 0;
  constructor(private readonly s: string, private readonly maxDepth: number) {}

  parse(): JsonValue {
    this.ws();
    const v = this.value(0);
    this.ws();
    if (this.i !== this.s.length) syntax('Extra data', this.i);
    return v;
  }

  private ws(): void {
    while (this.i < this.s.length && WS.has(this.s.charCodeAt(this.i))) this.i++;
  }

  private value(depth: number): JsonValue {
    const s = this.s;
    const c = s[this.i];
    if (c === '"') return this.string();
    if (c === '{' || c === '[') {
      if (depth >= this.maxDepth) throw new EvidentError('JSON_TOO_DEEP', `nesting deeper than ${this.maxDepth}`);
      return c === '{' ? this.object(depth + 1) : this.array(depth + 1);
    }
    if (s.startsWith('null', this.i)) return (this.i += 4), null;
    if (s.startsWith('true', this.i)) return (this.i += 4), true;
    if (s.startsWith('false', this.i)) return (this.i += 5), false;
    if (s.startsWith('NaN', this.i)) return (this.i += 3), NaN;
    if (s.startsWith('Infinity', this.i)) return (this.i += 8), Infinity;
    if (s.startsWith('-Infinity', this.i)) return (this.i += 9), -Infinity;
    NUMBER.lastIndex = this.i;
    const m = NUMBER.exec(s);
    if (m) {
      this.i += m[0].length;
      return new JsonNumber(m[0]);
    }
    return syntax('Expecting value', this.i);
  }

  private object(depth: number): JsonObject {
    const o: JsonObject = {};
    this.i++;
    this.ws();
    if (this.s[this.i] === '}') return this.i++, o;
    for (;;) {
      if (this.s[this.i] !== '"') syntax('Expecting property name enclosed in double quotes', this.i);
      const k = this.string();
      this.ws();
      if (this.s[this.i] !== ':') syntax("Expecting ':' delimiter", this.i);
      this.i++;
      this.ws();
      const v = this.value(depth);
      setOwn(o, k, v);
      this.ws();
      const c = this.s[this.i];
      if (c === '}') return this.i++, o;
      if (c !== ',') syntax("Expecting ',' delimiter", this.i);
      this.i++;
      this.ws();
    }
  }

  private array(depth: number): JsonValue[] {
    const a: JsonValue[] = [];
    this.i++;
    this.ws();
    if (this.s[this.i] === ']') return this.i++, a;
    for (;;) {
      a.push(this.value(depth));
      this.ws();
      const c = this.s[this.i];
      if (c === ']') return this.i++, a;
      if (c !== ',') syntax("Expecting ',' delimiter", this.i);
      this.i++;
      this.ws();
    }
  }

  private hex4(at: number): number {
    const h = this.s.slice(at, at + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) syntax('Invalid \\uXXXX escape', at - 1);
    return parseInt(h, 16);
  }

  private string(): string {
    const s = this.s;
    const start = this.i;
    let i = this.i + 1;
    let out = '';
    let run = i;
    for (;;) {
      if (i >= s.length) syntax('Unterminated string starting at', start);
      const c = s.charCodeAt(i);
      if (c === 0x22) {
        out += s.slice(run, i);
        this.i = i + 1;
        return out;
      }
      if (c < 0x20) syntax('Invalid control character at', i);
      if (c !== 0x5c) {
        i++;
        continue;
      }
      out += s.slice(run, i);
      const e = s[i + 1];
      if (e === undefined) syntax('Unterminated string starting at', start);
      if (e !== 'u') {
        const r = ESC[e];
        if (r === undefined) syntax('Invalid \\escape', i);
        out += r;
        i += 2;
      } else {
        let u = this.hex4(i + 2);
        i += 6;
        if (u >= 0xd800 && u <= 0xdbff && s[i] === '\\' && s[i + 1] === 'u') {
          const u2 = this.hex4(i + 2);
          if (u2 >= 0xdc00 && u2 <= 0xdfff) {
            u = 0x10000 + (((u - 0xd800) << 10) | (u2 - 0xdc00));
            i += 6;
          }
        }
        out += String.fromCodePoint(u);
      }
      run = i;
    }
  }
}
