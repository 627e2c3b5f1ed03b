/**
 * WCP receipt statements (predicate type https://evident.dev/wcp/v1): subject = a registry record's artifact_hash
 * (recomputed, Python json.dumps); the predicate carries the exact hash preimage. Also the record check shared with
 * the service's WCP registry routes.
 */
import { EvidentError } from '../../kernel/errors.ts';
import { canonicalizePython, isJsonObject, parseJson, type JsonObject } from '../../kernel/json/index.ts';
import { sha256Hex } from '../../kernel/digest.ts';
import { STATEMENT_TYPE, hexOf, type PredicateProblem, type Statement, type StatementProfile, type Subject } from '../../receipts/statement.ts';
import { artifactHashPreimage, computeArtifactHash } from './registry.ts';

export const WCP_PREDICATE = 'https://evident.dev/wcp/v1';

/** WCP refusals that mean "well-formed, but tampered, banned or inconsistent" (HTTP 422; upstream's codes). */
export const WCP_REJECT_CODES = [
  'DENY_WORKER_TAMPERED',
  'ATTEST_BANNED_HASH',
  'ATTEST_MANIFEST_ID_MISMATCH',
  'ATTEST_NAMESPACE_INVALID',
  'ATTEST_HASH_MISMATCH',
  'WCP_TRUST_STATEMENT_MISMATCH',
  'ATTEST_SIG_INVALID',
] as const;

/** A `wcp` receipt request: a registry record parsed losslessly; a present artifact_hash must match (DENY_WORKER_TAMPERED). */
export interface WcpReceiptRequest {
  format: 'wcp';
  record: JsonObject;
}

export interface WcpRecordFacts {
  workerId: string;
  speciesId: string;
  artifactHash: string;
  preimage: string;
}

/**
 * Check a WCP registry record as hall_api POST /enroll does (worker_id, worker_species_id, non-empty
 * capabilities; artifact_hash recomputed over the record minus artifact_hash, Python json.dumps, ensure_ascii).
 * A present artifact_hash that differs → DENY_WORKER_TAMPERED; absent → INPUT_INVALID when `requireHash`, else the
 * recomputed value is used. Parse records losslessly: `1.0` must stay `1.0`.
 */
export function wcpRecordFacts(record: JsonObject, opts: { requireHash: boolean }): WcpRecordFacts {
  if (!isJsonObject(record)) throw new EvidentError('INPUT_INVALID', 'record must be a JSON object');
  for (const f of ['worker_id', 'worker_species_id'] as const) {
    if (typeof record[f] !== 'string' || record[f] === '') throw new EvidentError('INPUT_INVALID', `${f} is required`);
  }
  if (!Array.isArray(record.capabilities) || record.capabilities.length === 0) throw new EvidentError('INPUT_INVALID', 'capabilities must be a non-empty list');
  const computed = computeArtifactHash(record);
  const claimed = record.artifact_hash;
  if (claimed === undefined && opts.requireHash) throw new EvidentError('INPUT_INVALID', 'artifact_hash is required');
  if (claimed !== undefined && claimed !== computed) throw new EvidentError('DENY_WORKER_TAMPERED', 'artifact_hash mismatch — record was tampered');
  return { workerId: record.worker_id as string, speciesId: record.worker_species_id as string, artifactHash: computed, preimage: artifactHashPreimage(record) };
}

/** Statement for a WCP registry record: subject = its artifact_hash; predicate carries the exact hash preimage. */
export function wcpStatement(record: JsonObject): Statement {
  const f = wcpRecordFacts(record, { requireHash: false });
  return {
    _type: STATEMENT_TYPE,
    subject: [{ name: f.workerId, digest: { sha256: hexOf(f.artifactHash) } }],
    predicateType: WCP_PREDICATE,
    predicate: { worker_id: f.workerId, worker_species_id: f.speciesId, artifact_hash: f.artifactHash, record_preimage: f.preimage },
  };
}


function checkWcp(p: Record<string, unknown>, problems: PredicateProblem[]): Subject[] {
  const text = p.record_preimage;
  if (typeof text !== 'string') {
    problems.push({ id: 'predicate.record_preimage', message: 'record_preimage must be a string' });
    return [];
  }
  const rec = parseJson(text, { maxDepth: 64 });
  if (!isJsonObject(rec)) throw new EvidentError('INPUT_INVALID', 'record_preimage is not a JSON object');
  if (canonicalizePython(rec, { ensureAscii: true }) !== text || 'artifact_hash' in rec) problems.push({ id: 'predicate.record_preimage', message: 'record_preimage is not the canonical artifact_hash preimage' });
  const h = 'sha256:' + sha256Hex(text);
  if (p.artifact_hash !== h) problems.push({ id: 'predicate.artifact_hash', message: 'artifact_hash is not the hash of record_preimage', expected: h, actual: String(p.artifact_hash) });
  for (const f of ['worker_id', 'worker_species_id'] as const) {
    if (p[f] !== rec[f]) problems.push({ id: `predicate.${f}`, message: `${f} differs from the record`, expected: String(rec[f]), actual: String(p[f]) });
  }
  return [{ name: String(rec.worker_id), digest: { sha256: hexOf(h) } }];
}

export const wcpStatementProfile: StatementProfile = {
  format: 'wcp',
  predicateType: WCP_PREDICATE,
  check: checkWcp,
  rejectCodes: WCP_REJECT_CODES,
};
