/**
 * Signing HashMatch folders: upstream-compatible receipts (recomputed from the files, never from summaries) plus
 * Evident's bundle_receipt.json binding the tournament manifest (ManifestCore), standings, every match's
 * logHash/manifestHash/event root and an RFC 6962 Merkle root over the match logs.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { KeyObject } from 'node:crypto';
import { EvidentError } from '../../kernel/errors.ts';
import { writeFileAtomic } from '../../store/atomic.ts';
import { readBytes, readJson, listMatchDirs, isFile, obj, MAX_LOG_BYTES } from './files.ts';
import { logHash, manifestCoreHash, truthBundleHashLogs, eventMerkleRoot, sha256Prefixed } from './hashes.ts';
import { merkleRoot } from './merkle.ts';
import { signReceipt, receiptFileText, type MatchPayload, type TournamentPayload } from './receipt.ts';
import { stableStringify, stableFile } from './stable.ts';

export const BUNDLE_RECEIPT_TYPE = 'evident.hashmatch.bundle/v1';

interface MatchData {
  key: string;
  logBytes: Buffer;
  logHash: string;
  manifest: Record<string, unknown>;
  manifestHash: string;
}

function loadMatch(dir: string, key: string): MatchData {
  const l = readBytes(path.join(dir, 'match.jsonl'), MAX_LOG_BYTES);
  if (l.kind !== 'ok') throw new EvidentError('INPUT_INVALID', `${key}: match.jsonl ${l.kind === 'missing' ? 'missing' : l.message}`);
  const m = readJson(path.join(dir, 'match_manifest.json'), true);
  if (m.kind !== 'ok') throw new EvidentError('INPUT_INVALID', `${key}: match_manifest.json ${m.kind === 'missing' ? 'missing' : m.message}`);
  const manifest = obj(m.value);
  if (!manifest) throw new EvidentError('INPUT_INVALID', `${key}: match_manifest.json is not an object`);
  return { key, logBytes: l.bytes, logHash: logHash(l.bytes), manifest, manifestHash: manifestCoreHash(manifest) };
}

function matchPayload(d: MatchData, issuedBy: string): MatchPayload {
  const rv = obj(d.manifest.runner)?.version;
  return {
    matchId: String(d.manifest.matchId),
    logHash: d.logHash,
    manifestHash: d.manifestHash,
    runnerVersion: typeof rv === 'string' && rv ? rv : 'unversioned',
    issuedBy,
  };
}

function standaloneKey(m: Record<string, unknown>): string {
  const k = obj(obj(m.config)?.seedDerivationInputs)?.matchKey;
  return typeof k === 'string' ? k : String(m.matchId);
}

function bundlePayloadFrom(kind: 'tournament' | 'match', matches: MatchData[], issuedBy: string, tm?: Record<string, unknown>, standings?: unknown): Record<string, unknown> {
  const p: Record<string, unknown> = {
    type: BUNDLE_RECEIPT_TYPE,
    bundleType: kind,
    issuedBy,
    matchCount: matches.length,
    matches: matches.map((d) => ({ eventRoot: eventMerkleRoot(d.logBytes), logHash: d.logHash, manifestHash: d.manifestHash, matchId: String(d.manifest.matchId), matchKey: d.key })),
    logsMerkleRoot: 'sha256:' + Buffer.from(merkleRoot(matches.map((d) => d.logBytes))).toString('hex'),
  };
  if (kind === 'tournament') {
    p.tournamentManifestHash = manifestCoreHash(tm);
    p.standingsHash = sha256Prefixed(stableStringify(standings ?? null) + '\n');
    p.truthBundleHash = truthBundleHashLogs(matches.map((d) => d.logHash));
    const c = obj(tm?.config)?.seedCommitment ?? tm?.seedCommitment;
    if (c !== undefined) p.seedCommitment = c;
  } else {
    const c = obj(matches[0]?.manifest.config)?.seedCommitment;
    if (c !== undefined) p.seedCommitment = c;
  }
  return p;
}

function loadTournament(dir: string): { tm: Record<string, unknown>; standings: unknown; matches: MatchData[] } {
  const t = readJson(path.join(dir, 'tournament_manifest.json'), true);
  if (t.kind !== 'ok') throw new EvidentError('INPUT_INVALID', `tournament_manifest.json ${t.kind === 'missing' ? 'missing' : t.message}`);
  const tm = obj(t.value);
  if (!tm) throw new EvidentError('INPUT_INVALID', 'tournament_manifest.json is not an object');
  const s = readJson(path.join(dir, 'standings.json'), true);
  const standings = s.kind === 'ok' ? s.value : null;
  const matches = listMatchDirs(dir).map((n) => loadMatch(path.join(dir, 'matches', n), n));
  return { tm, standings, matches };
}

/** The bundle payload as it should be for the folder's current contents. */
export function computeBundlePayload(dir: string, kind: 'tournament' | 'match', issuedBy: string): Record<string, unknown> {
  if (kind === 'match') {
    const d = loadMatch(dir, '.');
    d.key = standaloneKey(d.manifest);
    return bundlePayloadFrom('match', [d], issuedBy);
  }
  const t = loadTournament(dir);
  return bundlePayloadFrom('tournament', t.matches, issuedBy, t.tm, t.standings);
}

export function isTournamentDir(dir: string): boolean {
  return isFile(path.join(dir, 'tournament_manifest.json')) || isFile(path.join(dir, 'tournament.json'));
}

export interface SignResult {
  kind: 'tournament' | 'match';
  matchReceipts: number;
  written: string[];
}

/** Add files to broadcast_manifest.json (class telemetry), re-sorted like upstream (localeCompare). */
function addToBroadcast(dir: string, rels: string[]): void {
  const f = path.join(dir, 'broadcast_manifest.json');
  const b = readJson(f, true);
  if (b.kind !== 'ok') return;
  const bm = obj(b.value);
  if (!bm || !Array.isArray(bm.files)) return;
  const files = bm.files as Array<Record<string, unknown>>;
  const have = new Set(files.map((e) => e.path));
  let changed = false;
  for (const r of rels) {
    if (have.has(r)) continue;
    files.push({ class: 'telemetry', path: r });
    changed = true;
  }
  if (!changed) return;
  files.sort((a, c) => String(a.path).localeCompare(String(c.path)));
  writeFileAtomic(f, stableFile(bm));
}

/** Sign a tournament or a single match folder. */
export function signFolder(dir: string, key: KeyObject, issuedBy: string, opts: { bundleReceipt?: boolean } = {}): SignResult {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new EvidentError('INPUT_INVALID', `${dir} is not a directory`);
  const written: string[] = [];
  const write = (rel: string, text: string) => {
    writeFileAtomic(path.join(dir, rel), text);
    written.push(rel);
  };
  if (isTournamentDir(dir)) {
    const t = loadTournament(dir);
    for (const d of t.matches) write(`matches/${d.key}/receipt.json`, receiptFileText(signReceipt(matchPayload(d, issuedBy), key)));
    const tp: TournamentPayload = {
      tournamentId: String(t.tm.tournamentSeed),
      truthBundleHash: truthBundleHashLogs(t.matches.map((d) => d.logHash)),
      matchCount: t.matches.length,
      issuedBy,
    };
    write('tournament_receipt.json', receiptFileText(signReceipt(tp, key)));
    addToBroadcast(dir, [...written]);
    if (opts.bundleReceipt !== false) {
      // standings/manifest are read after the broadcast update; the bundle receipt binds their current bytes
      write('bundle_receipt.json', receiptFileText(signReceipt(bundlePayloadFrom('tournament', t.matches, issuedBy, t.tm, t.standings), key)));
    }
    return { kind: 'tournament', matchReceipts: t.matches.length, written };
  }
  if (!isFile(path.join(dir, 'match.jsonl'))) throw new EvidentError('INPUT_INVALID', `${dir} is neither a tournament folder nor a match folder`);
  const d = loadMatch(dir, '.');
  d.key = standaloneKey(d.manifest);
  write('receipt.json', receiptFileText(signReceipt(matchPayload(d, issuedBy), key)));
  if (opts.bundleReceipt !== false) write('bundle_receipt.json', receiptFileText(signReceipt(bundlePayloadFrom('match', [d], issuedBy), key)));
  return { kind: 'match', matchReceipts: 1, written };
}
