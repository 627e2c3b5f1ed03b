/**
 * Lossless, bounded JSON parser (RFC 8259).
 *
 * - Numbers become {@link JsonNumber} keeping their lexeme (or plain numbers with `numbers: 'native'`).
 * - Duplicate object keys are rejected (`JSON_DUPLICATE_KEY`) unless `duplicateKeys: 'last-wins'` (Python).
 * - Lone surrogates in `\u` escapes are rejected (`JSON_LONE_SURROGATE`); byte input must be valid UTF-8
 *   without BOM (`JSON_BAD_UTF8`).
 * - Nesting deeper than `maxDepth` (default 1000) → `JSON_TOO_DEEP`; input longer than `maxBytes`
 *   (default 64 MiB) → `JSON_TOO_LARGE`. The parser is iterative: no recursion, no stack overflow.
 */
import { EvidentError } from '../errors.ts';
import { JsonNumber, setOwn, type JsonObject, type JsonValue } from './number.ts';

export interface ParseOptions {
  duplicateKeys?: 'reject' | 'last-wins';
  maxDepth?: number;
  maxBytes?: number;
  /** `lossless` (default): JsonNumber; `native`: JS numbers exactly as JSON.parse. */
  numbers?: 'lossless' | 'native';
}

export const DEFAULT_MAX_DEPTH = 1000;
export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function decodeUtf8Strict(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch (e) {
    throw new EvidentError('JSON_BAD_UTF8', 'input is not valid UTF-8', { cause: e });
  }
}

interface Frame {
  container: JsonValue[] | JsonObject;
  isArray: boolean;
  key: string | undefined;
  keys: Set<string> | undefined;
}

export function parseJson(input: string | Uint8Array, opts: ParseOptions = {}): JsonValue {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH;
  const rejectDup = (opts.duplicateKeys ?? 'reject') === 'reject';
  const lossless = (opts.numbers ?? 'lossless') === 'lossless';
  let text: string;
  if (typeof input === 'string') {
    if (input.length > maxBytes) throw new EvidentError('JSON_TOO_LARGE', `input exceeds ${maxBytes} bytes`);
    text = input;
  } else {
    if (input.length > maxBytes) throw new EvidentError('JSON_TOO_LARGE', `input exceeds ${maxBytes} bytes`);
    text = decodeUtf8Strict(input);
  }
  if (text.charCodeAt(0) === 0xfeff) throw new EvidentError('JSON_SYNTAX', 'unexpected byte order mark at position 0');

  const n = text.length;
  let i = 0;
  const stack: Frame[] = [];
  let result: JsonValue | undefined;
  let haveResult = false;

  const fail = (msg: string, at = i): never => {
    throw new EvidentError('JSON_SYNTAX', `${msg} at position ${at}`);
  };
  const ws = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
  };

  const parseString = (): string => {
    // text[i] === '"'
    i++;
    // fast path: a run of plain characters (no quote, backslash, control character or surrogate) up to a quote
    const begin = i;
    PLAIN_RUN.lastIndex = begin;
    PLAIN_RUN.test(text);
    const end = PLAIN_RUN.lastIndex;
    if (text.charCodeAt(end) === 0x22) {
      i = end + 1;
      return text.slice(begin, end);
    }
    let out = '';
    let start = begin;
    i = end;
    while (true) {
      if (i >= n) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        out += text.slice(start, i);
        i++;
        return out;
      }
      if (c === 0x5c) {
        out += text.slice(start, i);
        i++;
        if (i >= n) fail('unterminated escape');
        const e = text.charCodeAt(i);
        switch (e) {
          case 0x22: out += '"'; i++; break;
          case 0x5c: out += '\\'; i++; break;
          case 0x2f: out += '/'; i++; break;
          case 0x62: out += '\b'; i++; break;
          case 0x66: out += '\f'; i++; break;
          case 0x6e: out += '\n'; i++; break;
          case 0x72: out += '\r'; i++; break;
          case 0x74: out += '\t'; i++; break;
          case 0x75: {
            const cu = hex4(i + 1);
            i += 5;
            if (cu >= 0xd800 && cu <= 0xdbff) {
              if (text.charCodeAt(i) === 0x5c && text.charCodeAt(i + 1) === 0x75) {
                const lo = hex4(i + 2);
                if (lo >= 0xdc00 && lo <= 0xdfff) {
                  out += String.fromCharCode(cu, lo);
                  i += 6;
                  break;
                }
              }
              throw new EvidentError('JSON_LONE_SURROGATE', `lone high surrogate \\u${cu.toString(16)} at position ${i - 6}`);
            }
            if (cu >= 0xdc00 && cu <= 0xdfff) {
              throw new EvidentError('JSON_LONE_SURROGATE', `lone low surrogate \\u${cu.toString(16)} at position ${i - 6}`);
            }
            out += String.fromCharCode(cu);
            break;
          }
          default:
            fail('invalid escape');
        }
        start = i;
        continue;
      }
      if (c < 0x20) fail('control character in string');
      if (c >= 0xd800 && c <= 0xdfff) {
        // raw surrogate code unit in a JS string input: must form a pair
        if (c <= 0xdbff) {
          const lo = text.charCodeAt(i + 1);
          if (lo >= 0xdc00 && lo <= 0xdfff) {
            i += 2;
            continue;
          }
        }
        throw new EvidentError('JSON_LONE_SURROGATE', `lone surrogate at position ${i}`);
      }
      i++;
    }
  };

  const hex4 = (at: number): number => {
    if (at + 4 > n) fail('truncated \\u escape', at);
    let v = 0;
    for (let k = 0; k < 4; k++) {
      const c = text.charCodeAt(at + k);
      let d: number;
      if (c >= 0x30 && c <= 0x39) d = c - 0x30;
      else if (c >= 0x61 && c <= 0x66) d = c - 0x57;
      else if (c >= 0x41 && c <= 0x46) d = c - 0x37;
      else return fail('invalid \\u escape', at);
      v = (v << 4) | d;
    }
    return v;
  };

  const parseNumber = (): JsonValue => {
    const start = i;
    if (text.charCodeAt(i) === 0x2d) i++;
    const d0 = text.charCodeAt(i);
    if (d0 === 0x30) {
      i++;
    } else if (d0 >= 0x31 && d0 <= 0x39) {
      while (i < n && isDigit(text.charCodeAt(i))) i++;
    } else fail('invalid number');
    if (text.charCodeAt(i) === 0x2e) {
      i++;
      if (!isDigit(text.charCodeAt(i))) fail('invalid number fraction');
      while (i < n && isDigit(text.charCodeAt(i))) i++;
    }
    const e = text.charCodeAt(i);
    if (e === 0x65 || e === 0x45) {
      i++;
      const s = text.charCodeAt(i);
      if (s === 0x2b || s === 0x2d) i++;
      if (!isDigit(text.charCodeAt(i))) fail('invalid number exponent');
      while (i < n && isDigit(text.charCodeAt(i))) i++;
    }
    const lex = text.slice(start, i);
    return lossless ? new JsonNumber(lex) : Number(lex);
  };

  const literal = (word: string, value: JsonValue): JsonValue => {
    if (text.startsWith(word, i)) {
      i += word.length;
      return value;
    }
    return fail('unexpected token');
  };

  /** Attach a completed value to the current container (or make it the result). */
  const emit = (v: JsonValue) => {
    const top = stack[stack.length - 1];
    if (!top) {
      result = v;
      haveResult = true;
      return;
    }
    if (top.isArray) (top.container as JsonValue[]).push(v);
    else setOwn(top.container as JsonObject, top.key!, v);
  };

  // State machine. After a value: expect ',' or closer within containers.
  ws();
  if (i >= n) fail('empty input');
  while (true) {
    ws();
    if (i >= n) fail('unexpected end of input');
    const c = text.charCodeAt(i);
    let value: JsonValue | undefined;
    let opened = false;
    if (c === 0x7b || c === 0x5b) {
      if (stack.length >= maxDepth) throw new EvidentError('JSON_TOO_DEEP', `nesting deeper than ${maxDepth} at position ${i}`);
      const isArray = c === 0x5b;
      const container: JsonValue[] | JsonObject = isArray ? [] : {};
      emit(container);
      stack.push({ container, isArray, key: undefined, keys: isArray || !rejectDup ? undefined : new Set() });
      i++;
      ws();
      const close = text.charCodeAt(i);
      if ((isArray && close === 0x5d) || (!isArray && close === 0x7d)) {
        i++;
        stack.pop();
      } else {
        opened = true;
      }
    } else if (c === 0x22) value = parseString();
    else if (c === 0x2d || isDigit(c)) value = parseNumber();
    else if (c === 0x74) value = literal('true', true);
    else if (c === 0x66) value = literal('false', false);
    else if (c === 0x6e) value = literal('null', null);
    else fail('unexpected character');

    if (value !== undefined) emit(value);

    // If we just opened an object, read its first key.
    if (opened) {
      const top = stack[stack.length - 1]!;
      if (!top.isArray) readKey(top);
      continue;
    }
    // After a complete value: close containers / separators.
    while (true) {
      const top = stack[stack.length - 1];
      if (!top) break;
      ws();
      const d = text.charCodeAt(i);
      if (d === 0x2c) {
        i++;
        if (!top.isArray) readKey(top);
        break;
      }
      if ((top.isArray && d === 0x5d) || (!top.isArray && d === 0x7d)) {
        i++;
        stack.pop();
        continue;
      }
      fail(top.isArray ? "expected ',' or ']'" : "expected ',' or '}'");
    }
    if (stack.length === 0 && haveResult) break;
  }
  ws();
  if (i < n) fail('unexpected data after JSON value');
  return result as JsonValue;

  function readKey(top: Frame): void {
    ws();
    if (text.charCodeAt(i) !== 0x22) fail('expected string key');
    const keyAt = i;
    const key = parseString();
    if (top.keys) {
      if (top.keys.has(key)) throw new EvidentError('JSON_DUPLICATE_KEY', `duplicate key ${JSON.stringify(key)} at position ${keyAt}`);
      top.keys.add(key);
    }
    ws();
    if (text.charCodeAt(i) !== 0x3a) fail("expected ':'");
    i++;
    top.key = key;
  }
}

const PLAIN_RUN = /[^"\\\x00-\x1f\ud800-\udfff]*/y;

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
