/**
 * `evident verify --mode compat` parses an artifact as its upstream does. The strict parse of {@link bytesInput}
 * refuses duplicate keys, NaN/Infinity, lone surrogate escapes and a BOM; the upstreams of these formats accept them:
 *
 * - ELI packets (`eli_verify.py`: Python `json.load`) and WCP registry records (hall_api `/enroll`: Flask
 *   `json.loads` of the body bytes): last duplicate wins, NaN/Infinity, lone surrogates (and a BOM for WCP);
 * - HashMatch receipts (upstream `JSON.parse` of the file text): last duplicate wins, lone surrogates.
 *
 * Detection then runs on a lenient (Python `json.loads` of bytes) parse, and only these formats may claim the
 * artifact; each detector's compat verifier parses the bytes again exactly as its upstream does. Anything else keeps
 * the strict parse error. Strict mode never comes here.
 */
import { parsePythonJson } from '../kernel/json/pyjson.ts';
import type { VerifyInput } from './input.ts';

/** Formats whose compat verifiers re-parse the bytes with their upstream's JSON semantics. */
export const COMPAT_REPARSE_FORMATS: readonly string[] = ['eli.packet', 'eli.cdil', 'wcp.registry-record', 'hashmatch.receipt'];

/** The input with a lenient parse in place of a strict parse error, or undefined when even that fails. */
export function compatReparse(input: VerifyInput): VerifyInput | undefined {
  const b = input.bytes;
  if (input.isDirectory || input.json !== undefined || !b) return undefined;
  // a UTF-8 BOM hides JSON from bytesInput (Flask's json.loads skips it)
  if (!input.jsonError && !(b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf)) return undefined;
  try {
    return { ...input, json: parsePythonJson(b, { source: 'bytes' }), jsonError: undefined };
  } catch {
    return undefined;
  }
}
