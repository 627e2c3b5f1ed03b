/**
 * WCP registry record `artifact_hash` (hall_api POST /enroll, spec §A.4):
 * `"sha256:" + hex(sha256(json.dumps(record minus top-level "artifact_hash", sort_keys=True,
 * separators=(",",":"))))` with ensure_ascii=True and Python float repr. Parse records with the lossless parser
 * so `1.0` / `1e+16` keep their Python spelling.
 */
import { EvidentError } from '../../kernel/errors.ts';
import { JsonNumber, canonicalizePython, isJsonObject, parseJson, type JsonObject, type JsonValue } from '../../kernel/json/index.ts';
import { parsePythonJsonFast } from '../../kernel/json/pyjson.ts';
import { sha256Hex, timingSafeEqualString } from '../../kernel/digest.ts';
import { Report, type Mode } from '../../verify/report.ts';

export const MAX_RECORD_BYTES = 4 * 1024 * 1024;

/**
 * The hashed text. `compat` writes what Python's json.dumps writes for every value `/enroll` accepts (allow_nan is
 * on by default: `NaN`, `Infinity`, and a lone surrogate as `\udXXX`); strict refuses those
 * (JSON_NOT_CANONICALIZABLE).
 */
export function artifactHashPreimage(record: JsonObject, mode: Mode = 'strict'): string {
  const o: JsonObject = {};
  for (const [k, v] of Object.entries(record)) if (k !== 'artifact_hash') o[k] = v;
  return canonicalizePython(o, mode === 'compat' ? { ensureAscii: true, allowNan: true, loneSurrogates: true } : { ensureAscii: true });
}

export function computeArtifactHash(record: JsonObject, mode: Mode = 'strict'): string {
  return 'sha256:' + sha256Hex(artifactHashPreimage(record, mode));
}

/**
 * Parse a record. Strict: the lossless parser, duplicate keys rejected. Compat: as Flask's `request.get_json`
 * (`json.loads` of the body bytes: BOM skipped, NaN/Infinity, lone surrogate escapes, last duplicate wins).
 */
export function parseRecord(bytes: Uint8Array | string, mode: Mode = 'strict'): JsonObject {
  const v: JsonValue =
    mode === 'compat'
      ? parsePythonJsonFast(typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes, { source: 'bytes', maxBytes: MAX_RECORD_BYTES, maxDepth: 512 })
      : parseJson(bytes, { duplicateKeys: 'reject', maxBytes: MAX_RECORD_BYTES, maxDepth: 64 });
  if (!isJsonObject(v)) throw new EvidentError('INPUT_INVALID', 'a registry record must be a JSON object');
  return v;
}

/** `verify_artifact_hash`: exact string comparison (constant time) including the `sha256:` prefix. */
export function verifyArtifactHash(record: JsonObject, mode: Mode = 'strict'): { ok: boolean; expected: string; actual: unknown } {
  const expected = computeArtifactHash(record, mode);
  const actual = record.artifact_hash;
  return { ok: typeof actual === 'string' && timingSafeEqualString(expected, actual), expected, actual };
}

export function looksLikeRegistryRecord(v: JsonValue | undefined): boolean {
  return isJsonObject(v) && typeof v.worker_id === 'string' && typeof v.worker_species_id === 'string' && 'artifact_hash' in v && 'capabilities' in v;
}

/** Python `str.strip()` (no argument): the characters `str.isspace()` accepts. */
const PY_STRIP = /^[\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

/** Python truthiness of a parsed JSON value (`if not x`). */
function pyTruthy(v: JsonValue | undefined): boolean {
  if (v === undefined || v === null || v === false || v === '') return false;
  if (typeof v === 'number') return v !== 0; // NaN is truthy, as in Python
  if (v instanceof JsonNumber) return Number(v.lexeme) !== 0;
  if (Array.isArray(v)) return v.length > 0;
  if (isJsonObject(v)) return Object.keys(v).length > 0;
  return true;
}

/**
 * Verification report for a registry record (format `wcp.registry-record`). Compat applies `/enroll`'s own field
 * rules: ids `.strip()`-ed must be non-empty, `capabilities` and `artifact_hash` must be truthy (a non-empty
 * string or object passes as capabilities; a non-string artifact_hash is a mismatch, DENY_WORKER_TAMPERED).
 */
export function verifyRecordReport(record: JsonObject, mode: Mode): Report {
  const report = new Report('wcp.registry-record', mode);
  const compat = mode === 'compat';
  for (const f of ['worker_id', 'worker_species_id', 'artifact_hash'] as const) {
    const v = record[f];
    if (compat && f === 'artifact_hash') {
      if (!pyTruthy(v)) return report.fail(`record.${f}`, 'input', 'INPUT_INVALID', `${f} is required`);
      continue;
    }
    // (blank after Python's strip(): refused by /enroll, so by both modes)
    if (typeof v !== 'string' || v.replace(PY_STRIP, '') === '') return report.fail(`record.${f}`, 'input', 'INPUT_INVALID', `${f} is required`);
  }
  const caps = record.capabilities;
  if (compat ? !pyTruthy(caps) : !Array.isArray(caps) || caps.length === 0) return report.fail('record.capabilities', 'input', 'INPUT_INVALID', 'capabilities must be a non-empty list');
  report.pass('record', 'registry record fields present');
  const r = verifyArtifactHash(record, mode);
  if (r.ok) report.pass('artifact_hash', 'artifact_hash matches the record', { expected: r.expected, actual: String(r.actual) });
  else report.fail('artifact_hash', 'integrity', 'DENY_WORKER_TAMPERED', 'artifact_hash mismatch — record was tampered', { expected: r.expected, actual: String(r.actual) });
  return report;
}
