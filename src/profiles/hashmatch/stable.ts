/**
 * HashMatch "stable JSON" (spec §A.1): keys sorted by UTF-16 code units, ES number formatting, JSON.stringify
 * string escaping, compact. Equal to RFC 8785 for I-JSON input, plus upstream's guards: undefined members,
 * functions, symbols, bigint, non-finite numbers and non-plain objects throw (with upstream's messages).
 */
import { EvidentError } from '../../kernel/errors.ts';
import { JsonNumber } from '../../kernel/json/index.ts';

const MAX_DEPTH = 1000;

function pathKey(path: string, key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function bad(kind: 'value' | 'object', path: string, what: string): never {
  throw new EvidentError('JSON_NOT_CANONICALIZABLE', `Invalid JSON ${kind} at ${path}: ${what}`);
}

function num(x: number, path: string): string {
  if (!Number.isFinite(x)) bad('value', path, 'non-finite number');
  return JSON.stringify(x);
}

function ser(v: unknown, path: string, depth: number): string {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      return num(v, path);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'undefined':
      return bad('value', path, 'undefined');
    case 'bigint':
      return bad('value', path, 'bigint');
    case 'function':
      return bad('value', path, 'function');
    case 'symbol':
      return bad('value', path, 'symbol');
    case 'object': {
      if (v === null) return 'null';
      if (depth >= MAX_DEPTH) bad('value', path, `nesting deeper than ${MAX_DEPTH}`);
      if (v instanceof JsonNumber) return num(v.toNumber(), path);
      if (Array.isArray(v)) {
        let s = '[';
        for (let i = 0; i < v.length; i++) s += (i ? ',' : '') + ser(v[i], `${path}[${i}]`, depth + 1);
        return s + ']';
      }
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) bad('object', path, 'non-plain object');
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o).sort();
      let s = '{';
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i]!;
        s += (i ? ',' : '') + JSON.stringify(k) + ':' + ser(o[k], pathKey(path, k), depth + 1);
      }
      return s + '}';
    }
    default:
      return bad('value', path, typeof v);
  }
}

/** Upstream `stableStringify`: compact canonical JSON, no trailing newline. */
export function stableStringify(value: unknown): string {
  return ser(value, '$', 0);
}

/** File form: stable JSON plus exactly one `\n`. */
export function stableFile(value: unknown): string {
  return stableStringify(value) + '\n';
}

/** JSONL form: one stable line per event, joined by `\n`, plus a final `\n` (empty list → `"\n"`). */
export function stableJsonl(events: readonly unknown[]): string {
  return events.map((e) => stableStringify(e)).join('\n') + '\n';
}
