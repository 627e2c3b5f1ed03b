/**
 * HarmonyØ4 attestation: upstream attestation_hash vectors (computed and checked, reported unsigned); strict signed
 * nonce-bound attestations (signature, key, freshness, nonce binding, single use) and the in-memory NonceStore.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { nonceStoreFrom, compatAttestation, attestationHash, checkCompatAttestation, signAttestation, verifySignedAttestation, MemoryNonceStore } from '../src/profiles/h4/attest.ts';
import { detectors } from '../src/profiles/h4/detector.ts';
import { bytesInput } from '../src/verify/detect.ts';
import { generateKeyPair, publicKeyPem } from '../src/kernel/keys.ts';
import { referenceEngine } from '../src/profiles/h4/engines.ts';

function repoRoot(): string {
  let d = import.meta.dirname;
  while (!fs.existsSync(path.join(d, 'package.json'))) d = path.dirname(d);
  return d;
}
const V = JSON.parse(fs.readFileSync(path.resolve(repoRoot(), '../shared/vectors', 'h4/generated/h4-vectors.json'), 'utf8'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-h4a-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const codes = (r: { failures: Array<{ code: string }> }) => r.failures.map((f) => f.code);

test('upstream attestation vectors: attest() reproduced, hash checked, always reported unsigned', async () => {
  assert.equal(V.attestations.length, 3);
  for (const v of V.attestations) {
    const a = compatAttestation(v.engine_info, v.time_time * 1000);
    assert.deepEqual(a, v.attestation);
    assert.deepEqual(Object.keys(a), Object.keys(v.attestation));
    assert.equal(attestationHash(a.engine_id, a.fingerprint, a.timestamp_unix), v.attestation.attestation_hash);
    assert.equal(`${a.engine_id}|${a.fingerprint}|${a.timestamp_unix}`, v.message_utf8);
    const c = checkCompatAttestation(v.attestation, 'compat');
    assert.equal(c.exitCode, 0);
    assert.ok(c.checks.some((k) => k.code === 'ATTEST_UNSIGNED'));
    const s = checkCompatAttestation(v.attestation, 'strict');
    assert.equal(s.exitCode, 3);
    assert.deepEqual(codes(s), ['SIGNATURE_MISSING']);
    // upstream's verify_attestation accepts a forged hash/timestamp; we do not
    const forged = { ...v.attestation, timestamp_unix: 1 };
    const f = checkCompatAttestation(forged, 'compat');
    assert.equal(f.exitCode, 2);
    assert.deepEqual(codes(f), ['ATTEST_HASH_MISMATCH']);
    // through the detector (`evident verify att.json`)
    const det = detectors.find((d) => d.format === 'h4.attestation')!;
    const input = bytesInput(Buffer.from(JSON.stringify(v.attestation)));
    assert.ok(det.detect(input));
    assert.equal((await det.verify(input, { mode: 'compat' })).exitCode, 0);
  }
  const missing = checkCompatAttestation({ engine_id: 'x', fingerprint: 'y', timestamp_unix: 1 }, 'compat');
  assert.deepEqual([missing.exitCode, codes(missing)], [10, ['ATTEST_INVALID']]);
  const wrong = checkCompatAttestation(V.attestations[1].attestation, 'compat', { engine_id: 'h4core-geo-v1.2.3', fingerprint: '00'.repeat(32) });
  assert.deepEqual([wrong.exitCode, codes(wrong)], [1, ['ENGINE_MISMATCH']]);
});

test('signed nonce-bound attestation: valid once, replay/stale/future/wrong nonce/tamper/wrong key/no key', async () => {
  const { privateKey, publicKey } = generateKeyPair('ed25519');
  const other = generateKeyPair('ed25519');
  const pub = path.join(tmp, 'pub.pem');
  const otherPub = path.join(tmp, 'other.pem');
  fs.writeFileSync(pub, publicKeyPem(publicKey));
  fs.writeFileSync(otherPub, publicKeyPem(other.publicKey));
  const t0 = new Date('2026-01-01T00:00:00Z');
  const nonce = 'n0nce-0123456789abcdef';
  const att = signAttestation({ info: referenceEngine().info(), nonce, key: privateKey, now: t0, ttlSeconds: 120 });
  assert.equal(att.issued_at, '2026-01-01T00:00:00Z');
  assert.equal(att.expires_at, '2026-01-01T00:02:00Z');
  const store = new MemoryNonceStore();
  const at = new Date(t0.getTime() + 30_000);
  const ok = await verifySignedAttestation(att, { keys: [pub], nonceStore: store, expectedNonce: nonce, now: at });
  assert.equal(ok.exitCode, 0, JSON.stringify(codes(ok)));
  assert.ok(ok.checks.some((c) => c.code === 'ENGINE_UNSEALED' && c.informational));
  const replay = await verifySignedAttestation(att, { keys: [pub], nonceStore: store, expectedNonce: nonce, now: at });
  assert.deepEqual([replay.exitCode, codes(replay)], [1, ['NONCE_REPLAYED']]);
  const cases: Array<[string, unknown, Partial<Parameters<typeof verifySignedAttestation>[1]>, number, string[]]> = [
    ['stale', att, { now: new Date(t0.getTime() + 121_000) }, 1, ['ATTEST_STALE']],
    ['future', att, { now: new Date(t0.getTime() - 3_600_000) }, 1, ['ATTEST_NOT_YET_VALID']],
    ['wrong nonce', att, { expectedNonce: 'another-nonce-0123456' }, 1, ['NONCE_MISMATCH']],
    ['tampered engine', { ...att, engine_id: 'evil' }, {}, 3, ['SIGNATURE_INVALID']],
    ['tampered nonce', { ...att, nonce: 'n0nce-0123456789abcdeX' }, { expectedNonce: undefined }, 3, ['SIGNATURE_INVALID']],
    ['wrong key', att, { keys: [otherPub] }, 3, ['SIGNATURE_INVALID']],
    ['no key', att, { keys: [] }, 4, ['KEY_MISSING']],
    ['unknown member', { ...att, extra: 1 }, {}, 10, ['ATTEST_INVALID']],
    ['bad time', { ...att, issued_at: 'yesterday' }, {}, 10, ['ATTEST_INVALID']],
    ['expected engine differs', att, { expect: { engine_id: 'h4core', fingerprint: 'ab'.repeat(32) } }, 1, ['ENGINE_MISMATCH']],
  ];
  for (const [name, a, o, exit, want] of cases) {
    const r = await verifySignedAttestation(a, { keys: [pub], nonceStore: new MemoryNonceStore(), expectedNonce: nonce, now: at, ...o });
    assert.deepEqual([r.exitCode, codes(r)], [exit, want], name);
  }
  // a rejected attestation does not burn the nonce
  const fresh = new MemoryNonceStore();
  await verifySignedAttestation({ ...att, engine_id: 'evil' }, { keys: [pub], nonceStore: fresh, now: at });
  assert.equal(fresh.size, 0);
  assert.throws(() => signAttestation({ info: referenceEngine().info(), nonce: 'short', key: privateKey }), { code: 'NONCE_INVALID' });
  assert.throws(() => signAttestation({ info: referenceEngine().info(), nonce, key: privateKey, ttlSeconds: 99999 }), { code: 'INPUT_INVALID' });
  assert.throws(() => signAttestation({ info: referenceEngine().info(), nonce, key: generateKeyPair('es256').privateKey }), { code: 'KEY_UNSUPPORTED' });
  process.stdout.write(`# h4 signed attestation cases: ${cases.length + 2}\n`);
});

test('MemoryNonceStore: single use until expiry, bounded', async () => {
  let now = 1000;
  const s = new MemoryNonceStore(2, () => now);
  assert.equal(await s.consume('a', new Date(2000)), true);
  assert.equal(await s.consume('a', new Date(2000)), false);
  assert.equal(await s.consume('b', new Date(5000)), true);
  await assert.rejects(s.consume('c', new Date(5000)), { code: 'NONCE_STORE_FULL' });
  now = 2500; // 'a' expired → pruned, reusable
  assert.equal(await s.consume('c', new Date(5000)), true);
  assert.equal(await s.consume('b', new Date(5000)), false);
});

test('nonceStoreFrom adapts a CPHAR-style store (namespaced, single use)', async () => {
  const seen = new Map<string, number>();
  const calls: Array<[string, number, number | undefined]> = [];
  const cpharLike = {
    async consume(nonce: string, now: number, opts?: { ttlMs?: number }) {
      calls.push([nonce, now, opts?.ttlMs]);
      if (seen.has(nonce)) return { status: 'REPLAY' };
      seen.set(nonce, now);
      return { status: 'OK' };
    },
  };
  const s = nonceStoreFrom(cpharLike, () => 10_000);
  assert.equal(await s.consume('abc', new Date(70_000)), true);
  assert.equal(await s.consume('abc', new Date(70_000)), false);
  assert.deepEqual(calls[0], ['h4-attest:abc', 10_000, 60_000]);
});
