/**
 * Partial verification of one event (spec §5.3): an RFC 6962 inclusion proof of one match.jsonl line under the
 * match's `eventRoot`, which bundle_receipt.json signs.
 */
import path from 'node:path';
import { EvidentError } from '../../kernel/errors.ts';
import { isDigest } from '../../kernel/digest.ts';
import { Report } from '../../verify/report.ts';
import { readBytes, readJson, obj, MAX_LOG_BYTES } from './files.ts';
import { jsonlLines } from './hashes.ts';
import { leafHash, rootFromLeafHashes, auditPath, verifyInclusion } from './merkle.ts';
import { checkReceiptShape } from './receipt.ts';
import { loadTrusted, checkReceiptSignature } from './keys.ts';
import { BUNDLE_RECEIPT_TYPE } from './bundle.ts';

export interface EventProof {
  type: 'evident.hashmatch.event-proof/v1';
  index: number;
  size: number;
  line: string;
  auditPath: string[];
  eventRoot: string;
}

const hx = (b: Uint8Array) => Buffer.from(b).toString('hex');

export function makeEventProof(matchDir: string, index: number): EventProof {
  const l = readBytes(path.join(matchDir, 'match.jsonl'), MAX_LOG_BYTES);
  if (l.kind !== 'ok') throw new EvidentError('INPUT_INVALID', `match.jsonl ${l.kind === 'missing' ? 'missing' : l.message}`);
  const lines = jsonlLines(l.bytes);
  if (!Number.isInteger(index) || index < 0 || index >= lines.length) throw new EvidentError('INPUT_INVALID', `line index must be in 0..${lines.length - 1}`);
  const leaves = lines.map(leafHash);
  return {
    type: 'evident.hashmatch.event-proof/v1',
    index,
    size: lines.length,
    line: Buffer.from(lines[index]!).toString('utf8'),
    auditPath: auditPath(leaves, index).map(hx),
    eventRoot: 'sha256:' + hx(rootFromLeafHashes(leaves)),
  };
}

const HEX32 = /^[0-9a-f]{64}$/;

/** Verify a proof; with `bundle` (a bundle_receipt.json path) also require its eventRoot to be signed by a trusted key. */
export function verifyEventProof(proofValue: unknown, opts: { bundle?: string; keys?: string[]; trust?: string; now?: Date }): Report {
  const report = new Report('hashmatch.event-proof', 'strict');
  const p = obj(proofValue) as Partial<EventProof> | undefined;
  if (
    !p || p.type !== 'evident.hashmatch.event-proof/v1' || typeof p.line !== 'string' || !Number.isInteger(p.index) || !Number.isInteger(p.size) ||
    !Array.isArray(p.auditPath) || p.auditPath.length > 64 || !p.auditPath.every((h) => typeof h === 'string' && HEX32.test(h)) ||
    !isDigest(p.eventRoot)
  ) return report.fail('proof', 'input', 'INPUT_INVALID', 'not an evident.hashmatch.event-proof/v1 object');
  const ok = verifyInclusion(leafHash(new Uint8Array(Buffer.from(p.line, 'utf8'))), p.index!, p.size!, p.auditPath.map((h) => new Uint8Array(Buffer.from(h, 'hex'))), new Uint8Array(Buffer.from(p.eventRoot.slice(7), 'hex')));
  if (!ok) return report.fail('inclusion', 'integrity', 'PROOF_INVALID', 'the event line is not included under eventRoot at that index');
  report.pass('inclusion', `event ${p.index} of ${p.size} is included under ${p.eventRoot}`);
  if (!opts.bundle) {
    report.warn('bundle', 'ROOT_NOT_ANCHORED', 'no --bundle given: eventRoot is not checked against a signed bundle receipt');
    return report;
  }
  const br = readJson(opts.bundle, true);
  if (br.kind !== 'ok') return report.fail('bundle', 'input', br.kind === 'missing' ? 'INPUT_UNREADABLE' : br.code, `cannot read ${opts.bundle}`);
  const sh = checkReceiptShape(br.value);
  if (!sh.ok || sh.receipt.payload.type !== BUNDLE_RECEIPT_TYPE) return report.fail('bundle', 'input', 'RECEIPT_INVALID', 'not a bundle_receipt.json');
  const tk = loadTrusted(report, opts);
  if (tk.ok) checkReceiptSignature(report, 'bundle.signature', sh.receipt, tk);
  const ms = Array.isArray(sh.receipt.payload.matches) ? (sh.receipt.payload.matches as unknown[]) : [];
  if (ms.some((m) => obj(m)?.eventRoot === p.eventRoot)) report.pass('bundle.eventRoot', 'eventRoot is bound by the bundle receipt');
  else report.fail('bundle.eventRoot', 'integrity', 'PROOF_ROOT_UNSIGNED', 'eventRoot is not one of the bundle receipt\'s matches');
  return report;
}
