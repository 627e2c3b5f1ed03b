/**
 * The detector contract: what a format detector (src/profiles/<x>/detector.ts, src/log/detector.ts,
 * src/receipts/detector.ts, kernel-detectors.ts) implements and the helpers it may use. This module imports no
 * detector and nothing that imports one: detectors import this module (never detect.ts or detectors.ts), the list is
 * composed in detectors.ts, and detect.ts dispatches over it (test/import-cycles.test.ts checks there is no circle).
 */
import fs from 'node:fs';
import { parseJson, type JsonValue } from '../kernel/json/index.ts';
import { Report, categoryOfCode, type Mode } from './report.ts';
import { EvidentError } from '../kernel/errors.ts';
import { readFileShared } from '../store/files.ts';

export interface VerifyInput {
  /** A file or directory path (CLI); absent for in-memory artifacts (service). */
  path?: string;
  isDirectory: boolean;
  /** Raw bytes of a file artifact. */
  bytes?: Uint8Array;
  /** Parsed JSON (lossless, strict: duplicate keys rejected) when the bytes are JSON; undefined otherwise. */
  json?: JsonValue;
  /** Set when the bytes looked like JSON but failed to parse (duplicate key, syntax…). */
  jsonError?: Error;
}

export interface VerifyOptions {
  mode: Mode;
  /** Public key files / PEM strings given with --key (pinned keys). */
  keys?: string[];
  /** Trust store file path. */
  trust?: string;
  /** Pinned log public key (C2SP vkey or PEM) for tlog proofs. */
  logKey?: string;
  /** Companion artifact (e.g. CPHAR challenge for an attestation). */
  challenge?: string;
  db?: string;
  now?: Date;
  /**
   * Files the artifact claims to cover (`--artifact FILE`, repeatable): the signed blob of a message signature, or
   * files checked against DSSE/in-toto/receipt subject digests. `name` is the file's base name (or the name the
   * caller gave), `bytes` its content.
   */
  artifacts?: Array<{ name: string; bytes: Uint8Array }>;
  [extra: string]: unknown;
}

export interface Detector {
  /** Report format name, e.g. `hashmatch.tournament`, `eli.packet`, `dsse`, `tlog-proof`. */
  format: string;
  detect(input: VerifyInput): boolean;
  verify(input: VerifyInput, opts: VerifyOptions): Promise<Report>;
}

/** Files at least this large are read into a SharedArrayBuffer (see readFileShared). */
export const SHARED_READ_MIN_BYTES = 32 * 1024 * 1024;

export function loadVerifyInput(path: string): VerifyInput {
  const st = fs.statSync(path);
  if (st.isDirectory()) return { path, isDirectory: true };
  // large files go into shared memory, so verifiers can split work across threads without copying
  const bytes = st.size >= SHARED_READ_MIN_BYTES ? readFileShared(path) : fs.readFileSync(path);
  return bytesInput(bytes, path);
}

export function bytesInput(bytes: Uint8Array, path?: string): VerifyInput {
  const input: VerifyInput = { path, isDirectory: false, bytes };
  const first = firstNonWs(bytes);
  if (first === 0x7b || first === 0x5b) {
    try {
      input.json = parseJson(bytes);
    } catch (e) {
      input.jsonError = e as Error;
    }
  }
  return input;
}

function firstNonWs(b: Uint8Array): number {
  for (const c of b) if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return c;
  return -1;
}

/**
 * Run one detector's verifier, failing closed: a verifier that throws (an EvidentError from a kernel guard such as
 * a value that cannot be canonicalised, or a bug) yields a failed report, never an exception. Its category follows
 * the error code (KEY_* → key, SIGNATURE* → signature, else input).
 */
export async function runDetector(d: Detector, input: VerifyInput, opts: VerifyOptions): Promise<Report> {
  try {
    return await d.verify(input, opts);
  } catch (e) {
    const code = e instanceof EvidentError ? e.code : 'VERIFY_INTERNAL_ERROR';
    return new Report(d.format, opts.mode).fail('error', categoryOfCode(code), code, (e as Error)?.message ?? String(e));
  }
}
