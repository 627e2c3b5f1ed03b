/**
 * HashMatch verifiers.
 *
 * strict (default): recompute everything from the files, cross-check summaries/manifests/logs/standings/aliases/
 * broadcast truthBundleHash, verify receipts only against pinned/trusted keys, verify bundle_receipt.json.
 * compat: reproduce the upstream CLIs' verdicts (verify-match, verify-tournament, verify-receipt) incl. blind spots.
 */
import path from 'node:path';
import { Report, type Mode } from '../../verify/report.ts';
import { readBytes, readJson, listMatchDirs, isFile, obj, MAX_LOG_BYTES, MAX_MATCHES, type JsonResult } from './files.ts';
import { logHash, manifestCoreHash, truthBundleHashLogs, truthBundleHashBroadcast, jsonlLines, parseEventLine, sha256Prefixed, eventMerkleRoot } from './hashes.ts';
import { deriveMatchSeed, matchIdFromSeed, checkReveal, revealedMatchSeed, type SeedReveal } from './seeds.ts';
import { checkReceiptShape, embeddedKey, verifyReceiptWith, type Receipt } from './receipt.ts';
import { loadTrusted, checkReceiptSignature, type TrustedKeys } from './keys.ts';
import { loadPublicKey } from '../../store/keyfiles.ts';
import { BUNDLE_RECEIPT_TYPE, computeBundlePayload } from './bundle.ts';
import { stableStringify } from './stable.ts';

export interface HmVerifyOptions {
  mode: Mode;
  keys?: string[];
  trust?: string;
  now?: Date;
}

const J = (v: unknown) => JSON.stringify(v) ?? 'undefined';
/** For comparing untrusted values: `f(v)`, or a marker that never equals a canonical text when upstream's stable
 * JSON refuses the value (non-finite number…). */
function orMarker(f: (v: unknown) => string): (v: unknown) => string {
  return (v) => {
    try {
      return f(v);
    } catch (e) {
      return `(not canonicalisable: ${(e as Error).message})`;
    }
  };
}
const S = orMarker(stableStringify);
const MH = orMarker((v) => manifestCoreHash(v));
const codeOf = (e: unknown): string => (e as { code?: string })?.code ?? 'JSON_NOT_CANONICALIZABLE';
const sortedIds = (v: unknown): unknown => (Array.isArray(v) ? v.map(String).sort() : v);

// ====================================================================== strict: match

export interface MatchFacts {
  dir: string;
  name: string;
  logHash?: string;
  manifestHash?: string;
  manifest?: Record<string, unknown>;
  summary?: Record<string, unknown>;
  started?: Record<string, unknown>;
  ended?: Record<string, unknown>;
  logBytes?: Buffer;
}

function fileFail(report: Report, id: string, r: Exclude<JsonResult, { kind: 'ok' }>, what: string): void {
  if (r.kind === 'missing') report.fail(id, 'integrity', 'FILE_MISSING', `${what} is missing`);
  else report.fail(id, 'integrity', r.code, r.message);
}

/** Strict checks of one match folder. `p` prefixes check ids. Returns the recomputed facts. */
export function strictMatch(report: Report, dir: string, p: string, ctx: { tk?: TrustedKeys; requireReceipt: boolean }): MatchFacts {
  const f: MatchFacts = { dir, name: path.basename(dir) };
  const log = readBytes(path.join(dir, 'match.jsonl'), MAX_LOG_BYTES);
  if (log.kind === 'ok') {
    f.logBytes = log.bytes;
    f.logHash = logHash(log.bytes);
    report.pass(`${p}logHash`, 'logHash recomputed from match.jsonl bytes', { actual: f.logHash });
    eventChecks(report, p, log.bytes, f);
  } else fileFail(report, `${p}match.jsonl`, log, 'match.jsonl');
  const man = readJson(path.join(dir, 'match_manifest.json'), true);
  if (man.kind === 'ok') {
    const m = obj(man.value);
    if (!m) report.fail(`${p}manifest`, 'integrity', 'MANIFEST_INVALID', 'match_manifest.json is not an object');
    else {
      f.manifest = m;
      let core: string | undefined;
      try {
        core = manifestCoreHash(m);
      } catch (e) {
        report.fail(`${p}manifestHash`, 'input', codeOf(e), `match_manifest.json cannot be hashed: ${(e as Error).message}`);
      }
      if (core !== undefined) {
        f.manifestHash = core;
        report.pass(`${p}manifestHash`, 'ManifestCore hash recomputed (top-level createdAt excluded)', { actual: f.manifestHash });
        if ('createdAt' in m) report.warn(`${p}manifest.createdAt`, 'UNAUTHENTICATED_FIELD', 'top-level createdAt is excluded from manifestHash and therefore not authenticated');
        const text = man.bytes.toString('utf8');
        const stable = S(m);
        if (text !== stable + '\n' && text !== stable)
          report.warn(`${p}manifest.form`, 'NON_CANONICAL', 'match_manifest.json is not in stable form (hash is over the canonical form)');
      }
    }
  } else fileFail(report, `${p}match_manifest.json`, man, 'match_manifest.json');

  // summary (telemetry): cross-checked, never trusted
  const sum = readJson(path.join(dir, 'match_summary.json'), true);
  if (sum.kind === 'ok' && obj(sum.value)) {
    const s = obj(sum.value)!;
    f.summary = s;
    const h = obj(s.hashes) ?? {};
    if (f.logHash) report.compare(`${p}summary.logHash`, 'integrity', 'SUMMARY_MISMATCH', 'match_summary.json logHash', f.logHash, String(h.logHash));
    if (f.manifestHash) report.compare(`${p}summary.manifestHash`, 'integrity', 'SUMMARY_MISMATCH', 'match_summary.json manifestHash', f.manifestHash, String(h.manifestHash));
    if (f.manifest) {
      report.compare(`${p}summary.matchId`, 'integrity', 'SUMMARY_MISMATCH', 'summary matchId vs manifest', J(f.manifest.matchId), J(s.matchId));
      report.compare(`${p}summary.seed`, 'integrity', 'SUMMARY_MISMATCH', 'summary seed vs manifest config.seed', J(obj(f.manifest.config)?.seed), J(s.seed));
    }
    if (f.ended) {
      report.compare(`${p}summary.reason`, 'integrity', 'SUMMARY_MISMATCH', 'summary reason vs MatchEnded', J(f.ended.reason), J(s.reason));
      report.compare(`${p}summary.turns`, 'integrity', 'SUMMARY_MISMATCH', 'summary turns vs MatchEnded', J(f.ended.turns), J(s.turns));
      const ls = obj(f.ended.scores);
      if (ls && Object.keys(ls).length > 0) report.compare(`${p}summary.scores`, 'integrity', 'SUMMARY_MISMATCH', 'summary scores vs MatchEnded', S(ls), S(s.scores ?? null));
    }
  } else if (sum.kind === 'ok') report.fail(`${p}match_summary.json`, 'integrity', 'SUMMARY_INVALID', 'match_summary.json is not an object');
  else fileFail(report, `${p}match_summary.json`, sum, 'match_summary.json');

  if (f.manifest && f.started) {
    report.compare(`${p}log.matchId`, 'integrity', 'LOG_MANIFEST_MISMATCH', 'MatchStarted matchId vs manifest', J(f.manifest.matchId), J(f.started.matchId));
    report.compare(`${p}log.seed`, 'integrity', 'LOG_MANIFEST_MISMATCH', 'MatchStarted seed vs manifest config.seed', J(obj(f.manifest.config)?.seed), J(f.started.seed));
  }

  // receipt
  const rec = readJson(path.join(dir, 'receipt.json'), true);
  if (rec.kind === 'missing') {
    if (ctx.requireReceipt) report.fail(`${p}receipt`, 'signature', 'SIGNATURE_MISSING', 'receipt.json is missing from a signed bundle');
  } else if (rec.kind === 'error') report.fail(`${p}receipt`, 'input', rec.code, rec.message);
  else receiptChecks(report, `${p}receipt`, rec, ctx.tk, (pl) => {
    if (f.logHash) report.compare(`${p}receipt.logHash`, 'integrity', 'RECEIPT_MISMATCH', 'receipt logHash vs recomputed', f.logHash, String(pl.logHash));
    if (f.manifestHash) report.compare(`${p}receipt.manifestHash`, 'integrity', 'RECEIPT_MISMATCH', 'receipt manifestHash vs recomputed', f.manifestHash, String(pl.manifestHash));
    if (f.manifest) {
      report.compare(`${p}receipt.matchId`, 'integrity', 'RECEIPT_MISMATCH', 'receipt matchId vs manifest', J(f.manifest.matchId), J(pl.matchId));
      const rv = obj(f.manifest.runner)?.version;
      report.compare(`${p}receipt.runnerVersion`, 'integrity', 'RECEIPT_MISMATCH', 'receipt runnerVersion vs manifest', typeof rv === 'string' && rv ? rv : 'unversioned', String(pl.runnerVersion));
    }
  });
  return f;
}

function eventChecks(report: Report, p: string, bytes: Buffer, f: MatchFacts): void {
  if (bytes.length === 0 || bytes[bytes.length - 1] !== 0x0a) report.warn(`${p}log.form`, 'NON_CANONICAL', 'match.jsonl does not end with LF');
  const lines = jsonlLines(bytes);
  let seqOk = true;
  let parsed = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.length === 0 && i === lines.length - 1) continue;
    const ev = parseEventLine(line);
    if (!ev) {
      report.fail(`${p}log.events`, 'integrity', 'LOG_INVALID', `match.jsonl line ${i + 1} is not a JSON object`);
      return;
    }
    parsed++;
    if (ev.seq !== i) seqOk = false;
    if (ev.type === 'MatchStarted' && !f.started) f.started = ev;
    if (ev.type === 'MatchEnded') f.ended = ev;
    if (f.started && ev.matchId !== f.started.matchId) {
      report.fail(`${p}log.events`, 'integrity', 'LOG_INVALID', `match.jsonl line ${i + 1} has matchId ${J(ev.matchId)} (expected ${J(f.started.matchId)})`);
      return;
    }
  }
  if (!seqOk) report.fail(`${p}log.seq`, 'integrity', 'LOG_INVALID', 'event seq numbers are not 0,1,2,…');
  else report.pass(`${p}log.events`, `${parsed} events, seq contiguous`, { actual: eventMerkleRoot(bytes) });
}

/** Shape + trusted signature; `bind` gets the payload once the receipt is structurally valid. */
function receiptChecks(report: Report, id: string, rec: Extract<JsonResult, { kind: 'ok' }>, tk: TrustedKeys | undefined, bind: (pl: Record<string, unknown>) => void): Receipt | undefined {
  const sh = checkReceiptShape(rec.value);
  if (!sh.ok) {
    report.fail(id, 'input', 'RECEIPT_INVALID', sh.reason);
    return undefined;
  }
  const r = sh.receipt;
  const extra = Object.keys(r).filter((k) => !['version', 'algorithm', 'payload', 'signature', 'publicKey'].includes(k));
  if (extra.length) report.warn(`${id}.unsigned`, 'UNSIGNED_FIELD', `receipt members not covered by the signature: ${extra.join(', ')}`);
  let canonical: string;
  try {
    canonical = stableStringify(r);
  } catch (e) {
    // e.g. a number that parses to Infinity: the payload has no canonical form, so no signature can cover it
    report.fail(`${id}.payload`, 'input', codeOf(e), `receipt cannot be canonicalised: ${(e as Error).message}`);
    return undefined;
  }
  if (rec.bytes.toString('utf8') !== canonical + '\n') report.warn(`${id}.form`, 'NON_CANONICAL', 'receipt file is not in stable form (signature is over the canonical payload)');
  if (tk?.ok) checkReceiptSignature(report, `${id}.signature`, r, tk);
  bind(r.payload);
  return r;
}

// ====================================================================== strict: tournament / match folder

export async function verifyMatchFolderStrict(dir: string, opts: HmVerifyOptions): Promise<Report> {
  const report = new Report('hashmatch.match', 'strict');
  const hasReceipt = isFile(path.join(dir, 'receipt.json')) || isFile(path.join(dir, 'bundle_receipt.json'));
  const tk = hasReceipt ? loadTrusted(report, opts) : undefined;
  const f = strictMatch(report, dir, '', { tk, requireReceipt: false });
  if (f.manifest) {
    const cfg = obj(f.manifest.config);
    const sdi = obj(cfg?.seedDerivationInputs);
    if (typeof cfg?.seed === 'number' && f.manifest.matchId !== matchIdFromSeed(cfg.seed) && sdi?.matchKey !== f.manifest.matchId)
      report.warn('seed.matchId', 'MATCHID_NOT_DERIVED', 'matchId is not derived from the seed');
  }
  broadcastCheck(report, dir, f.logHash && f.manifestHash ? { 'match.jsonl': f.logHash, 'match_manifest.json': f.manifestHash } : undefined);
  seedRevealCheck(report, dir, f.manifest ? obj(f.manifest.config) : undefined, f.manifest ? [{ key: String(obj(obj(f.manifest.config)?.seedDerivationInputs)?.matchKey ?? ''), seed: obj(f.manifest.config)?.seed }] : []);
  if (isFile(path.join(dir, 'bundle_receipt.json'))) bundleReceiptCheck(report, dir, 'match', tk);
  else if (!hasReceipt) report.warn('signature', 'UNSIGNED', 'match folder carries no receipt: integrity only, origin not asserted');
  return report;
}

export async function verifyTournamentStrict(dir: string, opts: HmVerifyOptions): Promise<Report> {
  const report = new Report('hashmatch.tournament', 'strict');
  const tk = loadTrusted(report, opts);
  const tmRes = readJson(path.join(dir, 'tournament_manifest.json'), true);
  const aliasRes = readBytes(path.join(dir, 'tournament.json'), 64 * 1024 * 1024);
  let tm: Record<string, unknown> | undefined;
  if (tmRes.kind === 'ok') {
    tm = obj(tmRes.value);
    if (!tm) report.fail('tournament_manifest', 'integrity', 'MANIFEST_INVALID', 'tournament_manifest.json is not an object');
    if (aliasRes.kind === 'ok') {
      if (Buffer.compare(aliasRes.bytes, tmRes.bytes) === 0) report.pass('alias', 'tournament.json is byte-identical to tournament_manifest.json');
      else report.fail('alias', 'integrity', 'ALIAS_MISMATCH', 'tournament.json differs from tournament_manifest.json');
    } else report.warn('alias', 'ALIAS_MISSING', 'tournament.json alias is absent');
  } else fileFail(report, 'tournament_manifest.json', tmRes, 'tournament_manifest.json');

  const names = listMatchDirs(dir);
  if (names.length > MAX_MATCHES) report.fail('matches', 'input', 'INPUT_TOO_LARGE', `more than ${MAX_MATCHES} match folders`);
  const facts: MatchFacts[] = [];
  for (const n of names.slice(0, MAX_MATCHES)) facts.push(strictMatch(report, path.join(dir, 'matches', n), `matches/${n}/`, { tk, requireReceipt: true }));

  const tSeed = tm?.tournamentSeed;
  const listed = Array.isArray(tm?.matches) ? (tm!.matches as unknown[]).map(obj) : [];
  const byKey = new Map(facts.map((f) => [f.name, f]));
  const committed = tm !== undefined && (obj(tm.config)?.seedCommitment ?? tm.seedCommitment) !== undefined;
  const listedKeys = new Set<string>();
  for (const [i, e] of listed.entries()) {
    const key = typeof e?.matchKey === 'string' ? e.matchKey : `#${i}`;
    listedKeys.add(key);
    const f = byKey.get(key);
    const id = `tournament.matches[${J(key)}]`;
    if (!f) {
      report.fail(id, 'integrity', 'MATCH_MISSING', `listed match ${key} has no folder`);
      continue;
    }
    if (typeof tSeed === 'number' && !committed) report.compare(`${id}.seed`, 'integrity', 'SEED_DERIVATION_MISMATCH', 'listed seed vs FNV-1a(tournamentSeed:matchKey)', String(deriveMatchSeed(tSeed, key)), String(e?.seed));
    const cfg = obj(f.manifest?.config);
    if (cfg) {
      report.compare(`${id}.manifestSeed`, 'integrity', 'TOURNAMENT_MISMATCH', 'listed seed vs match manifest config.seed', J(e?.seed), J(cfg.seed));
      const sdi = obj(cfg.seedDerivationInputs);
      report.compare(`${id}.derivationInputs`, 'integrity', 'TOURNAMENT_MISMATCH', 'seedDerivationInputs vs tournament', J([tSeed, key]), J([sdi?.tournamentSeed, sdi?.matchKey]));
      report.compare(`${id}.maxTurns`, 'integrity', 'TOURNAMENT_MISMATCH', 'listed maxTurns vs match manifest', J(e?.maxTurns), J(cfg.maxTurns));
      if (typeof cfg.seed === 'number') report.compare(`${id}.matchId`, 'integrity', 'MATCHID_NOT_DERIVED', 'matchId vs mulberry32(seed)', matchIdFromSeed(cfg.seed), String(f.manifest?.matchId));
    }
    if (f.started) {
      report.compare(`${id}.scenarioName`, 'integrity', 'TOURNAMENT_MISMATCH', 'listed scenarioName vs MatchStarted', J(e?.scenarioName), J(f.started.scenarioName));
      report.compare(`${id}.agentIds`, 'integrity', 'TOURNAMENT_MISMATCH', 'listed agentIds vs MatchStarted (as a set)', J(sortedIds(e?.agentIds)), J(sortedIds(f.started.agentIds)));
    }
  }
  for (const f of facts) if (!listedKeys.has(f.name)) report.fail(`matches/${f.name}`, 'integrity', 'MATCH_UNLISTED', `match folder ${f.name} is not listed in tournament_manifest.json`);
  if (tm && typeof tm.scenarioName === 'string') {
    const bad = facts.filter((f) => f.started && f.started.scenarioName !== tm!.scenarioName);
    if (bad.length) report.fail('tournament.scenarioName', 'integrity', 'TOURNAMENT_MISMATCH', `scenarioName ${J(tm.scenarioName)} differs from ${bad.length} match log(s)`);
  }

  const logHashes = facts.map((f) => f.logHash).filter((h): h is string => !!h);
  const tbh = truthBundleHashLogs(logHashes);
  if (tm) report.compare('tournament.truthBundleHash', 'integrity', 'TRUTH_BUNDLE_MISMATCH', 'tournament truthBundleHash (logs)', tbh, String(tm.truthBundleHash));
  standingsCheck(report, dir, facts);

  const broadcastMap: Record<string, string> = {};
  for (const f of facts) {
    if (f.logHash) broadcastMap[`matches/${f.name}/match.jsonl`] = f.logHash;
    if (f.manifestHash) broadcastMap[`matches/${f.name}/match_manifest.json`] = f.manifestHash;
  }
  if (tm) {
    const h = MH(tm);
    broadcastMap['tournament_manifest.json'] = h;
    broadcastMap['tournament.json'] = h;
  }
  broadcastCheck(report, dir, broadcastMap);

  const tr = readJson(path.join(dir, 'tournament_receipt.json'), true);
  if (tr.kind === 'missing') report.fail('tournament_receipt', 'signature', 'SIGNATURE_MISSING', 'tournament_receipt.json is missing');
  else if (tr.kind === 'error') report.fail('tournament_receipt', 'input', tr.code, tr.message);
  else
    receiptChecks(report, 'tournament_receipt', tr, tk, (pl) => {
      report.compare('tournament_receipt.truthBundleHash', 'integrity', 'RECEIPT_MISMATCH', 'tournament receipt truthBundleHash vs recomputed', tbh, String(pl.truthBundleHash));
      report.compare('tournament_receipt.matchCount', 'integrity', 'RECEIPT_MISMATCH', 'tournament receipt matchCount vs folders', String(facts.length), String(pl.matchCount));
      if (tm) report.compare('tournament_receipt.tournamentId', 'integrity', 'RECEIPT_MISMATCH', 'tournamentId vs String(tournamentSeed)', String(tm.tournamentSeed), String(pl.tournamentId));
    });
  seedRevealCheck(report, dir, tm ? { seedCommitment: obj(tm.config)?.seedCommitment ?? tm.seedCommitment } : undefined, listed.map((e) => ({ key: String(e?.matchKey), seed: e?.seed })));
  if (isFile(path.join(dir, 'bundle_receipt.json'))) bundleReceiptCheck(report, dir, 'tournament', tk);
  else report.warn('bundle_receipt', 'TOURNAMENT_MANIFEST_UNSIGNED', 'no bundle_receipt.json: the tournament manifest and standings are not signed (cross-checked only)');
  return report;
}

interface Row { agentId: string; matches: number; wins: number; losses: number; draws: number; points: number; scoreFor: number; scoreAgainst: number; scoreDiff: number }

/** Standings recomputed from the (cross-checked) summaries: 3/1/0 points, scores summed. Order must be non-increasing points. */
function standingsCheck(report: Report, dir: string, facts: MatchFacts[]): void {
  const st = readJson(path.join(dir, 'standings.json'), true);
  if (st.kind !== 'ok') {
    fileFail(report, 'standings', st, 'standings.json');
    return;
  }
  if (!Array.isArray(st.value)) {
    report.fail('standings', 'integrity', 'STANDINGS_INVALID', 'standings.json is not an array');
    return;
  }
  const rows = new Map<string, Row>();
  const row = (id: string): Row => {
    let r = rows.get(id);
    if (!r) rows.set(id, (r = { agentId: id, matches: 0, wins: 0, losses: 0, draws: 0, points: 0, scoreFor: 0, scoreAgainst: 0, scoreDiff: 0 }));
    return r;
  };
  for (const f of facts) {
    const s = f.summary;
    if (!s || !Array.isArray(s.agentIds)) continue;
    const ids = s.agentIds as string[];
    const scores = obj(s.scores) ?? {};
    for (const a of ids) {
      const r = row(a);
      r.matches++;
      const mine = Number(scores[a] ?? 0);
      const theirs = ids.filter((b) => b !== a).reduce((acc, b) => acc + Number(scores[b] ?? 0), 0);
      r.scoreFor += mine;
      r.scoreAgainst += theirs;
      r.scoreDiff = r.scoreFor - r.scoreAgainst;
      if (s.winner === null || s.winner === undefined) {
        r.draws++;
        r.points += 1;
      } else if (s.winner === a) {
        r.wins++;
        r.points += 3;
      } else r.losses++;
    }
  }
  const got = new Map<string, unknown>();
  for (const r of st.value) got.set(String(obj(r)?.agentId), r);
  const canon = (m: Map<string, unknown>) => S([...m.keys()].sort().map((k) => m.get(k)));
  const ok = report.compare('standings', 'integrity', 'STANDINGS_MISMATCH', 'standings.json vs standings recomputed from match results', canon(rows), canon(got));
  if (ok) {
    const pts = (st.value as unknown[]).map((r) => Number(obj(r)?.points));
    if (pts.some((x, i) => i > 0 && x > pts[i - 1]!)) report.fail('standings.order', 'integrity', 'STANDINGS_MISMATCH', 'standings are not ordered by points');
  }
}

function broadcastCheck(report: Report, dir: string, truth: Record<string, string> | undefined): void {
  const b = readJson(path.join(dir, 'broadcast_manifest.json'), true);
  if (b.kind === 'missing') {
    report.warn('broadcast', 'BROADCAST_MISSING', 'no broadcast_manifest.json');
    return;
  }
  if (b.kind === 'error') {
    report.fail('broadcast', 'integrity', b.code, b.message);
    return;
  }
  const bm = obj(b.value);
  const files = Array.isArray(bm?.files) ? (bm!.files as unknown[]).map(obj) : [];
  const missing = files.filter((e) => typeof e?.path !== 'string' || !isFile(path.join(dir, e.path as string))).map((e) => String(e?.path));
  if (missing.length) report.fail('broadcast.files', 'integrity', 'FILE_MISSING', `broadcast_manifest lists missing files: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}`);
  else report.pass('broadcast.files', `all ${files.length} listed files exist`);
  if (!truth) return;
  const map: Record<string, string> = {};
  for (const e of files) {
    const p = e?.path;
    if (e?.class === 'truth' && typeof p === 'string' && truth[p]) map[p] = truth[p]!;
  }
  // upstream's truth set is the fixed list of truth files; receipts hand-listed as truth are not part of it
  report.compare('broadcast.truthBundleHash', 'integrity', 'TRUTH_BUNDLE_MISMATCH', 'broadcast truthBundleHash', truthBundleHashBroadcast(map), String(bm?.truthBundleHash));
}

function seedRevealCheck(report: Report, dir: string, cfg: Record<string, unknown> | undefined, matches: Array<{ key: string; seed: unknown }>): void {
  const commitment = cfg?.seedCommitment;
  const rv = readJson(path.join(dir, 'seed_reveal.json'), true);
  if (commitment === undefined) {
    if (rv.kind === 'missing') report.warn('seed', 'SEED_NOT_ASSERTED', 'no seedCommitment: seed integrity not asserted');
    else report.fail('seed', 'integrity', 'SEED_REVEAL_UNCOMMITTED', 'seed_reveal.json present but no seedCommitment to check it against');
    return;
  }
  if (rv.kind !== 'ok') {
    if (rv.kind === 'missing') report.warn('seed', 'SEED_NOT_REVEALED', 'seedCommitment present but seed_reveal.json not (yet) published');
    else report.fail('seed', 'integrity', rv.code, rv.message);
    return;
  }
  const reveal = obj(rv.value) as SeedReveal | undefined;
  if (!reveal) {
    report.fail('seed', 'integrity', 'SEED_REVEAL_INVALID', 'seed_reveal.json is not an object');
    return;
  }
  const c = checkReveal(reveal, String(commitment));
  if (!c.ok) {
    report.fail('seed', 'integrity', 'SEED_COMMITMENT_MISMATCH', c.reason!);
    return;
  }
  report.pass('seed', 'serverSeed matches seedCommitment');
  for (const m of matches) {
    if (!m.key) continue;
    const want = revealedMatchSeed(reveal.serverSeed, reveal.tournamentSeed, m.key, reveal.externalEntropy);
    report.compare(`seed[${J(m.key)}]`, 'integrity', 'SEED_DERIVATION_MISMATCH', `seed of ${m.key} vs HMAC derivation from the revealed serverSeed`, String(want), String(m.seed));
  }
}

function bundleReceiptCheck(report: Report, dir: string, kind: 'tournament' | 'match', tk: TrustedKeys | undefined): void {
  const br = readJson(path.join(dir, 'bundle_receipt.json'), true);
  if (br.kind !== 'ok') {
    fileFail(report, 'bundle_receipt', br, 'bundle_receipt.json');
    return;
  }
  receiptChecks(report, 'bundle_receipt', br, tk, (pl) => {
    if (pl.type !== BUNDLE_RECEIPT_TYPE) {
      report.fail('bundle_receipt.type', 'integrity', 'RECEIPT_INVALID', `bundle receipt type is ${J(pl.type)}`);
      return;
    }
    let expected: Record<string, unknown>;
    try {
      expected = computeBundlePayload(dir, kind, String(pl.issuedBy));
    } catch (e) {
      report.fail('bundle_receipt.recompute', 'integrity', (e as { code?: string }).code ?? 'INPUT_INVALID', (e as Error).message);
      return;
    }
    for (const k of new Set([...Object.keys(expected), ...Object.keys(pl)])) {
      report.compare(`bundle_receipt.${k}`, 'integrity', 'BUNDLE_MISMATCH', `bundle receipt ${k}`, S(expected[k] ?? null), S(pl[k] ?? null));
    }
  });
}

// ====================================================================== strict: receipt file

export async function verifyReceiptFileStrict(file: string | undefined, value: unknown, bytes: Uint8Array, opts: HmVerifyOptions): Promise<Report> {
  const report = new Report('hashmatch.receipt', 'strict');
  const tk = loadTrusted(report, opts);
  const rec = { kind: 'ok' as const, bytes: Buffer.from(bytes), value };
  receiptChecks(report, 'receipt', rec, tk, (pl) => {
    if (!file) return;
    const dir = path.dirname(file);
    if (typeof pl.logHash === 'string' && isFile(path.join(dir, 'match.jsonl'))) {
      const l = readBytes(path.join(dir, 'match.jsonl'), MAX_LOG_BYTES);
      if (l.kind === 'ok') report.compare('receipt.logHash', 'integrity', 'RECEIPT_MISMATCH', 'receipt logHash vs sibling match.jsonl', logHash(l.bytes), pl.logHash);
    }
    if (typeof pl.manifestHash === 'string') {
      const m = readJson(path.join(dir, 'match_manifest.json'), true);
      if (m.kind === 'ok') report.compare('receipt.manifestHash', 'integrity', 'RECEIPT_MISMATCH', 'receipt manifestHash vs sibling match_manifest.json', MH(m.value), pl.manifestHash);
    }
  });
  return report;
}

// ====================================================================== compat (upstream verdicts)

/** Upstream verify-match: summary hashes vs recomputed. 0 pass, 1 mismatch, 2 missing file / bad JSON. */
export function compatMatch(report: Report, dir: string, p = ''): number {
  const log = readBytes(path.join(dir, 'match.jsonl'), MAX_LOG_BYTES);
  const man = readJson(path.join(dir, 'match_manifest.json'), false);
  const sum = readJson(path.join(dir, 'match_summary.json'), false);
  let structural = false;
  for (const [n, r] of [['match.jsonl', log], ['match_manifest.json', man], ['match_summary.json', sum]] as const) {
    if (r.kind !== 'ok') {
      structural = true;
      report.fail(`${p}${n}`, 'input', r.kind === 'missing' ? 'FILE_MISSING' : r.code, r.kind === 'missing' ? `${n} missing` : r.message);
    }
  }
  if (structural || log.kind !== 'ok' || man.kind !== 'ok' || sum.kind !== 'ok') return 2;
  const h = obj(obj(sum.value)?.hashes) ?? {};
  const a = report.compare(`${p}logHash`, 'integrity', 'HASH_MISMATCH', 'logHash', String(h.logHash), logHash(log.bytes));
  const b = report.compare(`${p}manifestHash`, 'integrity', 'HASH_MISMATCH', 'manifestHash', String(h.manifestHash), manifestCoreHash(man.value));
  return a && b ? 0 : 1;
}

/** Upstream verify-tournament: alias bytes, verify-match per folder, truthBundleHash from the summaries. */
export function compatTournament(report: Report, dir: string): number {
  const tm = readJson(path.join(dir, 'tournament_manifest.json'), false);
  const alias = readBytes(path.join(dir, 'tournament.json'), 64 * 1024 * 1024);
  if (tm.kind !== 'ok' || alias.kind !== 'ok') {
    report.fail('tournament_manifest', 'input', 'FILE_MISSING', 'tournament_manifest.json / tournament.json missing or invalid');
    return 2;
  }
  let worst = 0;
  if (Buffer.compare(tm.bytes, alias.bytes) !== 0) {
    report.fail('aliasBytes', 'integrity', 'ALIAS_MISMATCH', 'tournament.json differs from tournament_manifest.json');
    worst = 1;
  } else report.pass('aliasBytes', 'alias bytes identical');
  const hashes: string[] = [];
  for (const n of listMatchDirs(dir)) {
    const d = path.join(dir, 'matches', n);
    worst = Math.max(worst, compatMatch(report, d, `matches/${n}/`));
    const s = readJson(path.join(d, 'match_summary.json'), false);
    if (s.kind === 'ok') hashes.push(String(obj(obj(s.value)?.hashes)?.logHash));
  }
  if (worst === 2) return 2;
  if (!report.compare('truthBundleHash', 'integrity', 'HASH_MISMATCH', 'truthBundleHash (from summaries)', String(obj(tm.value)?.truthBundleHash), truthBundleHashLogs(hashes))) worst = 1;
  return worst;
}

function spkiHex(k: import('node:crypto').KeyObject): string {
  try {
    return (k.export({ type: 'spki', format: 'der' }) as Buffer).toString('hex');
  } catch {
    return '';
  }
}

/** Upstream verifyReceipt on a single receipt (embedded key), optionally against a provided key. Returns error strings. */
function compatReceiptErrors(label: string, v: unknown, pub: import('node:crypto').KeyObject | undefined): string[] {
  const errs: string[] = [];
  const r = obj(v) as Receipt | undefined;
  if (!r || r.version !== 1 || r.algorithm !== 'ed25519' || !obj(r.payload) || typeof r.signature !== 'string' || typeof r.publicKey !== 'string') {
    errs.push(`${label}: invalid receipt`);
    return errs;
  }
  const emb = embeddedKey(r, true);
  if (!emb || !verifyReceiptWith(r, emb, true)) errs.push(`${label}: receipt signature does not match receipt publicKey`);
  if (pub) {
    // upstream compares the receipt's publicKey text with the provided key's SPKI DER hex (lower case) as strings
    if (r.publicKey !== spkiHex(pub)) errs.push(`${label}: receipt publicKey does not match provided public key`);
    if (!verifyReceiptWith(r, pub, true)) errs.push(`${label}: receipt signature does not match provided public key`);
  }
  return errs;
}

/** Upstream verify-receipt DIR --pub KEY: errors list reproduced; exit 0 (no errors) / 1. */
export function compatReceiptDir(dir: string, pubSpec: string | undefined): { errors: string[]; exit: number } {
  const errors: string[] = [];
  let pub: import('node:crypto').KeyObject | undefined;
  if (pubSpec) {
    try {
      pub = loadPublicKey(pubSpec);
    } catch {
      return { errors: ['cannot load public key'], exit: 1 };
    }
  }
  const names = listMatchDirs(dir);
  const logHashes: string[] = [];
  for (const n of names) {
    const d = path.join(dir, 'matches', n);
    const label = `matches/${n}`;
    const log = readBytes(path.join(d, 'match.jsonl'), MAX_LOG_BYTES);
    if (log.kind === 'ok') logHashes.push(logHash(log.bytes));
    const rec = readJson(path.join(d, 'receipt.json'), false);
    if (rec.kind === 'missing') {
      errors.push(`${label}: receipt.json missing`);
      continue;
    }
    if (rec.kind === 'error') {
      errors.push(`${label}: ${rec.message}`);
      continue;
    }
    errors.push(...compatReceiptErrors(label, rec.value, pub));
    const pl = obj(obj(rec.value)?.payload) ?? {};
    if (log.kind !== 'ok') errors.push(`${label}: match.jsonl missing`);
    else if (pl.logHash !== logHash(log.bytes)) errors.push(`${label}: logHash mismatch`);
    const man = readJson(path.join(d, 'match_manifest.json'), false);
    if (man.kind !== 'ok') errors.push(`${label}: match_manifest.json missing`);
    else if (pl.manifestHash !== manifestCoreHash(man.value)) errors.push(`${label}: manifestHash mismatch`);
  }
  const tr = readJson(path.join(dir, 'tournament_receipt.json'), false);
  if (tr.kind === 'missing') errors.push('tournament_receipt.json missing');
  else if (tr.kind === 'error') errors.push(`tournament receipt: ${tr.message}`);
  else {
    errors.push(...compatReceiptErrors('tournament receipt', tr.value, pub));
    const pl = obj(obj(tr.value)?.payload) ?? {};
    if (pl.truthBundleHash !== truthBundleHashLogs(logHashes)) errors.push('tournament receipt: truthBundleHash mismatch');
    if (pl.matchCount !== names.length) errors.push('tournament receipt: matchCount mismatch');
  }
  return { errors, exit: errors.length ? 1 : 0 };
}

export async function verifyMatchFolderCompat(dir: string): Promise<Report> {
  const report = new Report('hashmatch.match', 'compat');
  report.exitOverride = compatMatch(report, dir);
  return report;
}

/** compat tournament: with a key → upstream verify-receipt verdict; without → upstream verify-tournament verdict. */
export type UpstreamTool = 'verify-tournament' | 'verify-receipt' | 'validate-bundle' | 'validate-bundle-require-signatures';

export async function verifyTournamentCompat(dir: string, opts: HmVerifyOptions, tool?: UpstreamTool): Promise<Report> {
  const report = new Report('hashmatch.tournament', 'compat');
  const which = tool ?? (opts.keys?.length ? 'verify-receipt' : 'verify-tournament');
  if (which === 'validate-bundle' || which === 'validate-bundle-require-signatures') {
    report.exitOverride = compatValidateBundle(report, dir, which === 'validate-bundle-require-signatures');
    return report;
  }
  if (which === 'verify-tournament') {
    report.exitOverride = compatTournament(report, dir);
    return report;
  }
  const r = compatReceiptDir(dir, opts.keys?.[0]);
  if (r.errors.length === 0) report.pass('verify-receipt', 'all receipts verify (upstream verify-receipt semantics)');
  for (const [i, e] of r.errors.entries()) report.fail(`verify-receipt[${i}]`, 'integrity', 'UPSTREAM_ERROR', e);
  report.exitOverride = r.exit;
  return report;
}

export async function verifyReceiptFileCompat(value: unknown, opts: HmVerifyOptions): Promise<Report> {
  const report = new Report('hashmatch.receipt', 'compat');
  let pub: import('node:crypto').KeyObject | undefined;
  if (opts.keys?.[0]) {
    try {
      pub = loadPublicKey(opts.keys[0]);
    } catch (e) {
      report.fail('key.load', 'key', 'KEY_INVALID', (e as Error).message);
      report.exitOverride = 1;
      return report;
    }
  }
  const errs = compatReceiptErrors('receipt', value, pub);
  if (!errs.length) report.pass('receipt', 'receipt verifies with its embedded publicKey (upstream verifyReceipt)');
  for (const [i, e] of errs.entries()) report.fail(`receipt[${i}]`, 'signature', 'UPSTREAM_ERROR', e);
  report.exitOverride = errs.length ? 1 : 0;
  return report;
}

export { sha256Prefixed };

/**
 * Upstream validate-bundle (with or without --require-signatures; the matrix verdicts are identical):
 * 2 structural (missing match file / bad JSON / missing tournament manifest); 1 content-hash, tournament-hash,
 * standings, broadcast-listed-file or receipt (embedded key only) failures; alias bytes and broadcast
 * truthBundleHash are not checked.
 */
export function compatValidateBundle(report: Report, dir: string, requireSignatures = false): number {
  const tm = readJson(path.join(dir, 'tournament_manifest.json'), false);
  if (tm.kind !== 'ok') {
    report.fail('structure', 'input', 'FILE_MISSING', 'tournament_manifest.json missing or invalid');
    return 2;
  }
  let exit = 0;
  const facts: MatchFacts[] = [];
  const logHashes: string[] = [];
  for (const n of listMatchDirs(dir)) {
    const d = path.join(dir, 'matches', n);
    const p = `matches/${n}/`;
    const r = compatMatch(report, d, p);
    if (r === 2) return 2;
    if (r === 1) exit = 1;
    const log = readBytes(path.join(d, 'match.jsonl'), MAX_LOG_BYTES);
    const man = readJson(path.join(d, 'match_manifest.json'), false);
    const sum = readJson(path.join(d, 'match_summary.json'), false);
    const f: MatchFacts = { dir: d, name: n, summary: sum.kind === 'ok' ? obj(sum.value) : undefined };
    if (log.kind === 'ok') logHashes.push((f.logHash = logHash(log.bytes)));
    if (man.kind === 'ok') f.manifestHash = manifestCoreHash(man.value);
    facts.push(f);
    const rec = readJson(path.join(d, 'receipt.json'), false);
    if (rec.kind === 'error') {
      // upstream: a receipt.json JSON.parse refuses (bytes after the JSON…) is a signatures-check error
      report.fail(`${p}signatures`, 'input', rec.code, `${p}receipt.json: ${rec.message}`);
      exit = 1;
    } else if (rec.kind === 'ok') {
      const errs = compatReceiptErrors(`${p}receipt`, rec.value, undefined);
      const pl = obj(obj(rec.value)?.payload) ?? {};
      if (pl.logHash !== f.logHash) errs.push(`${p}receipt: logHash mismatch`);
      if (pl.manifestHash !== f.manifestHash) errs.push(`${p}receipt: manifestHash mismatch`);
      for (const e of errs) report.fail(`${p}signatures`, 'signature', 'UPSTREAM_ERROR', e);
      if (errs.length) exit = 1;
    } else if (requireSignatures) {
      report.fail(`${p}signatures`, 'signature', 'SIGNATURE_MISSING', `${p}receipt.json missing`);
      exit = 1;
    }
  }
  if (!report.compare('tournamentHash', 'integrity', 'HASH_MISMATCH', 'truthBundleHash', truthBundleHashLogs(logHashes), String(obj(tm.value)?.truthBundleHash))) exit = 1;
  const sub = new Report('x', 'compat');
  standingsCheck(sub, dir, facts);
  broadcastCheck(sub, dir, undefined);
  for (const c of sub.checks) if (!c.ok && !c.informational) {
    report.fail(c.id, 'integrity', c.code, c.message);
    exit = 1;
  }
  const tr = readJson(path.join(dir, 'tournament_receipt.json'), false);
  if (tr.kind === 'error') {
    report.fail('signatures', 'input', tr.code, `tournament receipt: ${tr.message}`);
    exit = 1;
  } else if (tr.kind === 'ok') {
    const errs = compatReceiptErrors('tournament receipt', tr.value, undefined);
    const pl = obj(obj(tr.value)?.payload) ?? {};
    if (pl.truthBundleHash !== truthBundleHashLogs(logHashes)) errs.push('tournament receipt: truthBundleHash mismatch');
    for (const e of errs) report.fail('signatures', 'signature', 'UPSTREAM_ERROR', e);
    if (errs.length) exit = 1;
  } else if (requireSignatures) {
    report.fail('signatures', 'signature', 'SIGNATURE_MISSING', 'tournament receipt missing');
    exit = 1;
  }
  return exit;
}
