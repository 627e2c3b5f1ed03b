/**
 * Benchmark: strict verification of a generated HashMatch tournament (default 1,000 matches), signed with our own
 * signer (`signFolder`: upstream receipts + bundle_receipt.json). Baselines measured in the same run:
 * raw SHA-256 over the same match logs, and the upstream-compatible verify-tournament semantics (compat).
 *
 *   node --import tsx bench/hashmatch.ts [--matches N] [--events E] [--keep]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { generateKeyPair, publicKeyPem } from '../src/kernel/keys.ts';
import { stableFile, stableJsonl } from '../src/profiles/hashmatch/stable.ts';
import { logHash, manifestCoreHash, truthBundleHashLogs } from '../src/profiles/hashmatch/hashes.ts';
import { deriveMatchSeed, matchIdFromSeed } from '../src/profiles/hashmatch/seeds.ts';
import { signFolder } from '../src/profiles/hashmatch/bundle.ts';
import { verifyTournamentStrict, compatTournament } from '../src/profiles/hashmatch/verify.ts';
import { Report } from '../src/verify/report.ts';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}
const N = arg('--matches', 1000);
const E = arg('--events', 40);
const keep = process.argv.includes('--keep');

function generate(dir: string, n: number, events: number): void {
  const tSeed = 4242;
  let A = 2;
  while ((A * (A - 1)) / 2 < n) A++;
  const agents = Array.from({ length: A }, (_, i) => `p-${i}`);
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i < A && pairs.length < n; i++) for (let j = i + 1; j < A && pairs.length < n; j++) pairs.push([agents[i]!, agents[j]!]);
  const listed: unknown[] = [];
  const logHashes: string[] = [];
  const rows = new Map<string, Record<string, number | string>>();
  const row = (id: string) => {
    let r = rows.get(id);
    if (!r) rows.set(id, (r = { agentId: id, draws: 0, losses: 0, matches: 0, points: 0, scoreAgainst: 0, scoreDiff: 0, scoreFor: 0, wins: 0 }));
    return r as Record<string, number>;
  };
  fs.mkdirSync(path.join(dir, 'matches'), { recursive: true });
  for (const [k, [a, b]] of pairs.entries()) {
    const matchKey = `RR:${a}-vs-${b}:round1`;
    const seed = deriveMatchSeed(tSeed, matchKey);
    const matchId = matchIdFromSeed(seed);
    const sa = seed % 3 === 0 ? 0 : 100;
    const sb = k % 2 ? 50 : 0;
    const scores = { [a]: sa, [b]: sb };
    const winner = sa === sb ? null : sa > sb ? a : b;
    const evs: unknown[] = [{ agentIds: [a, b], matchId, maxTurns: events, scenarioName: 'Bench', seed, seq: 0, type: 'MatchStarted' }];
    for (let t = 1; t <= events; t++) evs.push({ matchId, seq: t, turn: t, type: 'TurnStarted', payload: { guess: (seed + t) % 97 } });
    evs.push({ matchId, reason: 'completed', scores, seq: events + 1, turns: events, type: 'MatchEnded' });
    const log = stableJsonl(evs);
    const manifest = {
      agents: [{ id: a }, { id: b }],
      config: { maxTurnTimeMs: 30000, maxTurns: events, seed, seedDerivationInputs: { matchKey, tournamentSeed: tSeed } },
      matchId,
      modeProfileId: 'sandbox',
      runner: { gitCommit: null, name: 'bench', version: null },
      scenario: { contentHash: null, contractVersion: null, id: 'Bench', version: 'unversioned' },
    };
    const lh = logHash(Buffer.from(log));
    logHashes.push(lh);
    const md = path.join(dir, 'matches', matchKey);
    fs.mkdirSync(md);
    fs.writeFileSync(path.join(md, 'match.jsonl'), log);
    fs.writeFileSync(path.join(md, 'match_manifest.json'), stableFile(manifest));
    fs.writeFileSync(
      path.join(md, 'match_summary.json'),
      stableFile({ agentIds: [a, b], hashes: { logHash: lh, manifestHash: manifestCoreHash(manifest) }, matchId, matchKey, reason: 'completed', scores, seed, turns: events, winner }),
    );
    listed.push({ agentIds: [a, b], matchKey, maxTurns: events, scenarioName: 'Bench', seed });
    for (const [me, other] of [[a, b], [b, a]] as const) {
      const r = row(me);
      r.matches!++;
      r.scoreFor! += scores[me]!;
      r.scoreAgainst! += scores[other]!;
      r.scoreDiff = r.scoreFor! - r.scoreAgainst!;
      if (winner === null) {
        r.draws!++;
        r.points! += 1;
      } else if (winner === me) {
        r.wins!++;
        r.points! += 3;
      } else r.losses!++;
    }
  }
  const tm = stableFile({ agents, matches: listed, scenarioName: 'Bench', tournamentSeed: tSeed, truthBundleHash: truthBundleHashLogs(logHashes) });
  fs.writeFileSync(path.join(dir, 'tournament_manifest.json'), tm);
  fs.writeFileSync(path.join(dir, 'tournament.json'), tm);
  const standings = [...rows.values()].sort((x, y) => Number(y.points) - Number(x.points) || String(x.agentId).localeCompare(String(y.agentId)));
  fs.writeFileSync(path.join(dir, 'standings.json'), stableFile(standings));
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-hm-bench-'));
  try {
    const { privateKey, publicKey } = generateKeyPair('ed25519');
    const pub = path.join(dir, '..', `${path.basename(dir)}.pub.pem`);
    fs.writeFileSync(pub, publicKeyPem(publicKey));
    let t = performance.now();
    generate(dir, N, E);
    const genMs = performance.now() - t;
    t = performance.now();
    const signed = signFolder(dir, privateKey, 'bench');
    const signMs = performance.now() - t;
    const logs = fs.readdirSync(path.join(dir, 'matches')).map((m) => path.join(dir, 'matches', m, 'match.jsonl'));
    const bytes = logs.reduce((s, f) => s + fs.statSync(f).size, 0);

    t = performance.now();
    for (const f of logs) createHash('sha256').update(fs.readFileSync(f)).digest();
    const shaMs = performance.now() - t;

    t = performance.now();
    const compatExit = compatTournament(new Report('hashmatch.tournament', 'compat'), dir);
    const compatMs = performance.now() - t;

    t = performance.now();
    const r = await verifyTournamentStrict(dir, { mode: 'strict', keys: [pub] });
    const strictMs = performance.now() - t;
    fs.rmSync(pub, { force: true });
    if (r.exitCode !== 0 || compatExit !== 0) {
      console.error(JSON.stringify(r.toJSON().checks.filter((c) => !c.ok).slice(0, 10), null, 1));
      throw new Error(`verification failed: strict exit ${r.exitCode}, compat exit ${compatExit}`);
    }
    const rate = (ms: number) => ((N / ms) * 1000).toFixed(0);
    console.log(`hashmatch bench: ${N} matches, ${E + 2} events each, ${(bytes / 1e6).toFixed(1)} MB of logs, ${r.checks.length} checks`);
    console.log(`  generate            ${genMs.toFixed(0)} ms`);
    console.log(`  sign (ours)         ${signMs.toFixed(0)} ms  (${signed.matchReceipts} match receipts + tournament + bundle receipt)`);
    console.log(`  baseline sha256     ${shaMs.toFixed(0)} ms  ${rate(shaMs)} matches/s`);
    console.log(`  compat (upstream vt) ${compatMs.toFixed(0)} ms  ${rate(compatMs)} matches/s  (${(compatMs / shaMs).toFixed(1)}x sha256)`);
    console.log(`  strict verify       ${strictMs.toFixed(0)} ms  ${rate(strictMs)} matches/s  (${(strictMs / shaMs).toFixed(1)}x sha256, ${(strictMs / compatMs).toFixed(1)}x compat)`);
    if (keep) console.log(`  kept: ${dir}`);
  } finally {
    if (!keep) fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
