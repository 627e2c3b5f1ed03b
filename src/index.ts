/**
 * `evident`: the library's root entry point. Verify any artifact Evident knows into the one report model, and the
 * signing/issuing helpers. Importing it opens no database, no port and no file; subpaths (`evident/kernel`,
 * `evident/log`, `evident/receipts`, `evident/verify`, `evident/profiles/<system>`) expose each area in full.
 *
 *   import { verifyBytes } from 'evident';
 *   const report = await verifyBytes(receiptBytes, { keys: [issuerPem], logKey: vkey });
 *   report.valid; report.exitCode; report.toJSON();
 */
import { bytesInput, verifyAny, type VerifyOptions } from './verify/detect.ts';
import type { Report } from './verify/report.ts';

export { verifyAny, bytesInput, loadVerifyInput, detect, listFormats, type VerifyInput, type VerifyOptions, type Detector } from './verify/detect.ts';
export { Report, ExitCode, CATEGORY_EXIT, CATEGORY_ORDER, type Check, type Mode, type ReportJson, type FailureCategory } from './verify/report.ts';
export { renderHuman } from './verify/render.ts';
export { EvidentError } from './kernel/errors.ts';
export { generateKeyPair, importPublicKey, importPrivateKey, publicKeyPem, privateKeyPem, publicKeyJwk, keyId, type SigAlg } from './kernel/keys.ts';
export { sign, verify as verifySignature } from './kernel/sign.ts';
export { signDsse, verifyDsse, pae, type DsseEnvelope } from './kernel/dsse.ts';
export { signNote, noteSigner } from './kernel/note.ts';
export { canonicalizeJcs, canonicalizePython, parseJson } from './kernel/json/index.ts';
export { sha256Digest } from './kernel/digest.ts';
export { issueReceipt, RECEIPT_FORMAT, type Receipt, type ReceiptRequest, type IssuerKey } from './receipts/receipt.ts';
export { VERSION } from './version.ts';

/**
 * Verify an artifact given as bytes (format auto-detected, or forced with `format`). Strict mode unless
 * `opts.mode` is `compat`. `opts.keys` takes PEM/JWK strings or file paths; `opts.logKey` a C2SP vkey.
 */
export function verifyBytes(bytes: Uint8Array | string, opts: Partial<VerifyOptions> = {}, format?: string): Promise<Report> {
  const b = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  return verifyAny(bytesInput(b), { ...opts, mode: opts.mode ?? 'strict' }, format);
}
