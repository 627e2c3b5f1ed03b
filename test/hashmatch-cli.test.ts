/** CLI: `evident hashmatch …` and `evident verify` auto-detection on HashMatch folders/receipts (spawns bin/evident.js). */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { seedCommitment, revealedMatchSeed, lp } from '../src/profiles/hashmatch/seeds.ts';

const repoRoot = path.resolve(import.meta.dirname, '..');
const BIN = path.join(repoRoot, 'bin/evident.js');
const V = path.join(path.resolve(repoRoot, '../shared/vectors'), 'hashmatch');
const T42 = path.join(V, 'generated/tournament-42');
const KEY = path.join(V, 'generated/keys/organizer.key');
const PUB = path.join(V, 'generated/keys/organizer.pub');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-hm-cli-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function run(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: tmp, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
function json(args: string[]): { code: number; report: any } {
  const r = run([...args, '--json']);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, `--json prints exactly one line: ${r.stdout}${r.stderr}`);
  const report = JSON.parse(lines[0]!);
  if ('exitCode' in report) assert.equal(report.exitCode, r.code);
  return { code: r.code, report };
}
const copy = (name: string, src = T42) => {
  const d = path.join(tmp, name);
  fs.cpSync(src, d, { recursive: true });
  return d;
};

test('sign reproduces tournament-42 receipts byte-for-byte and adds a verifying bundle_receipt.json', () => {
  const d = copy('t42-resign');
  const receipts = ['tournament_receipt.json', ...fs.readdirSync(path.join(d, 'matches')).map((m) => `matches/${m}/receipt.json`)];
  for (const r of receipts) fs.rmSync(path.join(d, r));
  const s = run(['hashmatch', 'sign', d, '--key', KEY, '--issuer', 'test-organizer']);
  assert.equal(s.code, 0, s.stderr);
  for (const r of receipts) assert.equal(fs.readFileSync(path.join(d, r), 'utf8'), fs.readFileSync(path.join(T42, r), 'utf8'), r);
  assert.ok(fs.existsSync(path.join(d, 'bundle_receipt.json')));
  const v = json(['verify', d, '--key', PUB]);
  assert.equal(v.code, 0, JSON.stringify(v.report));
  assert.equal(v.report.format, 'hashmatch.tournament');
  assert.ok(v.report.checks.some((c: any) => c.id === 'bundle_receipt.signature' && c.ok));
  assert.equal(json(['hashmatch', 'verify-tournament', d, '--key', PUB]).code, 0);
  assert.equal(json(['hashmatch', 'verify-tournament', d, '--mode', 'compat']).code, 0);
});

test('bundle_receipt detects tournament-manifest-only and standings-only edits (exit 2, BUNDLE_MISMATCH)', () => {
  const d = copy('t42-bundle');
  assert.equal(run(['hashmatch', 'sign', d, '--key', KEY, '--issuer', 'org']).code, 0);
  // edit a field of the tournament manifest that no match file contradicts (+ the alias), and standings order-only change
  const cases: Array<[string, (x: string) => void]> = [
    ['manifest', (x) => {
      const t = JSON.parse(fs.readFileSync(path.join(x, 'tournament_manifest.json'), 'utf8'));
      t.agents = [...t.agents].reverse();
      const s = JSON.stringify(t);
      fs.writeFileSync(path.join(x, 'tournament_manifest.json'), s);
      fs.writeFileSync(path.join(x, 'tournament.json'), s);
    }],
    ['standings', (x) => {
      const st = JSON.parse(fs.readFileSync(path.join(x, 'standings.json'), 'utf8'));
      [st[1], st[2]] = [st[2], st[1]];
      fs.writeFileSync(path.join(x, 'standings.json'), JSON.stringify(st));
    }],
  ];
  for (const [name, fn] of cases) {
    const x = copy(`t42-bundle-${name}`, d);
    fn(x);
    const v = json(['verify', x, '--key', PUB]);
    assert.equal(v.code, 2, name);
    assert.ok(v.report.checks.some((c: any) => c.code === 'BUNDLE_MISMATCH'), name);
  }
});

test('single match folder: sign + verify, tamper, embedded key only, compat', () => {
  const d = copy('m7', path.join(V, 'generated/match-7'));
  assert.equal(run(['hashmatch', 'sign', d, '--key', KEY, '--issuer', 'org']).code, 0);
  const ok = json(['verify', d, '--key', PUB]);
  assert.equal(ok.code, 0, JSON.stringify(ok.report));
  assert.equal(ok.report.format, 'hashmatch.match');
  assert.equal(json(['hashmatch', 'verify-match', d]).code, 4, 'signed folder without --key: embedded key never trusted');
  assert.equal(json(['hashmatch', 'verify-match', d, '--mode', 'compat']).code, 0);
  // receipt file alone
  assert.equal(json(['verify', path.join(d, 'receipt.json'), '--key', PUB]).code, 0);
  const r = json(['hashmatch', 'verify-receipt', path.join(d, 'receipt.json')]);
  assert.equal(r.code, 4, 'embedded publicKey alone → exit 4');
  assert.equal(json(['hashmatch', 'verify-receipt', path.join(d, 'receipt.json'), '--mode', 'compat']).code, 0, 'upstream trusts the embedded key');
  fs.appendFileSync(path.join(d, 'match.jsonl'), '{"seq":99}\n');
  assert.equal(json(['verify', d, '--key', PUB]).code, 2);
  assert.equal(json(['hashmatch', 'verify-match', d, '--mode', 'compat']).code, 1, 'upstream: summary hash mismatch');
});

test('verify-receipt on tournament folders, compat vs strict; bad input exit 10', () => {
  assert.equal(json(['hashmatch', 'verify-receipt', T42, '--key', PUB]).code, 0);
  assert.equal(json(['hashmatch', 'verify-receipt', T42, '--key', PUB, '--mode', 'compat']).code, 0);
  assert.equal(json(['hashmatch', 'verify-receipt', T42]).code, 4);
  const ex = path.join(V, 'upstream/exhibitions/heist-showcase-001');
  assert.equal(json(['verify', ex, '--key', path.join(V, 'upstream/keys/exhibitions.pub.pem')]).code, 0);
  assert.equal(json(['verify', ex, '--key', path.join(V, 'upstream/keys/exhibitions.pub.pem'), '--mode', 'compat']).code, 0);
  fs.writeFileSync(path.join(tmp, 'garbage.json'), '{"algorithm":"ed25519",');
  assert.equal(json(['hashmatch', 'verify-receipt', path.join(tmp, 'garbage.json'), '--key', PUB]).code, 10);
  assert.equal(json(['hashmatch', 'verify-match', tmp]).code, 10);
});

test('commit / reveal: exact encoding, seed_reveal.json verified against seedCommitment', () => {
  const seed = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';
  // encoding pinned (docs/hashmatch.md): LP = u32be(len) || bytes
  assert.deepEqual([...lp(new Uint8Array([1, 2]))], [0, 0, 0, 2, 1, 2]);
  const c = seedCommitment(seed, '42');
  assert.match(c, /^sha256:[0-9a-f]{64}$/);
  const secret = path.join(tmp, 'secret.json');
  const r = json(['hashmatch', 'commit', '--tournament-seed', '42', '--secret', secret, '--server-seed', seed]);
  assert.equal(r.code, 0);
  assert.equal(r.report.seedCommitment, c);
  assert.equal(fs.statSync(secret).mode & 0o777, 0o600);
  assert.notEqual(run(['hashmatch', 'commit', '--tournament-seed', '42', '--secret', secret]).code, 0, 'refuses to overwrite');
  // a match folder whose seed comes from the reveal
  const d = copy('m7-commit', path.join(V, 'generated/match-7'));
  const mk = 'm_ac9zsoqit0jf';
  const rv = json(['hashmatch', 'reveal', '--secret', secret, '--commitment', c, '--match-key', mk, '--out', d]);
  assert.equal(rv.code, 0);
  assert.equal(rv.report.seeds[mk], revealedMatchSeed(seed, '42', mk));
  const mf = path.join(d, 'match_manifest.json');
  const m = JSON.parse(fs.readFileSync(mf, 'utf8'));
  m.config.seedCommitment = c;
  fs.writeFileSync(mf, JSON.stringify(m));
  // seed in the manifest (7) is not the revealed one → integrity failure
  let v = json(['verify', d]);
  assert.equal(v.code, 2);
  assert.ok(v.report.checks.some((x: any) => x.code === 'SEED_DERIVATION_MISMATCH'));
  // wrong commitment → integrity failure
  m.config.seedCommitment = seedCommitment(seed, '43');
  fs.writeFileSync(mf, JSON.stringify(m));
  v = json(['verify', d]);
  assert.ok(v.report.checks.some((x: any) => x.code === 'SEED_COMMITMENT_MISMATCH'));
  assert.equal(json(['hashmatch', 'reveal', '--secret', secret, '--commitment', seedCommitment(seed, '43')]).code, 10);
  // no commitment → informational only
  const plain = json(['verify', path.join(V, 'generated/match-7')]);
  assert.equal(plain.code, 0);
  assert.ok(plain.report.checks.some((x: any) => x.code === 'SEED_NOT_ASSERTED'));
});

test('trust store: trusted key → 0, revoked key → 1 (policy), unknown key → 4', () => {
  const store = path.join(tmp, 'trust.json');
  const add = run(['keys', 'trust', 'add', PUB, '--trust', store, '--json']);
  assert.equal(add.code, 0, add.stderr);
  const kid = JSON.parse(add.stdout).kid;
  assert.equal(json(['verify', T42, '--trust', store]).code, 0);
  const other = path.join(tmp, 'other-trust.json');
  assert.equal(run(['keys', 'trust', 'add', path.join(V, 'upstream/keys/exhibitions.pub.pem'), '--trust', other]).code, 0);
  assert.equal(json(['verify', T42, '--trust', other]).code, 4);
  assert.equal(run(['keys', 'trust', 'revoke', kid, '--trust', store]).code, 0);
  const v = json(['verify', T42, '--trust', store]);
  assert.equal(v.code, 1);
  assert.ok(v.report.checks.some((c: any) => c.code === 'KEY_REVOKED'));
});

test('hostile input: odd types and duplicate keys never crash (coded failures)', () => {
  const d = copy('t42-hostile');
  const tm = JSON.parse(fs.readFileSync(path.join(d, 'tournament_manifest.json'), 'utf8'));
  tm.matches[0].agentIds = 5;
  tm.matches[1] = 'x';
  tm.tournamentSeed = { a: 1 };
  const s = JSON.stringify(tm);
  fs.writeFileSync(path.join(d, 'tournament_manifest.json'), s);
  fs.writeFileSync(path.join(d, 'tournament.json'), s);
  fs.writeFileSync(path.join(d, 'standings.json'), '{"a":1,"a":2}');
  fs.writeFileSync(path.join(d, 'matches/RR:random-0-vs-baseline-1:round1/match_manifest.json'), '[1,2');
  const v = json(['verify', d, '--key', PUB]);
  assert.equal(v.code, 2);
  assert.ok(v.report.checks.some((c: any) => c.code === 'JSON_DUPLICATE_KEY'));
  assert.equal(json(['verify', d, '--key', PUB, '--mode', 'compat']).code, 1, 'upstream verify-receipt: manifestHash mismatch');
});

test('verify-tournament --mode compat --upstream: each upstream tool selectable', () => {
  for (const t of ['verify-tournament', 'validate-bundle', 'validate-bundle-require-signatures']) assert.equal(json(['hashmatch', 'verify-tournament', T42, '--mode', 'compat', '--upstream', t]).code, 0, t);
  assert.equal(json(['hashmatch', 'verify-tournament', T42, '--mode', 'compat', '--upstream', 'verify-receipt', '--key', PUB]).code, 0);
  const d = copy('t42-standings');
  fs.writeFileSync(path.join(d, 'standings.json'), fs.readFileSync(path.join(d, 'standings.json'), 'utf8').replace('"points":6', '"points":7'));
  assert.equal(json(['hashmatch', 'verify-tournament', d, '--mode', 'compat']).code, 0, 'upstream verify-tournament ignores standings');
  assert.equal(json(['hashmatch', 'verify-tournament', d, '--mode', 'compat', '--upstream', 'validate-bundle']).code, 1);
  assert.equal(json(['hashmatch', 'verify-tournament', d, '--key', PUB]).code, 2, 'strict: STANDINGS_MISMATCH');
});

test('event-proof / verify-event: one event proven under the signed eventRoot; tamper → 2; unanchored → warning', () => {
  const d = copy('m7-event', path.join(V, 'generated/match-7'));
  assert.equal(run(['hashmatch', 'sign', d, '--key', KEY, '--issuer', 'org']).code, 0);
  const pr = run(['hashmatch', 'event-proof', d, '--index', '5']);
  assert.equal(pr.code, 0, pr.stderr);
  const proof = JSON.parse(pr.stdout);
  const pf = path.join(tmp, 'proof.json');
  fs.writeFileSync(pf, JSON.stringify(proof));
  const bundle = path.join(d, 'bundle_receipt.json');
  assert.equal(json(['hashmatch', 'verify-event', pf, '--bundle', bundle, '--key', PUB]).code, 0);
  assert.equal(json(['hashmatch', 'verify-event', pf, '--bundle', bundle]).code, 4, 'no pinned key');
  const un = json(['hashmatch', 'verify-event', pf]);
  assert.equal(un.code, 0);
  assert.ok(un.report.checks.some((c: any) => c.code === 'ROOT_NOT_ANCHORED'));
  fs.writeFileSync(pf, JSON.stringify({ ...proof, line: proof.line.replace('"seq":5', '"seq":6') }));
  assert.equal(json(['hashmatch', 'verify-event', pf, '--bundle', bundle, '--key', PUB]).code, 2);
  assert.equal(run(['hashmatch', 'event-proof', d, '--index', '100000']).code, 10);
});

test('hostile input: numbers beyond the double range (1e999 → Infinity) in a receipt or a manifest give coded failures, not a crash', () => {
  // found by mutation fuzzing of `evident verify`: stable JSON refuses non-finite numbers, and that refusal escaped
  const rec = fs.readFileSync(path.join(T42, 'tournament_receipt.json'), 'utf8').replace(/"matchCount":\d+/, '"matchCount":1e999');
  assert.ok(rec.includes('1e999'));
  fs.writeFileSync(path.join(tmp, 'inf-receipt.json'), rec);
  const v = json(['verify', path.join(tmp, 'inf-receipt.json'), '--key', PUB]);
  assert.equal(v.code, 10);
  assert.equal(v.report.format, 'hashmatch.receipt');
  assert.ok(v.report.checks.some((c: any) => c.id === 'receipt.payload' && c.code === 'JSON_NOT_CANONICALIZABLE'), JSON.stringify(v.report));

  const d = copy('t42-inf-manifest');
  const m = path.join(d, 'matches/RR:random-0-vs-baseline-1:round1/match_manifest.json');
  fs.writeFileSync(m, fs.readFileSync(m, 'utf8').replace(/"seed":\s*\d+/, '"seed":-1e999'));
  const t = json(['verify', d, '--key', PUB]);
  assert.equal(t.code, 10);
  assert.ok(t.report.checks.some((c: any) => /manifestHash$/.test(c.id) && c.code === 'JSON_NOT_CANONICALIZABLE'), JSON.stringify(t.report.checks.filter((c: any) => !c.ok)));
});
