/** HashMatch compat formats reproduced byte-for-byte against vectors/hashmatch/generated/unit-vectors.json. */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { stableStringify, stableJsonl } from '../src/profiles/hashmatch/stable.ts';
import {
  manifestCoreHash,
  truthBundleHashLogs,
  truthBundleHashBroadcast,
  contentHashFromFileHashes,
  scenarioParamsContentHash,
  logHash,
} from '../src/profiles/hashmatch/hashes.ts';
import { deriveMatchSeed, fnv1a32Utf8, matchIdFromSeed, mulberry32, matchIdFromRng, deriveSeed } from '../src/profiles/hashmatch/seeds.ts';
import { signReceipt, signingInput, receiptFileText, verifyReceiptWith, embeddedKey, spkiHex } from '../src/profiles/hashmatch/receipt.ts';
import { importPrivateKey, ed25519PrivateKeyFromSeed, publicKeyPem } from '../src/kernel/keys.ts';
import { loadPrivateKey, loadPublicKey } from '../src/store/keyfiles.ts';

const repoRoot = path.resolve(import.meta.dirname, '..');
const V = path.join(path.resolve(repoRoot, '../shared/vectors'), 'hashmatch');
const U = JSON.parse(fs.readFileSync(path.join(V, 'generated/unit-vectors.json'), 'utf8'));
const note = (name: string, n: number) => process.stdout.write(`# ${name}: ${n} cases asserted\n`);

test('stableStringify: every case (outputs and throws with upstream messages)', () => {
  const thrown: Record<string, unknown> = { '{a: undefined}': { a: undefined }, '{a: NaN}': { a: NaN }, '{d: new Date(0)}': { d: new Date(0) } };
  let n = 0;
  for (const c of U.stableStringify) {
    if ('throws' in c) {
      assert.ok(c.input_js in thrown, c.label);
      assert.throws(() => stableStringify(thrown[c.input_js]), (e: Error & { code?: string }) => e.message === c.throws && e.code === 'JSON_NOT_CANONICALIZABLE', c.label);
    } else assert.equal(stableStringify(c.input_js), c.output, c.label);
    n++;
  }
  assert.equal(n, U.stableStringify.length);
  assert.equal(stableJsonl(U.toStableJsonl.input), U.toStableJsonl.output);
  assert.equal(stableJsonl([]), '\n');
  note('stableStringify', n + 1);
});

test('ManifestCore hash: top-level createdAt excluded, nested hashed', () => {
  for (const c of U.manifestCore) {
    if (c.canonical_bytes_utf8) assert.equal(stableStringify(c.manifest) + '\n', c.canonical_bytes_utf8);
    assert.equal(manifestCoreHash(c.manifest), c.manifestHash, c.label);
  }
  assert.equal(U.manifestCore[0].manifestHash, U.manifestCore[1].manifestHash);
  assert.notEqual(U.manifestCore[0].manifestHash, U.manifestCore[2].manifestHash);
  note('manifestCore', U.manifestCore.length);
});

test('truthBundleHash: both formulas', () => {
  const t = U.truthBundleHash_tournamentManifest;
  assert.equal([...t.logHashes].sort().join(''), t.concatenated);
  assert.equal(truthBundleHashLogs(t.logHashes), t.truthBundleHash);
  const b = U.truthBundleHash_broadcastManifest;
  assert.equal(stableStringify(b.fileHashes) + '\n', b.serialized);
  assert.equal(truthBundleHashBroadcast(b.fileHashes), b.truthBundleHash);
});

test('contentHash: directory map form, scenario params form, single-file form', () => {
  const a = U.artifactContentHash;
  assert.equal(stableStringify(a.fileHashes) + '\n', a.serialized);
  assert.equal(contentHashFromFileHashes(a.fileHashes), a.contentHash);
  const s = U.scenarioContentHash;
  assert.equal(stableStringify(s.params), s.serialized);
  assert.equal(scenarioParamsContentHash(s.params), s.contentHash);
  // single-file form = plain SHA-256 of the bytes (the source file itself is not vendored): check on match-7's log
  const log = fs.readFileSync(path.join(V, 'generated/match-7/match.jsonl'));
  const sum = JSON.parse(fs.readFileSync(path.join(V, 'generated/match-7/match_summary.json'), 'utf8'));
  assert.equal(logHash(log), sum.hashes.logHash);
  assert.match(U.builtinAgentContentHash.random, /^sha256:[0-9a-f]{64}$/);
});

test('deriveMatchSeed (FNV-1a over UTF-16 units) and matchId (mulberry32)', () => {
  let n = 0;
  for (const c of U.deriveMatchSeed) {
    assert.equal(`${String(c.tournamentSeed)}:${c.matchKey}`, c.input_string);
    assert.equal(deriveMatchSeed(c.tournamentSeed, c.matchKey), c.seed, c.input_string);
    assert.equal(fnv1a32Utf8(c.input_string), c.fnv1a32_over_utf8_bytes_for_comparison, c.input_string);
    assert.equal(matchIdFromSeed(c.seed), c.matchId, c.input_string);
    n++;
  }
  const m = U.mulberry32;
  const rng = mulberry32(m.seed);
  assert.deepEqual([rng(), rng(), rng(), rng(), rng()], m.first5);
  const r2 = mulberry32(m.seed);
  assert.equal(matchIdFromRng(r2), m.matchId);
  assert.deepEqual([deriveSeed(r2), deriveSeed(r2)], m.then_agentSeeds_in_seat_order);
  assert.equal(deriveSeed(r2), m.then_scenarioSeed);
  note('deriveMatchSeed', n);
});

test('receipts: the three cases byte-for-byte with the TEST-ONLY key (PEM and RFC 8032 seed)', () => {
  const R = U.receipts;
  const fromPem = importPrivateKey(R.TEST_ONLY_private_key_pem_pkcs8);
  const fromSeed = ed25519PrivateKeyFromSeed(new Uint8Array(Buffer.from(R.rfc8032_test1_secret_seed_hex, 'hex')));
  const fromFile = loadPrivateKey(path.join(V, 'generated/keys/organizer.key'));
  assert.equal(publicKeyPem(fromPem), R.public_key_pem_spki);
  const pub = loadPublicKey(path.join(V, 'generated/keys/organizer.pub'));
  let n = 0;
  for (const c of R.cases) {
    assert.equal(Buffer.from(signingInput(c.payload)).toString('utf8'), c.signing_input_utf8, c.label);
    for (const k of [fromPem, fromSeed, fromFile]) {
      const r = signReceipt(c.payload, k);
      assert.equal(r.signature, c.receipt.signature, c.label);
      assert.equal(r.publicKey, c.receipt.publicKey, c.label);
      assert.equal(receiptFileText(r), c.receipt_file_bytes, c.label);
    }
    assert.equal(verifyReceiptWith(c.receipt, pub), c.verifies);
    assert.equal(spkiHex(embeddedKey(c.receipt)!), c.receipt.publicKey);
    n++;
  }
  assert.equal(n, 3);
  note('receipts', n);
});
