/**
 * `evident verify RECEIPT --key ISSUER_PUB --log-key LOG_VKEY`: an Evident receipt bundle.
 *
 * Checks: shape (input) → id = sha256(JCS(envelope)) (integrity) → the DSSE envelope against the pinned issuer key
 * (same checks as `dsse`, prefixed `envelope.`) → the tlog-proof against the pinned log key (prefixed `log.`), whose
 * `extra` must be exactly the receipt's entry and whose index must match `log.index`. Statements of a known
 * profile (HashMatch / ELI / WCP: predicate types https://evident.dev/{hashmatch,eli,wcp}/v1, passed in as
 * StatementProfiles) also get `predicate*` checks: their subjects and hashes must follow from the predicate's own
 * data (integrity).
 */
import type { Detector, VerifyInput, VerifyOptions } from '../verify/input.ts';
import { bytesInput, runDetector } from '../verify/input.ts';
import { Report } from '../verify/report.ts';
import { isJsonObject, parseJson, toPlain, type JsonValue } from '../kernel/json/index.ts';
import { parseDsse, IN_TOTO_PAYLOAD_TYPE } from '../kernel/dsse.ts';
import { checkProfileStatement, type StatementProfile } from './statement.ts';
import { sha256Digest, timingSafeEqualBytes } from '../kernel/digest.ts';
import { dsseDetector } from '../verify/kernel-detectors.ts';
import { detectors as logDetectors } from '../log/detector.ts';
import { parseTlogProof } from '../log/tlogproof.ts';
import { RECEIPT_FORMAT, receiptEntry } from './receipt.ts';
import { RECEIPT_FORMAT_V2, receiptV2Entry, receiptV2TimestampCheck } from './receipt-v2.ts';
import type { DsseEnvelope } from '../kernel/dsse.ts';

function isReceipt(v: JsonValue | undefined): boolean {
  return isJsonObject(v) && (v.format === RECEIPT_FORMAT || v.format === RECEIPT_FORMAT_V2);
}

async function verifyReceipt(input: VerifyInput, opts: VerifyOptions, profiles: readonly StatementProfile[]): Promise<Report> {
  const report = new Report('evident.receipt', opts.mode);
  const r = toPlain(input.json as JsonValue) as { id?: unknown; envelope?: unknown; log?: { index?: unknown; origin?: unknown }; tlog_proof?: unknown };
  if (typeof r.id !== 'string' || !isJsonObject(r.envelope as JsonValue) || typeof r.tlog_proof !== 'string' || !r.log || !Number.isSafeInteger(r.log.index)) {
    return report.fail('shape', 'input', 'RECEIPT_INVALID', 'receipt needs "id", "envelope", "log.index" and "tlog_proof"');
  }
  let entry: Uint8Array;
  // v2 (./receipt-v2.ts): the entry is the Rekor v2 dsse body the tlog-proof carries, checked against the envelope
  const v2 = (r as { format?: unknown }).format === RECEIPT_FORMAT_V2;
  let bodyProblems: string[] = [];
  try {
    if (v2) ({ entry, problems: bodyProblems } = receiptV2Entry(r.tlog_proof, r.envelope));
    else entry = receiptEntry(r.envelope as DsseEnvelope);
  } catch (e) {
    return report.fail('shape', 'input', (e as { code?: string }).code ?? 'RECEIPT_INVALID', v2 ? `no usable Rekor v2 log entry: ${(e as Error).message}` : `envelope cannot be canonicalised: ${(e as Error).message}`);
  }
  report.pass('shape', v2 ? `${RECEIPT_FORMAT_V2} bundle` : 'evident.receipt/v1 bundle');
  report.compare('id', 'integrity', 'ID_MISMATCH', v2 ? 'receipt id (sha256 of the log entry)' : 'receipt id (sha256 of the canonical envelope)', sha256Digest(entry), r.id);
  if (v2) {
    if (bodyProblems.length) for (const m of bodyProblems) report.fail('log.body', 'integrity', 'ENTRY_MISMATCH', m);
    else report.pass('log.body', 'the Rekor v2 dsse entry matches the envelope (payload hash, signature, verifier key)');
    // the TSA's trust is the Sigstore bundle's business (trusted root); here: it covers this signature
    const ts = receiptV2TimestampCheck(r as { rfc3161_timestamp?: unknown; envelope?: unknown });
    if (ts?.problems.length) for (const m of ts.problems) report.fail('timestamp', 'integrity', 'TIMESTAMP_MISMATCH', m);
    else if (ts) report.pass('timestamp', `RFC 3161 timestamp over the signature, ${ts.time?.toISOString()} (TSA trust: see the Sigstore bundle)`);
  }

  const env = await runDetector(dsseDetector, bytesInput(new TextEncoder().encode(JSON.stringify(r.envelope))), { ...opts, logKey: undefined });
  report.merge(env, 'envelope.');
  predicateChecks(report, r.envelope, profiles);

  let proofOk = true;
  try {
    const p = parseTlogProof(r.tlog_proof);
    if (!p.extra || !timingSafeEqualBytes(p.extra, entry)) {
      proofOk = false;
      report.fail('log.entry', 'integrity', 'ENTRY_MISMATCH', 'the tlog-proof does not carry this receipt\'s entry');
    } else report.pass('log.entry', 'the tlog-proof carries this receipt\'s entry');
    if (p.index !== r.log.index) {
      proofOk = false;
      report.fail('log.index', 'integrity', 'INDEX_MISMATCH', 'log.index differs from the tlog-proof index', { expected: String(p.index), actual: String(r.log.index) });
    }
  } catch (e) {
    proofOk = false;
    report.fail('log.proof', 'input', (e as { code?: string }).code ?? 'INPUT_INVALID', (e as Error).message);
  }
  if (proofOk) {
    const tlog = logDetectors.find((d) => d.format === 'tlog-proof')!;
    report.merge(await tlog.verify(bytesInput(new TextEncoder().encode(r.tlog_proof)), { ...opts, keys: [] }), 'log.');
  }
  return report;
}

/**
 * Profile statements (./statement.ts; the profiles are passed in): the subjects and hashes must follow from the predicate itself.
 * Cheap (no artifact, no I/O); other payloads are not judged here.
 */
function predicateChecks(report: Report, envelope: unknown, profiles: readonly StatementProfile[]): void {
  let statement: unknown;
  try {
    const p = parseDsse(envelope);
    if (p.payloadType !== IN_TOTO_PAYLOAD_TYPE) return;
    statement = toPlain(parseJson(p.payload, { maxDepth: 64 }));
  } catch {
    return; // the envelope checks already report an unreadable envelope or payload
  }
  const problems = checkProfileStatement(statement, profiles);
  if (problems === undefined) return;
  const type = (statement as { predicateType: string }).predicateType;
  if (problems.length === 0) report.pass('predicate', `${type}: subjects and hashes follow from the predicate`);
  for (const pr of problems) report.fail(pr.id, 'integrity', 'PREDICATE_MISMATCH', pr.message, { expected: pr.expected, actual: pr.actual });
}

/**
 * The receipt verifier, with the statement profiles whose predicates it re-checks (src/profiles/statements.ts,
 * composed in src/verify/detectors.ts; this module knows no profile).
 */
export function receiptDetectors(profiles: readonly StatementProfile[]): Detector[] {
  return [{ format: 'evident.receipt', detect: (input) => isReceipt(input.json), verify: (input, opts) => verifyReceipt(input, opts, profiles) }];
}
