/** CPHAR proposed-profile vectors (../shared/vectors/cphar): 1 valid + 11 negative cases, byte-exact intermediates. */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { sign } from '../src/kernel/sign.ts';
import { ed25519PrivateKeyFromSeed, importPublicKey, rawPublicKey, generateKeyPair } from '../src/kernel/keys.ts';
import { toBase64Url, utf8 } from '../src/kernel/encoding.ts';
import {
  attestationSignedBytes,
  challengeBytes,
  challengeHash,
  makeChallenge,
  parseAttestation,
  parseChallenge,
  signAttestation,
  verifyAttestationSignature,
} from '../src/profiles/cphar/messages.ts';
import { parseRfc3339 } from '../src/kernel/time.ts';
import { verifyAttestation, verifyToReport, vectorReason, REASON_CATEGORY, type VerifyContext } from '../src/profiles/cphar/verify.ts';
import { mutator, xorshift } from './fuzz-mutate.ts';
import { MemoryNonceStore } from '../src/profiles/cphar/nonces.ts';
import type { SealLookup, SealResolver } from '../src/profiles/cphar/registry.ts';

const repoRoot = path.resolve(import.meta.dirname, '..');
const V = path.resolve(repoRoot, '../shared/vectors/cphar');
const vec = JSON.parse(fs.readFileSync(path.join(V, 'proposed-profile-vectors.json'), 'utf8'));
const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

const key1 = ed25519PrivateKeyFromSeed(hex(vec.test_keys.seal_key_1_seed_hex));
const key2 = ed25519PrivateKeyFromSeed(hex(vec.test_keys.seal_key_2_seed_hex));

/** The verifier context a vector case describes: its registry, clock and a fresh nonce store. */
function vectorContext(k: any): VerifyContext {
  return {
    seals: resolver(),
    now: parseRfc3339(k.verifier_now),
    issuedAt: parseRfc3339(k.challenge_issued_at),
    receivedAt: parseRfc3339(k.response_received_at),
    expectedDomain: vec.assumptions.expected_domain,
    nonces: new MemoryNonceStore(),
  };
}

function resolver(): SealResolver {
  const m = new Map<string, SealLookup>();
  for (const [id, r] of Object.entries<any>(vec.registry)) {
    m.set(id, { seal_id: id, alg: r.alg, publicKey: importPublicKey(r.public_jwk, 'ed25519'), status: r.status, firmware_measurements: [r.firmware_measurement] });
  }
  return { lookup: (id) => m.get(id) };
}

test('test keys derive the published public keys', () => {
  assert.equal(toBase64Url(rawPublicKey(key1)), vec.test_keys.seal_key_1_public_b64url);
  assert.equal(toBase64Url(rawPublicKey(key2)), vec.test_keys.seal_key_2_public_b64url);
});

test('valid case intermediates are byte-exact', () => {
  const c = parseChallenge(vec.cases[0].challenge);
  const a = parseAttestation(vec.cases[0].attestation);
  assert.equal(Buffer.from(challengeBytes(c)).toString('utf8'), vec.valid_case_intermediates.challenge_c14n_utf8);
  assert.equal(Buffer.from(attestationSignedBytes(a)).toString('utf8'), vec.valid_case_intermediates.attestation_signed_bytes_utf8);
  assert.equal(challengeHash(c), a.challenge_hash);
  // the seal side reproduces the attestation exactly (Ed25519 is deterministic)
  assert.deepEqual(signAttestation(c, key1, a.firmware_measurement), vec.cases[0].attestation);
});

test('every vector signature is reproduced by signing the profile bytes (except the tampered one)', () => {
  let reproduced = 0;
  for (const k of vec.cases) {
    const a = parseAttestation(k.attestation);
    const bytes = attestationSignedBytes(a);
    const s1 = toBase64Url(sign(key1, bytes));
    const s2 = toBase64Url(sign(key2, bytes));
    if (k.id === 'signature-invalid') {
      assert.ok(a.signature !== s1 && a.signature !== s2);
      continue;
    }
    assert.ok(a.signature === s1 || a.signature === s2, `${k.id}: signature reproduced`);
    reproduced++;
  }
  assert.equal(reproduced, 11);
});

test('1 valid + 11 negative cases give the expected reason', async () => {
  assert.equal(vec.cases.length, 12);
  let valid = 0;
  let negative = 0;
  for (const k of vec.cases) {
    const ctx = vectorContext(k);
    const r = await verifyAttestation(parseChallenge(k.challenge), parseAttestation(k.attestation), ctx);
    if (k.expect.ok) {
      assert.equal(r.ok, true, `${k.id}: ${r.reason} ${r.message}`);
      valid++;
    } else {
      assert.equal(r.ok, false, k.id);
      assert.equal(vectorReason(r.reason!), k.expect.reason, `${k.id}: got ${r.reason}`);
      negative++;
    }
    // the same through the Report model: exit code from the reason's category
    const { report } = await verifyToReport(k.challenge, k.attestation, { ...ctx, nonces: new MemoryNonceStore() });
    const exits = { input: 10, integrity: 2, key: 4, signature: 3, policy: 1 } as const;
    assert.equal(report.exitCode, k.expect.ok ? 0 : exits[REASON_CATEGORY[r.reason!]], k.id);
  }
  assert.equal(valid, 1);
  assert.equal(negative, 11);
  process.stdout.write(`# cphar vectors: ${valid} valid + ${negative} negative cases asserted\n`);
});

test('revoked vector seal reports the specific SEAL_REVOKED code (exit 4)', async () => {
  const k = vec.cases.find((c: any) => c.id === 'revoked-seal');
  const { report, result } = await verifyToReport(k.challenge, k.attestation, { seals: resolver(), now: parseRfc3339(k.verifier_now) });
  assert.equal(result.reason, 'SEAL_REVOKED');
  assert.equal(report.exitCode, 4);
});

test('ES256 seals: sign/verify round trip, P1363 64-byte signature, tamper detected', async () => {
  const { privateKey, publicKey } = generateKeyPair('es256');
  const fw = 'sha256:' + 'ab'.repeat(32);
  const c = makeChallenge('seal_ES256TEST', { now: Date.parse('2026-05-16T12:00:00Z') });
  const a = signAttestation(c, privateKey, fw);
  assert.equal(Buffer.from(a.signature, 'base64url').length, 64);
  assert.ok(!a.signature.includes('='));
  assert.ok(verifyAttestationSignature(a, publicKey, 'ES256'));
  assert.ok(!verifyAttestationSignature({ ...a, firmware_measurement: 'sha256:' + 'cd'.repeat(32) }, publicKey, 'ES256'), 'firmware is signed');
  assert.ok(!verifyAttestationSignature(a, publicKey, 'Ed25519'));
  const seals: SealResolver = { lookup: (id) => (id === 'seal_ES256TEST' ? { seal_id: id, alg: 'ES256', publicKey, status: 'Sealed', firmware_measurements: [fw] } : undefined) };
  const r = await verifyAttestation(c, a, { seals, now: Date.parse('2026-05-16T12:00:01Z') });
  assert.equal(r.ok, true, r.message);
});

test('malformed messages are MESSAGE_INVALID (exit 10), never a crash', async () => {
  const k = vec.cases[0];
  const bad: unknown[] = [
    '{',
    '{"type":"cphar.seal.challenge","type":"x"}',
    { ...k.challenge, extra: 'x' },
    { ...k.challenge, nonce: 'AAAA' },
    { ...k.challenge, nonce: 'nj8VYyTULw6ktvT86B1W-9ZKIUOj_dYKEw2ckOW01og=' },
    { ...k.challenge, timestamp: '2026-05-16 12:00:00' },
    { ...k.challenge, timestamp: '2026-02-30T12:00:00Z' }, // no such day (Date.parse alone reads it as March 2)
    { ...k.challenge, timestamp: '2026-05-16T12:00:00' }, // no offset
    { ...k.challenge, version: '0.2' },
    { ...k.challenge, seal_id: 7 },
    [],
    null,
  ];
  for (const b of bad) {
    const { report, result } = await verifyToReport(b, k.attestation, { seals: resolver() });
    assert.equal(result.reason, 'MESSAGE_INVALID', JSON.stringify(b));
    assert.equal(report.exitCode, 10);
  }
  const badAtt: unknown[] = [{ ...k.attestation, challenge_hash: 'sha256:XY' }, { ...k.attestation, signature: undefined }, utf8('[1]')];
  for (const b of badAtt) {
    const { report } = await verifyToReport(k.challenge, b, { seals: resolver() });
    assert.equal(report.exitCode, 10);
  }
});

test('freshness boundaries are inclusive and the skew allowance is 5 s by default', async () => {
  const k = vec.cases[0];
  const c = parseChallenge(k.challenge);
  const a = parseAttestation(k.attestation);
  const ts = parseRfc3339(c.timestamp);
  const run = (o: { now: number; issuedAt?: number; receivedAt?: number; windows?: any }) => verifyAttestation(c, a, { seals: resolver(), ...o });
  assert.equal((await run({ now: ts + 60_000, receivedAt: ts + 1000 })).ok, true, 'exactly 60 s old passes');
  assert.equal((await run({ now: ts + 60_001, receivedAt: ts + 1000 })).reason, 'STALE');
  assert.equal((await run({ now: ts - 5_000 })).ok, true, 'exactly 5 s in the future passes');
  assert.equal((await run({ now: ts - 5_001 })).reason, 'TIMESTAMP_IN_FUTURE');
  assert.equal((await run({ now: ts - 5_001, windows: { clockSkewMs: 10_000 } })).ok, true, 'skew configurable');
  assert.equal((await run({ now: ts + 30_000, issuedAt: ts, receivedAt: ts + 30_000 })).ok, true, 'exactly 30 s response passes');
  assert.equal((await run({ now: ts + 30_001, issuedAt: ts, receivedAt: ts + 30_001 })).reason, 'RESPONSE_TOO_SLOW');
  assert.equal((await run({ now: ts + 40_000, issuedAt: ts, receivedAt: ts + 40_000, windows: { maxResponseMs: 45_000 } })).ok, true);
});

test('mutated challenge/attestation bytes: always a report with a contract exit code, and accepted only when they mean the valid case', async () => {
  // the fuzz of `verifyAny` cannot reach attestations (they need a challenge and a registry), so they are fuzzed here
  const k = vec.cases.find((c: any) => c.expect.ok);
  const seeds: Buffer[] = [Buffer.from(JSON.stringify(k.challenge)), Buffer.from(JSON.stringify(k.attestation))];
  const want = [parseChallenge(k.challenge), parseAttestation(k.attestation)];
  const JUNK = ['null', '0', '1e999', '"\\ud800"', '[]', '{}', '"' + 'A'.repeat(300) + '"', '"sha256:' + 'a'.repeat(64) + '"', '{"__proto__":1}', '"seal_X"'];
  const rand = xorshift(0x2545f491);
  const mutate = mutator(rand, JUNK);
  const runs = Number(process.env.FUZZ_RUNS ?? 4000);
  let accepted = 0;
  for (let i = 0; i < runs; i++) {
    const which = rand(2);
    const input: Buffer[] = [seeds[0]!, seeds[1]!];
    input[which] = mutate(input[which]!);
    const ctx = vectorContext(k);
    const mode = rand(2) ? 'strict' : 'compat';
    const { report, result } = await verifyToReport(input[0], input[1], ctx, mode);
    const exit = report.exitCode;
    assert.ok([0, 1, 2, 3, 4, 10].includes(exit), `run ${i}: exit ${exit}`);
    assert.equal(report.valid, exit === 0, `run ${i}`);
    JSON.stringify(report.toJSON());
    if (result.ok) {
      accepted++;
      if (process.env.FUZZ_SHOW) process.stdout.write(`# accepted (${mode}): ${input[which]!.toString('latin1')}\n`);
      // accepted bytes must carry exactly the valid case's members (a formatting-only change at most)
      assert.deepEqual([parseChallenge(input[0]), parseAttestation(input[1])], want, `run ${i}: accepted a changed message: ${input[which]!.toString('latin1')}`);
    }
  }
  assert.ok(accepted < runs / 2, 'most mutations are refused');
  process.stdout.write(`# cphar fuzz: ${runs} mutations, ${accepted} accepted, each one with the meaning unchanged (a no-op mutation)\n`);
});
