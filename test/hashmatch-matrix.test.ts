/**
 * verifier-matrix.json: each of the 20 mutations of generated/tournament-42 is rebuilt here.
 * compat mode must reproduce upstream verify-match / verify-tournament / verify-receipt exit codes (and
 * verify-receipt's error list); strict mode must catch every mutation that changes meaning, with the exit code
 * stated below and the reason. Formatting-only / unsigned-field mutations pass strict (exit 0) but are REPORTED
 * as warnings, because the signed/hashed content is unchanged (upstream exhibitions rely on that).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateKeyPair } from '../src/kernel/keys.ts';
import { verifyTournamentStrict, verifyTournamentCompat, compatMatch, compatReceiptDir, verifyMatchFolderStrict } from '../src/profiles/hashmatch/verify.ts';
import { signFolder } from '../src/profiles/hashmatch/bundle.ts';
import { manifestCoreHash } from '../src/profiles/hashmatch/hashes.ts';
import { Report } from '../src/verify/report.ts';

const repoRoot = path.resolve(import.meta.dirname, '..');
const V = path.join(path.resolve(repoRoot, '../shared/vectors'), 'hashmatch');
const BASE = path.join(V, 'generated/tournament-42');
const PUB = path.join(V, 'generated/keys/organizer.pub');
const M = JSON.parse(fs.readFileSync(path.join(V, 'generated/verifier-matrix.json'), 'utf8'));
const MK = 'matches/RR:random-0-vs-baseline-1:round1';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-hm-matrix-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const rd = (d: string, f: string) => fs.readFileSync(path.join(d, f), 'utf8');
const wr = (d: string, f: string, s: string | Buffer) => fs.writeFileSync(path.join(d, f), s);
const edit = (d: string, f: string, fn: (s: string) => string) => wr(d, f, fn(rd(d, f)));

const MUTATE: Record<string, (d: string) => void> = {
  clean: () => {},
  'alias-mismatch': (d) => edit(d, 'tournament.json', (s) => s + ' \n'),
  'extra-match-dir': (d) => fs.cpSync(path.join(d, MK), path.join(d, 'matches/RR:copy:round9'), { recursive: true }),
  'log-byte-flip': (d) =>
    edit(d, `${MK}/match.jsonl`, (s) => {
      const i = s.indexOf('\n');
      return s.slice(0, i).replace('"seq":0', '"seq":9') + s.slice(i);
    }),
  'log-crlf': (d) => edit(d, `${MK}/match.jsonl`, (s) => s.replace(/\n/g, '\r\n')),
  'log-no-final-newline': (d) => edit(d, `${MK}/match.jsonl`, (s) => s.slice(0, -1)),
  'manifest-add-createdAt': (d) => edit(d, `${MK}/match_manifest.json`, (s) => JSON.stringify({ ...JSON.parse(s), createdAt: '2026-01-01T00:00:00.000Z' })),
  'manifest-edit-and-summary-rehash': (d) => {
    const m = JSON.parse(rd(d, `${MK}/match_manifest.json`));
    m.config.maxTurns = 99;
    wr(d, `${MK}/match_manifest.json`, JSON.stringify(m) + '\n');
    const s = JSON.parse(rd(d, `${MK}/match_summary.json`));
    s.hashes.manifestHash = manifestCoreHash(m);
    wr(d, `${MK}/match_summary.json`, JSON.stringify(s) + '\n');
  },
  'manifest-nested-createdAt': (d) =>
    edit(d, `${MK}/match_manifest.json`, (s) => {
      const m = JSON.parse(s);
      m.runner.createdAt = 'x';
      return JSON.stringify(m) + '\n';
    }),
  'manifest-pretty': (d) => edit(d, `${MK}/match_manifest.json`, (s) => JSON.stringify(JSON.parse(s), null, 2)),
  'receipt-extra-payload-field': (d) =>
    edit(d, `${MK}/receipt.json`, (s) => {
      const r = JSON.parse(s);
      r.payload.extra = 1;
      return JSON.stringify(r) + '\n';
    }),
  'receipt-missing': (d) => fs.rmSync(path.join(d, `${MK}/receipt.json`)),
  'receipt-payload-reordered-pretty': (d) =>
    edit(d, `${MK}/receipt.json`, (s) => {
      const r = JSON.parse(s);
      const p = r.payload;
      r.payload = { runnerVersion: p.runnerVersion, matchId: p.matchId, manifestHash: p.manifestHash, logHash: p.logHash, issuedBy: p.issuedBy };
      return JSON.stringify(r, null, 4);
    }),
  'receipt-sig-flip': (d) =>
    edit(d, `${MK}/receipt.json`, (s) => {
      const r = JSON.parse(s);
      r.signature = (r.signature[0] === 'a' ? 'b' : 'a') + r.signature.slice(1);
      return JSON.stringify(r) + '\n';
    }),
  'receipt-signedAt-added': (d) =>
    edit(d, `${MK}/receipt.json`, (s) => JSON.stringify({ ...JSON.parse(s), signedAt: '2026-02-10T00:00:00Z' }) + '\n'),
  'resigned-other-key': (d) => {
    signFolder(d, generateKeyPair('ed25519').privateKey, 'evil', { bundleReceipt: false });
  },
  'standings-edit': (d) =>
    edit(d, 'standings.json', (s) => JSON.stringify(JSON.parse(s).map((r: any) => (r.agentId === 'baseline-1' ? { ...r, points: 7 } : r)))),
  'summary-missing': (d) => fs.rmSync(path.join(d, `${MK}/match_summary.json`)),
  'tournament-manifest-edit': (d) => {
    const s = rd(d, 'tournament_manifest.json').replace(/NumberGuess/g, 'Other');
    wr(d, 'tournament_manifest.json', s);
    wr(d, 'tournament.json', s);
  },
  'tournament-receipt-missing': (d) => fs.rmSync(path.join(d, 'tournament_receipt.json')),
};

/** Strict expectations: exit code, a failing (or warning) check code that must be present, and why. */
const STRICT: Record<string, { exit: number; code: string; warnOnly?: boolean; why: string }> = {
  clean: { exit: 0, code: 'TOURNAMENT_MANIFEST_UNSIGNED', warnOnly: true, why: 'all recomputed; upstream bundles carry no bundle_receipt (warning only)' },
  'alias-mismatch': { exit: 2, code: 'ALIAS_MISMATCH', why: 'tournament.json must be byte-identical to tournament_manifest.json' },
  'extra-match-dir': { exit: 2, code: 'MATCH_UNLISTED', why: 'folder not in tournament manifest; truthBundleHash and matchCount no longer match' },
  'log-byte-flip': { exit: 2, code: 'RECEIPT_MISMATCH', why: 'recomputed logHash differs from the signed receipt/summary/truthBundleHash' },
  'log-crlf': { exit: 2, code: 'RECEIPT_MISMATCH', why: 'logHash is over raw bytes; CRLF changes it' },
  'log-no-final-newline': { exit: 2, code: 'RECEIPT_MISMATCH', why: 'logHash is over raw bytes; the missing LF changes it' },
  'manifest-add-createdAt': { exit: 0, code: 'UNAUTHENTICATED_FIELD', warnOnly: true, why: 'createdAt is excluded from ManifestCore by definition: content unchanged, field reported as unauthenticated' },
  'manifest-edit-and-summary-rehash': { exit: 2, code: 'RECEIPT_MISMATCH', why: 'recomputed manifestHash differs from the signed receipt payload (summary is never trusted)' },
  'manifest-nested-createdAt': { exit: 2, code: 'RECEIPT_MISMATCH', why: 'nested createdAt is hashed; manifestHash changes' },
  'manifest-pretty': { exit: 0, code: 'NON_CANONICAL', warnOnly: true, why: 'ManifestCore re-canonicalises: same content, reported as non-canonical form' },
  'receipt-extra-payload-field': { exit: 3, code: 'SIGNATURE_INVALID', why: 'extra payload field is part of the signed bytes: signature fails under the pinned key' },
  'receipt-missing': { exit: 2, code: 'SIGNATURE_MISSING', why: 'match receipt absent (SIGNATURE_MISSING) and listed in broadcast_manifest (FILE_MISSING, integrity wins)' },
  'receipt-payload-reordered-pretty': { exit: 0, code: 'NON_CANONICAL', warnOnly: true, why: 'signature is over the canonical payload: valid, reported as non-canonical form' },
  'receipt-sig-flip': { exit: 3, code: 'SIGNATURE_INVALID', why: 'signature does not verify with the pinned key' },
  'receipt-signedAt-added': { exit: 0, code: 'UNSIGNED_FIELD', warnOnly: true, why: 'signedAt is not covered by the signature: reported as unsigned, never relied upon' },
  'resigned-other-key': { exit: 4, code: 'KEY_UNTRUSTED', why: 'receipts signed by a key that is neither pinned nor in the trust store' },
  'standings-edit': { exit: 2, code: 'STANDINGS_MISMATCH', why: 'standings recomputed from the match results differ' },
  'summary-missing': { exit: 2, code: 'FILE_MISSING', why: 'a bundle file (listed in broadcast_manifest) is missing' },
  'tournament-manifest-edit': { exit: 2, code: 'TOURNAMENT_MISMATCH', why: 'tournament manifest scenarioName contradicts the signed match logs (upstream detects nothing)' },
  'tournament-receipt-missing': { exit: 2, code: 'SIGNATURE_MISSING', why: 'tournament receipt absent (SIGNATURE_MISSING) and listed in broadcast_manifest (FILE_MISSING, integrity wins)' },
};

function mutated(name: string): string {
  const d = path.join(tmp, name);
  fs.cpSync(BASE, d, { recursive: true });
  MUTATE[name]!(d);
  return d;
}

test('every matrix case has a mutation and a strict expectation', () => {
  assert.equal(M.cases.length, 20);
  for (const c of M.cases) {
    assert.ok(MUTATE[c.case], `mutation ${c.case}`);
    assert.ok(STRICT[c.case], `strict expectation ${c.case}`);
  }
});

for (const c of M.cases) {
  test(`matrix ${c.case}: compat reproduces upstream; strict exit ${STRICT[c.case]?.exit} (${STRICT[c.case]?.why})`, async () => {
    const d = mutated(c.case);
    // compat: verify-match on the match under test
    assert.equal(compatMatch(new Report('x', 'compat'), path.join(d, MK)), c.verify_match_exit, 'verify-match');
    // compat: verify-tournament
    const vt = await verifyTournamentCompat(d, { mode: 'compat' }, 'verify-tournament');
    assert.equal(vt.exitCode, c.verify_tournament_exit, 'verify-tournament');
    // compat: verify-receipt --pub (exit and exact error list)
    const vr = compatReceiptDir(d, PUB);
    assert.equal(vr.exit, c.verify_receipt_exit, 'verify-receipt');
    assert.deepEqual([...vr.errors].sort(), [...c.verify_receipt_errors].sort(), 'verify-receipt errors');
    const vr2 = await verifyTournamentCompat(d, { mode: 'compat', keys: [PUB] });
    assert.equal(vr2.exitCode, c.verify_receipt_exit, 'evident verify --mode compat --key → verify-receipt verdict');
    // compat: validate-bundle with and without --require-signatures
    assert.equal((await verifyTournamentCompat(d, { mode: 'compat' }, 'validate-bundle')).exitCode, c.validate_bundle_exit, 'validate-bundle');
    assert.equal((await verifyTournamentCompat(d, { mode: 'compat' }, 'validate-bundle-require-signatures')).exitCode, c.validate_bundle_require_signatures_exit, 'validate-bundle --require-signatures');
    // strict
    const s = STRICT[c.case]!;
    const r = await verifyTournamentStrict(d, { mode: 'strict', keys: [PUB] });
    const j = r.toJSON();
    assert.equal(r.exitCode, s.exit, `${c.case}: ${s.why}\n${JSON.stringify(j.checks.filter((x) => !x.ok), null, 1)}`);
    const hit = r.checks.find((x) => !x.ok && x.code === s.code);
    assert.ok(hit, `${c.case}: expected check code ${s.code}`);
    assert.equal(hit.informational === true, s.warnOnly === true);
  });
}

test('strict: embedded publicKey alone (no --key/--trust) is exit 4 KEY_MISSING', async () => {
  const r = await verifyTournamentStrict(BASE, { mode: 'strict' });
  assert.equal(r.exitCode, 4);
  assert.ok(r.checks.some((x) => x.code === 'KEY_MISSING'));
});

test('strict: upstream signed exhibitions and tournament-42 verify with the published keys', async () => {
  for (const e of ['heist-showcase-001', 'm4-gates-2026-02-09-tourA']) {
    const r = await verifyTournamentStrict(path.join(V, 'upstream/exhibitions', e), { mode: 'strict', keys: [path.join(V, 'upstream/keys/exhibitions.pub.pem')] });
    assert.equal(r.exitCode, 0, e);
    // wrong key → 4
    for (const tool of ['verify-tournament', 'verify-receipt', 'validate-bundle-require-signatures'] as const) {
      const c = await verifyTournamentCompat(path.join(V, 'upstream/exhibitions', e), { mode: 'compat', keys: [path.join(V, 'upstream/keys/exhibitions.pub.pem')] }, tool);
      assert.equal(c.exitCode, 0, `${e} ${tool} (upstream: exit 0)`);
    }
    const w = await verifyTournamentStrict(path.join(V, 'upstream/exhibitions', e), { mode: 'strict', keys: [PUB] });
    assert.equal(w.exitCode, 4, e);
  }
  assert.equal((await verifyTournamentStrict(BASE, { mode: 'strict', keys: [PUB] })).exitCode, 0);
  const m7 = await verifyMatchFolderStrict(path.join(V, 'generated/match-7'), { mode: 'strict' });
  assert.equal(m7.exitCode, 0);
  assert.ok(m7.checks.some((x) => x.code === 'UNSIGNED'));
});
