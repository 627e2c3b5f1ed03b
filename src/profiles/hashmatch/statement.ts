/**
 * HashMatch receipt statements (predicate type https://evident.dev/hashmatch/v1): the in-toto Statement v1 the
 * service signs for a match or a tournament. Every subject digest is recomputed here with the HashMatch library,
 * never taken from the caller; the caller's own claims (a summary's hashes, a tournament manifest's
 * truthBundleHash) are checked against the recomputed values and refused on mismatch.
 */
import { EvidentError } from '../../kernel/errors.ts';
import { STATEMENT_TYPE, J, obj, hexOf, type PredicateProblem, type Statement, type StatementProfile, type Subject } from '../../receipts/statement.ts';
import { logHash, manifestCoreHash, truthBundleHashLogs, eventMerkleRoot, jsonlLines, parseEventLine, sha256Prefixed } from './hashes.ts';
import { merkleRoot } from './merkle.ts';
import { stableStringify } from './stable.ts';
import type { MatchPayload, TournamentPayload } from './receipt.ts';

export const HASHMATCH_PREDICATE = 'https://evident.dev/hashmatch/v1';

/** Matches per tournament receipt (the statement must also fit the receipt payload limit). */
export const MAX_TOURNAMENT_MATCHES = 1000;

/** HashMatch refusals that mean "well-formed but inconsistent" (HTTP 422). */
export const HASHMATCH_REJECT_CODES = ['LOG_INVALID', 'LOG_MANIFEST_MISMATCH', 'SUMMARY_MISMATCH', 'TRUTH_BUNDLE_MISMATCH', 'MATCH_MISSING', 'MATCH_UNLISTED'] as const;

/** A `hashmatch` receipt request: one stand-alone match or a tournament; issuedBy defaults to the issuer key id. */
export type HashMatchReceiptRequest =
  | { format: 'hashmatch'; kind: 'match'; match: HashMatchMatchInput; issuedBy?: string }
  | { format: 'hashmatch'; kind: 'tournament'; tournament: HashMatchTournamentInput; issuedBy?: string };

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

/** The statement a `hashmatch` request stands for. Throws coded refusals. */
export function hashMatchRequestStatement(req: HashMatchReceiptRequest, issuerKid: string): Statement {
  if (req.issuedBy !== undefined && (typeof req.issuedBy !== 'string' || req.issuedBy === '' || req.issuedBy.length > 256)) throw new EvidentError('INPUT_INVALID', 'issuedBy must be a non-empty string (≤ 256 characters)');
  if (req.kind === 'match') return hashMatchMatchStatement(req.match, req.issuedBy ?? issuerKid);
  if (req.kind === 'tournament') return hashMatchTournamentStatement(req.tournament, req.issuedBy ?? issuerKid);
  throw new EvidentError('INPUT_INVALID', `unknown hashmatch kind ${JSON.stringify((req as { kind?: unknown }).kind)} (match, tournament)`);
}

export const hashMatchStatementProfile: StatementProfile = {
  format: 'hashmatch',
  predicateType: HASHMATCH_PREDICATE,
  check: checkHashMatch,
  rejectCodes: HASHMATCH_REJECT_CODES,
};
