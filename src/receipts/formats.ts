/**
 * Format-specific Evident receipts: the in-toto Statement v1 that the service signs for a HashMatch match or
 * tournament, an ELI-Sentinel transaction, or a WCP registry record. Every subject digest is computed here with the
 * profile libraries (src/profiles/*), never taken from the caller; a caller's own claims (a summary's hashes, a
 * tournament manifest's truthBundleHash, a packet's halo_chain, a record's artifact_hash) are checked against
 * the recomputed values and refused on mismatch.
 *
 * Each predicate is self-contained: its subjects are a pure function of the predicate, and the predicate carries
 * what is needed to re-derive its hashes offline (`checkFormatStatement`, used by the receipt verifier). Where a
 * hash depends on number spelling (ELI json_c14n_v1, WCP Python json.dumps), the predicate carries the canonical
 * text as a string, since the statement itself is RFC 8785 canonical JSON (which would re-spell `1.0` as `1`).
 */
import { EvidentError } from '../kernel/errors.ts';
import { canonicalizeJcs, canonicalizePython, isJsonObject, parseJson, toPlain, type JsonObject, type JsonValue } from '../kernel/json/index.ts';
import { isDigest, sha256Hex } from '../kernel/digest.ts';
import { logHash, manifestCoreHash, truthBundleHashLogs, eventMerkleRoot, jsonlLines, parseEventLine, sha256Prefixed } from '../profiles/hashmatch/hashes.ts';
import { merkleRoot } from '../profiles/hashmatch/merkle.ts';
import { stableStringify } from '../profiles/hashmatch/stable.ts';
import type { MatchPayload, TournamentPayload } from '../profiles/hashmatch/receipt.ts';
import { buildUnsignedPacket } from '../profiles/eli/issue.ts';
import { HALO_BLOCKS, checkHaloChain, type HaloChain } from '../profiles/eli/halo.ts';
import { jsonC14nV1, parseEliJson } from '../profiles/eli/c14n.ts';
import { artifactHashPreimage, computeArtifactHash } from '../profiles/wcp/registry.ts';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const HASHMATCH_PREDICATE = 'https://evident.dev/hashmatch/v1';
export const ELI_PREDICATE = 'https://evident.dev/eli/v1';
export const WCP_PREDICATE = 'https://evident.dev/wcp/v1';

/** Matches per tournament receipt (the statement must also fit the 40 KiB payload limit). */
export const MAX_TOURNAMENT_MATCHES = 1000;

/**
 * Library refusals meaning "well-formed, but the artifact contradicts itself or is refused by policy" (HTTP 422),
 * as opposed to INPUT_* / JSON_* (malformed request, HTTP 400).
 */
export const REJECT_CODES: ReadonlySet<string> = new Set([
  'DENY_WORKER_TAMPERED',
  'ATTEST_BANNED_HASH',
  'ATTEST_MANIFEST_ID_MISMATCH',
  'ATTEST_NAMESPACE_INVALID',
  'ATTEST_HASH_MISMATCH',
  'WCP_TRUST_STATEMENT_MISMATCH',
  'ATTEST_SIG_INVALID',
  'HALO_MISMATCH',
  'LOG_INVALID',
  'LOG_MANIFEST_MISMATCH',
  'SUMMARY_MISMATCH',
  'TRUTH_BUNDLE_MISMATCH',
  'MATCH_MISSING',
  'MATCH_UNLISTED',
]);

export interface Subject {
  name: string;
  digest: { sha256: string };
}

export interface Statement {
  _type: typeof STATEMENT_TYPE;
  subject: Subject[];
  predicateType: string;
  predicate: Record<string, unknown>;
}

const J = (v: unknown) => JSON.stringify(v) ?? 'undefined';
const obj = (v: unknown): Record<string, unknown> | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
/** `sha256:<hex>` → `<hex>` (the in-toto digest value). */
const hexOf = (d: string): string => (isDigest(d) ? d.slice(7) : '');

// ============================================================================ HashMatch

export interface HashMatchMatchInput {
  /** matchKey (tournament folder name `matches/<key>/`); stand-alone matches default to the manifest's. */
  key?: string;
  /** Parsed `match_manifest.json` (JSON.parse number semantics, as upstream). */
  manifest: Record<string, unknown>;
  /** Raw `match.jsonl` bytes (logHash is over these exact bytes). */
  log: Uint8Array;
  /** Parsed `match_summary.json`, optional: when given, its hashes and matchId must equal the recomputed ones. */
  summary?: Record<string, unknown>;
}

export interface HashMatchTournamentInput {
  /** Parsed `tournament_manifest.json`. */
  manifest: Record<string, unknown>;
  /** Parsed `standings.json`, optional (hashed into the predicate as standingsHash). */
  standings?: unknown;
  matches: HashMatchMatchInput[];
}

interface MatchFacts {
  matchKey: string;
  matchId: string;
  logHash: string;
  manifestHash: string;
  eventRoot: string;
  eventCount: number;
  runnerVersion: string;
}

const MATCH_KEY_RE = /^[^/\\\u0000-\u001f]{1,256}$/;

/** Recompute a match's hashes and check the log and the optional summary against the manifest. */
function matchFacts(m: HashMatchMatchInput, label: string): MatchFacts {
  const manifest = obj(m?.manifest);
  if (!manifest) throw new EvidentError('INPUT_INVALID', `${label}: manifest must be a JSON object`);
  if (typeof manifest.matchId !== 'string' || manifest.matchId === '') throw new EvidentError('INPUT_INVALID', `${label}: manifest.matchId must be a non-empty string`);
  if (!(m.log instanceof Uint8Array) || m.log.length === 0) throw new EvidentError('INPUT_INVALID', `${label}: match.jsonl is empty`);
  const sdi = obj(obj(manifest.config)?.seedDerivationInputs);
  const matchKey = m.key ?? (typeof sdi?.matchKey === 'string' ? sdi.matchKey : manifest.matchId);
  if (!MATCH_KEY_RE.test(matchKey) || matchKey === '.' || matchKey === '..') throw new EvidentError('INPUT_INVALID', `${label}: matchKey ${J(matchKey)} is not a valid folder name`);

  // events: JSON objects, seq 0,1,2,…, one matchId equal to the manifest's (the checks of the strict verifier)
  const lines = jsonlLines(m.log);
  let events = 0;
  let startedId: unknown;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.length === 0 && i === lines.length - 1) continue;
    const ev = parseEventLine(line);
    if (!ev) throw new EvidentError('LOG_INVALID', `${label}: match.jsonl line ${i + 1} is not a JSON object`);
    if (ev.seq !== i) throw new EvidentError('LOG_INVALID', `${label}: match.jsonl line ${i + 1} has seq ${J(ev.seq)} (expected ${i})`);
    if (ev.type === 'MatchStarted' && startedId === undefined) startedId = ev.matchId;
    if (startedId !== undefined && ev.matchId !== startedId) throw new EvidentError('LOG_INVALID', `${label}: match.jsonl line ${i + 1} has matchId ${J(ev.matchId)} (expected ${J(startedId)})`);
    events++;
  }
  if (startedId !== undefined && startedId !== manifest.matchId) {
    throw new EvidentError('LOG_MANIFEST_MISMATCH', `${label}: MatchStarted matchId ${J(startedId)} differs from the manifest's ${J(manifest.matchId)}`);
  }

  const rv = obj(manifest.runner)?.version;
  const facts: MatchFacts = {
    matchKey,
    matchId: manifest.matchId,
    logHash: logHash(m.log),
    manifestHash: manifestCoreHash(manifest),
    eventRoot: eventMerkleRoot(m.log),
    eventCount: events,
    runnerVersion: typeof rv === 'string' && rv ? rv : 'unversioned',
  };
  if (m.summary !== undefined) {
    const s = obj(m.summary);
    if (!s) throw new EvidentError('INPUT_INVALID', `${label}: summary must be a JSON object`);
    const h = obj(s.hashes) ?? {};
    for (const [k, v] of [['logHash', facts.logHash], ['manifestHash', facts.manifestHash]] as const) {
      if (h[k] !== v) throw new EvidentError('SUMMARY_MISMATCH', `${label}: summary hashes.${k} ${J(h[k])} differs from the recomputed ${v}`);
    }
    if (s.matchId !== undefined && s.matchId !== facts.matchId) throw new EvidentError('SUMMARY_MISMATCH', `${label}: summary matchId ${J(s.matchId)} differs from the manifest's ${J(facts.matchId)}`);
  }
  return facts;
}

function matchSubjects(f: { logHash: string; manifestHash: string }, prefix: string): Subject[] {
  return [
    { name: `${prefix}match.jsonl`, digest: { sha256: hexOf(f.logHash) } },
    { name: `${prefix}match_manifest.json#ManifestCore`, digest: { sha256: hexOf(f.manifestHash) } },
  ];
}

/** Statement for one stand-alone match: subjects logHash and manifestHash; predicate = the upstream match payload + event root. */
export function hashMatchMatchStatement(m: HashMatchMatchInput, issuedBy: string): Statement {
  const f = matchFacts(m, 'match');
  const payload: MatchPayload = { matchId: f.matchId, logHash: f.logHash, manifestHash: f.manifestHash, runnerVersion: f.runnerVersion, issuedBy };
  const predicate: Record<string, unknown> = { kind: 'match', payload, matchKey: f.matchKey, eventRoot: f.eventRoot, eventCount: f.eventCount };
  return { _type: STATEMENT_TYPE, subject: hashMatchSubjects(predicate), predicateType: HASHMATCH_PREDICATE, predicate };
}

/**
 * Statement for a tournament: subjects truthBundleHash (sorted logHashes concatenated, as upstream), the tournament
 * manifest (ManifestCore) and every match's log and manifest; predicate = the upstream tournament payload, the
 * per-match facts, an RFC 6962 root over the logs, and the standings hash when given.
 */
export function hashMatchTournamentStatement(t: HashMatchTournamentInput, issuedBy: string): Statement {
  const manifest = obj(t?.manifest);
  if (!manifest) throw new EvidentError('INPUT_INVALID', 'tournament.manifest must be a JSON object');
  if (manifest.tournamentSeed === undefined || manifest.tournamentSeed === null) throw new EvidentError('INPUT_INVALID', 'tournament.manifest.tournamentSeed is required');
  if (!Array.isArray(manifest.matches)) throw new EvidentError('INPUT_INVALID', 'tournament.manifest.matches must be an array');
  if (!Array.isArray(t.matches) || t.matches.length === 0) throw new EvidentError('INPUT_INVALID', 'tournament.matches must be a non-empty array');
  if (t.matches.length > MAX_TOURNAMENT_MATCHES) throw new EvidentError('INPUT_INVALID', `more than ${MAX_TOURNAMENT_MATCHES} matches`);
  const facts: Array<MatchFacts & { log: Uint8Array }> = [];
  const seen = new Set<string>();
  for (const [i, m] of t.matches.entries()) {
    if (typeof m?.key !== 'string') throw new EvidentError('INPUT_INVALID', `tournament.matches[${i}].key (the matchKey) is required`);
    if (seen.has(m.key)) throw new EvidentError('INPUT_INVALID', `tournament.matches: duplicate key ${J(m.key)}`);
    seen.add(m.key);
    facts.push({ ...matchFacts(m, `matches[${J(m.key)}]`), log: m.log });
  }
  // folder order of upstream (default sort = UTF-16 code units)
  facts.sort((a, b) => (a.matchKey < b.matchKey ? -1 : a.matchKey > b.matchKey ? 1 : 0));
  const listed = new Set<string>();
  for (const e of manifest.matches as unknown[]) {
    const k = obj(e)?.matchKey;
    if (typeof k === 'string') listed.add(k);
  }
  for (const f of facts) if (!listed.has(f.matchKey)) throw new EvidentError('MATCH_UNLISTED', `match ${J(f.matchKey)} is not listed in the tournament manifest`);
  for (const k of listed) if (!seen.has(k)) throw new EvidentError('MATCH_MISSING', `listed match ${J(k)} was not given`);

  const truthBundleHash = truthBundleHashLogs(facts.map((f) => f.logHash));
  if (manifest.truthBundleHash !== undefined && manifest.truthBundleHash !== truthBundleHash) {
    throw new EvidentError('TRUTH_BUNDLE_MISMATCH', `tournament manifest truthBundleHash ${J(manifest.truthBundleHash)} differs from the recomputed ${truthBundleHash}`);
  }
  const payload: TournamentPayload = { tournamentId: String(manifest.tournamentSeed), truthBundleHash, matchCount: facts.length, issuedBy };
  const predicate: Record<string, unknown> = {
    kind: 'tournament',
    payload,
    tournamentManifestHash: manifestCoreHash(manifest),
    logsMerkleRoot: 'sha256:' + Buffer.from(merkleRoot(facts.map((f) => f.log))).toString('hex'),
    matches: facts.map((f) => ({ matchKey: f.matchKey, matchId: f.matchId, logHash: f.logHash, manifestHash: f.manifestHash, eventRoot: f.eventRoot, eventCount: f.eventCount, runnerVersion: f.runnerVersion })),
  };
  if (t.standings !== undefined) predicate.standingsHash = sha256Prefixed(stableStringify(t.standings) + '\n');
  return { _type: STATEMENT_TYPE, subject: hashMatchSubjects(predicate), predicateType: HASHMATCH_PREDICATE, predicate };
}

/** The subjects a HashMatch predicate implies (used for issuing tournaments and for checking any receipt). */
function hashMatchSubjects(p: Record<string, unknown>): Subject[] {
  const pl = obj(p.payload) ?? {};
  if (p.kind === 'match') return matchSubjects({ logHash: String(pl.logHash), manifestHash: String(pl.manifestHash) }, '');
  const out: Subject[] = [
    { name: 'truthBundle', digest: { sha256: hexOf(String(pl.truthBundleHash)) } },
    { name: 'tournament_manifest.json#ManifestCore', digest: { sha256: hexOf(String(p.tournamentManifestHash)) } },
  ];
  for (const m of Array.isArray(p.matches) ? p.matches : []) {
    const o = obj(m) ?? {};
    out.push(...matchSubjects({ logHash: String(o.logHash), manifestHash: String(o.manifestHash) }, `matches/${String(o.matchKey)}/`));
  }
  return out;
}

// ============================================================================ ELI-Sentinel

export type EliTexts = Partial<Record<'prompt' | 'rag' | 'multimodal' | 'output', string>>;

/**
 * Statement for an ELI transaction: the gateway packet is built by the ELI library (defaults for transaction_id,
 * timestamp, client_key_fingerprint, the no-policy denial), its HALO chain computed; subject = final_hash. The
 * receipt is an Evident DSSE signature over that packet, not an RS256 ELI signature: the packet carries no
 * `verification` block. A `halo_chain` given with the fields must equal the recomputed one (HALO_MISMATCH).
 */
export function eliStatement(transaction: JsonObject, opts: { texts?: EliTexts; now?: Date } = {}): Statement {
  if (!isJsonObject(transaction)) throw new EvidentError('INPUT_INVALID', 'transaction must be a JSON object');
  if ('verification' in transaction) throw new EvidentError('INPUT_INVALID', 'transaction.verification is not accepted: Evident signs the packet itself (DSSE), not RS256');
  const fields: JsonObject = { ...transaction };
  const claimed = fields.halo_chain;
  delete fields.halo_chain;
  const packet = buildUnsignedPacket(fields, { now: opts.now, texts: opts.texts });
  const chain = packet.halo_chain as unknown as HaloChain;
  if (claimed !== undefined) {
    const { mismatches } = checkHaloChain(packet, claimed);
    if (mismatches.length) throw new EvidentError('HALO_MISMATCH', `halo_chain does not match the transaction fields: ${mismatches.map((m) => m.block).join(', ')} (recomputed ${m0(mismatches)})`);
  }
  const txId = packet.transaction_id as string;
  return {
    _type: STATEMENT_TYPE,
    subject: [{ name: txId, digest: { sha256: hexOf(chain.final_hash) } }],
    predicateType: ELI_PREDICATE,
    predicate: {
      profile: 'halo_v1',
      transaction_id: txId,
      final_hash: chain.final_hash,
      halo_chain: { ...chain },
      packet_json_c14n_v1: jsonC14nV1(packet),
    },
  };
}

const m0 = (ms: Array<{ block: string; expected: string }>) => `${ms[0]!.block} = ${ms[0]!.expected}`;

// ============================================================================ WCP

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

// ============================================================================ offline checks

export interface PredicateProblem {
  id: string;
  message: string;
  expected?: string;
  actual?: string;
}

export const FORMAT_PREDICATES: ReadonlySet<string> = new Set([HASHMATCH_PREDICATE, ELI_PREDICATE, WCP_PREDICATE]);

/**
 * Re-derive a format statement's hashes from its own predicate (no artifact needed): the subjects must be exactly
 * the ones the predicate implies, and the predicate's hashes must follow from the data it carries. Returns the
 * problems found (empty = consistent); undefined when the predicate type is not one of ours.
 */
export function checkFormatStatement(statement: unknown): PredicateProblem[] | undefined {
  const st = obj(statement);
  if (!st || typeof st.predicateType !== 'string' || !FORMAT_PREDICATES.has(st.predicateType)) return undefined;
  const p = obj(st.predicate);
  if (!p) return [{ id: 'predicate', message: 'predicate must be an object' }];
  const problems: PredicateProblem[] = [];
  let implied: Subject[] = [];
  try {
    if (st.predicateType === HASHMATCH_PREDICATE) implied = checkHashMatch(p, problems);
    else if (st.predicateType === ELI_PREDICATE) implied = checkEli(p, problems);
    else implied = checkWcp(p, problems);
  } catch (e) {
    problems.push({ id: 'predicate', message: `predicate cannot be checked: ${(e as Error).message}` });
  }
  // key order is not significant (the signed payload is RFC 8785: keys sorted)
  const want = canonicalizeJcs(implied);
  let have: string;
  try {
    have = canonicalizeJcs(st.subject ?? null);
  } catch {
    have = J(st.subject);
  }
  if (want !== have) problems.push({ id: 'predicate.subject', message: 'statement subjects differ from the ones the predicate implies', expected: want.slice(0, 500), actual: have.slice(0, 500) });
  return problems;
}

function checkHashMatch(p: Record<string, unknown>, problems: PredicateProblem[]): Subject[] {
  const pl = obj(p.payload) ?? {};
  if (p.kind === 'tournament') {
    const ms = Array.isArray(p.matches) ? p.matches.map((m) => obj(m) ?? {}) : [];
    const tbh = truthBundleHashLogs(ms.map((m) => String(m.logHash)));
    if (pl.truthBundleHash !== tbh) problems.push({ id: 'predicate.truthBundleHash', message: 'truthBundleHash is not the hash of the listed logHashes', expected: tbh, actual: String(pl.truthBundleHash) });
    if (pl.matchCount !== ms.length) problems.push({ id: 'predicate.matchCount', message: 'matchCount differs from the number of listed matches', expected: String(ms.length), actual: String(pl.matchCount) });
  } else if (p.kind !== 'match') problems.push({ id: 'predicate.kind', message: `unknown HashMatch kind ${J(p.kind)}` });
  return hashMatchSubjects(p);
}

function checkEli(p: Record<string, unknown>, problems: PredicateProblem[]): Subject[] {
  const text = p.packet_json_c14n_v1;
  if (typeof text !== 'string') {
    problems.push({ id: 'predicate.packet', message: 'packet_json_c14n_v1 must be a string' });
    return [];
  }
  const packet = parseEliJson(text, { duplicateKeys: 'reject' });
  if (!isJsonObject(packet)) throw new EvidentError('INPUT_INVALID', 'packet is not a JSON object');
  if (jsonC14nV1(packet) !== text) problems.push({ id: 'predicate.packet', message: 'packet_json_c14n_v1 is not in json_c14n_v1 form' });
  const { chain, mismatches } = checkHaloChain(packet, packet.halo_chain ?? null);
  for (const m of mismatches) problems.push({ id: `predicate.halo.${m.block}`, message: `${m.block} mismatch`, expected: m.expected, actual: m.actual });
  const claimed = obj(p.halo_chain) ?? {};
  for (const b of HALO_BLOCKS) if (claimed[b] !== chain[b]) problems.push({ id: `predicate.halo_chain.${b}`, message: `predicate halo_chain.${b} differs from the packet's recomputed chain`, expected: chain[b], actual: String(claimed[b]) });
  if (p.final_hash !== chain.final_hash) problems.push({ id: 'predicate.final_hash', message: 'final_hash differs from the recomputed chain', expected: chain.final_hash, actual: String(p.final_hash) });
  const txId = toPlain(packet.transaction_id as JsonValue);
  if (p.transaction_id !== txId) problems.push({ id: 'predicate.transaction_id', message: 'transaction_id differs from the packet', expected: String(txId), actual: String(p.transaction_id) });
  return [{ name: String(txId), digest: { sha256: hexOf(chain.final_hash) } }];
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
