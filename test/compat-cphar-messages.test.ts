/**
 * CPHAR has no upstream code (docs/cphar.md: Evident defines the profile), so compat and strict judge messages by
 * the same rules. #23: a malformed signature encoding breaks a message rule (§1: base64url without padding of 64
 * bytes) and is MESSAGE_INVALID (exit 10), never SIGNATURE_INVALID; so is an oversize message (§1: 16 KiB).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { importPublicKey } from '../src/kernel/keys.ts';
import { parseRfc3339 } from '../src/kernel/time.ts';
import { MAX_MESSAGE_BYTES } from '../src/profiles/cphar/messages.ts';
import { verifyToReport, type VerifyContext } from '../src/profiles/cphar/verify.ts';
import { MemoryNonceStore } from '../src/profiles/cphar/nonces.ts';
import type { SealLookup } from '../src/profiles/cphar/registry.ts';

const repoRoot = path.resolve(import.meta.dirname, '..');
const BIN = path.resolve(repoRoot, 'bin/evident.js');
const vec = JSON.parse(fs.readFileSync(path.resolve(repoRoot, '../shared/vectors/cphar/proposed-profile-vectors.json'), 'utf8'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-cphar-msg-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const valid = vec.cases.find((c: any) => c.id === 'valid');
function ctx(): VerifyContext {
  const m = new Map<string, SealLookup>();
  for (const [id, r] of Object.entries<any>(vec.registry)) {
    m.set(id, { seal_id: id, alg: r.alg, publicKey: importPublicKey(r.public_jwk, 'ed25519'), status: r.status, firmware_measurements: [r.firmware_measurement] });
  }
  return {
    seals: { lookup: (id) => m.get(id) },
    now: parseRfc3339(valid.verifier_now),
    issuedAt: parseRfc3339(valid.challenge_issued_at),
    receivedAt: parseRfc3339(valid.response_received_at),
    expectedDomain: vec.assumptions.expected_domain,
    nonces: new MemoryNonceStore(),
  };
}

const sig: string = valid.attestation.signature;
const std = Buffer.from(sig, 'base64url').toString('base64');
const MALFORMED: Record<string, string> = {
  'padded (=)': std.replace(/\+/g, '-').replace(/\//g, '_'),
  'standard alphabet (+/)': std.replace(/=+$/, ''),
  '63 bytes': Buffer.from(sig, 'base64url').subarray(0, 63).toString('base64url'),
  '65 bytes': Buffer.concat([Buffer.from(sig, 'base64url'), Buffer.from([0])]).toString('base64url'),
  'character outside the alphabet': sig.slice(0, 10) + '!' + sig.slice(11),
  whitespace: sig.slice(0, 10) + ' ' + sig.slice(10),
  empty: '',
};

test('the valid vector verifies in both modes (the baseline the malformed cases differ from)', async () => {
  for (const mode of ['strict', 'compat'] as const) {
    const { report } = await verifyToReport(valid.challenge, valid.attestation, ctx(), mode);
    assert.equal(report.exitCode, 0, JSON.stringify(report.toJSON()));
  }
  assert.ok(std.includes('+') || std.includes('/'), 'the vector signature has +// in standard base64');
});

for (const [name, s] of Object.entries(MALFORMED)) {
  test(`cphar: malformed signature encoding (${name}) is MESSAGE_INVALID, exit 10, in strict and compat`, async () => {
    assert.notEqual(s, sig);
    for (const mode of ['strict', 'compat'] as const) {
      const { report, result } = await verifyToReport(valid.challenge, { ...valid.attestation, signature: s }, ctx(), mode);
      assert.equal(result.reason, 'MESSAGE_INVALID', `${mode}: ${result.reason} ${result.message}`);
      assert.equal(report.exitCode, 10);
      assert.ok(!report.failures.some((f) => f.code === 'SIGNATURE_INVALID'));
    }
  });
}

test('cphar: a well-formed signature that does not verify stays SIGNATURE_INVALID (exit 3)', async () => {
  const b = Buffer.from(sig, 'base64url');
  b[0]! ^= 1;
  const { result, report } = await verifyToReport(valid.challenge, { ...valid.attestation, signature: b.toString('base64url') }, ctx(), 'compat');
  assert.equal(result.reason, 'SIGNATURE_INVALID');
  assert.equal(report.exitCode, 3);
});

test('cphar: oversize messages are MESSAGE_INVALID (library and `seal verify`), exit 10', async () => {
  const big = JSON.stringify(valid.attestation).replace('{', `{"pad":"${'x'.repeat(MAX_MESSAGE_BYTES)}",`);
  assert.ok(Buffer.byteLength(big) > MAX_MESSAGE_BYTES);
  const { result, report } = await verifyToReport(JSON.stringify(valid.challenge), big, ctx(), 'strict');
  assert.equal(result.reason, 'MESSAGE_INVALID');
  assert.equal(report.exitCode, 10);
  fs.writeFileSync(path.join(tmp, 'c.json'), JSON.stringify(valid.challenge));
  fs.writeFileSync(path.join(tmp, 'a.json'), big);
  const db = `sqlite:${path.join(tmp, 'r.db')}`;
  const r = spawnSync(process.execPath, [BIN, 'seal', 'verify', '--db', db, path.join(tmp, 'c.json'), path.join(tmp, 'a.json'), '--json'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 10, r.stdout + r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.exitCode, 10);
  assert.ok(j.checks.some((c: { code: string }) => c.code === 'MESSAGE_INVALID'), r.stdout);
  // the challenge too
  fs.writeFileSync(path.join(tmp, 'big-c.json'), JSON.stringify(valid.challenge).replace('{', `{"pad":"${'y'.repeat(MAX_MESSAGE_BYTES)}",`));
  const r2 = spawnSync(process.execPath, [BIN, 'seal', 'verify', '--db', db, path.join(tmp, 'big-c.json'), path.join(tmp, 'a.json'), '--json'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r2.status, 10);
  assert.ok(JSON.parse(r2.stdout).checks.some((c: { code: string }) => c.code === 'MESSAGE_INVALID'));
});
