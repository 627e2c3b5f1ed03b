/**
 * ELI-Sentinel `json_c14n_v1`: Python `json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",",":"),
 * allow_nan=False)` encoded as UTF-8 (spec §B.1). NOT RFC 8785: numbers keep their Python type (a `1.0` token is
 * a float and stays `1.0`; integers are exact at any size), keys sort by code point.
 *
 * Packets must therefore be parsed losslessly ({@link parseEliJson}); canonicalising a `JSON.parse` result would
 * silently change `1.0` to `1` and break signatures.
 */
import { canonicalizePython, parseJson, pythonCanonicalizer, type JsonValue } from '../../kernel/json/index.ts';
import { sha256Digest } from '../../kernel/digest.ts';
import { bufferView } from '../../kernel/encoding.ts';

/** Largest packet we read (bytes). Real packets are ~2 KB. */
export const ELI_MAX_BYTES = 8 * 1024 * 1024;
/** Deepest nesting we accept. */
export const ELI_MAX_DEPTH = 200;

/**
 * Parse packet JSON losslessly. `duplicateKeys: 'last-wins'` is what Python's `json.loads` does (compat);
 * strict mode rejects duplicates. Throws EvidentError (JSON_*).
 */
export function parseEliJson(input: string | Uint8Array, opts: { duplicateKeys?: 'reject' | 'last-wins' } = {}): JsonValue {
  return parseJson(input, { duplicateKeys: opts.duplicateKeys ?? 'last-wins', maxBytes: ELI_MAX_BYTES, maxDepth: ELI_MAX_DEPTH, numbers: 'lossless' });
}

/** `json_c14n_v1` as a string. Throws JSON_NOT_CANONICALIZABLE (NaN/Infinity, lone surrogates). */
export const jsonC14nV1: (value: unknown) => string = pythonCanonicalizer({ ensureAscii: false, sortKeys: true, maxDepth: ELI_MAX_DEPTH + 8 });

/**
 * {@link jsonC14nV1} for values whose strings are known to need no escaping (parsed from text without a backslash:
 * see {@link hasNoEscapes}); skips testing every string. Same output.
 */
export const jsonC14nV1Plain: (value: unknown) => string = pythonCanonicalizer({ ensureAscii: false, sortKeys: true, maxDepth: ELI_MAX_DEPTH + 8, plainStrings: true });

/**
 * True when JSON bytes hold no backslash. Everything {@link parseEliJson} returns for them then has only strings
 * that json_c14n_v1 writes as they are: no escape means no quote or backslash inside a string, the parser refuses
 * raw control characters and the fatal UTF-8 decode refuses lone surrogates.
 */
export function hasNoEscapes(bytes: Uint8Array): boolean {
  return bufferView(bytes).indexOf(0x5c) === -1;
}

/** `json_c14n_v1` UTF-8 bytes. */
export function jsonC14nV1Bytes(value: unknown): Uint8Array {
  return Buffer.from(jsonC14nV1(value), 'utf8');
}

/** `"sha256:" + hex(sha256(json_c14n_v1(value)))` — the ELI object hash. */
export function c14nHash(value: unknown): string {
  return sha256Digest(jsonC14nV1(value));
}

/** Pretty form used for packet files we write: Python `json.dumps(indent=2, ensure_ascii=False)` key order kept. */
export function prettyPacket(value: unknown): string {
  return canonicalizePython(value, { ensureAscii: false, sortKeys: false, indent: 2, maxDepth: ELI_MAX_DEPTH + 8 }) + '\n';
}

/** Compact one-line form (member order kept, numbers as Python prints them). */
export function compactPacket(value: unknown): string {
  return canonicalizePython(value, { ensureAscii: false, sortKeys: false, maxDepth: ELI_MAX_DEPTH + 8 }) + '\n';
}
