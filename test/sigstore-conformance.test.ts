/**
 * Issue #21: the 70 sigstore-conformance bundle-verify cases through the CLI (`node bin/evident.js verify BUNDLE
 * --artifact … --trusted-root … (--key … | --certificate-identity … --certificate-oidc-issuer …) --json`), with the
 * inputs the suite's runner gives each case (test/sigstore-cases.ts). Every `_fail` case must exit non-zero — with
 * the exit code and failure code listed below, so a case cannot pass for an unrelated reason — and every other case
 * must exit 0. Then the policy options and trust rules in-process through verifyAny.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { bytesInput, verifyAny, type VerifyOptions } from '../src/verify/detect.ts';
import { conformanceCases, CASES_DIR, DEFAULT_IDENTITY, DEFAULT_ISSUER, PUBLIC_GOOD_ROOT, type ConformanceCase } from './sigstore-cases.ts';
import { pool } from './pool.ts';

const BIN = path.resolve(import.meta.dirname, '../bin/evident.js');
const CASES = conformanceCases();

/** Exit code and the failure code that decides it, for every case that must fail. */
const EXPECTED_FAILURES: Record<string, [number, string]> = {
  'bundle-empty-certificate-chain_fail': [10, 'BUNDLE_INVALID'],
  'bundle-from-wrong-instance_fail': [4, 'CERT_CHAIN_UNTRUSTED'],
  'bundle-invalid-base64-signature_fail': [10, 'BUNDLE_BASE64_INVALID'],
  'bundle-malformed-json_fail': [10, 'JSON_SYNTAX'],
  'bundle-negative-log-index_fail': [10, 'BUNDLE_INVALID'],
  'bundle-unknown-version_fail': [10, 'BUNDLE_VERSION_UNSUPPORTED'],
  'bundle-with-root-cert_fail': [10, 'BUNDLE_CHAIN_HAS_ROOT'],
  'checkpoint-bad-keyhint_fail': [4, 'CHECKPOINT_UNTRUSTED'],
  'checkpoint-wrong-roothash_fail': [2, 'INCLUSION_PROOF_INVALID'],
  'dsse-invalid-sig_fail': [2, 'TLOG_BODY_MISMATCH'],
  'dsse-mismatch-envelope_fail': [2, 'TLOG_BODY_MISMATCH'],
  'dsse-mismatch-sig_fail': [2, 'TLOG_BODY_MISMATCH'],
  'inclusion-proof-corrupted-hash_fail': [2, 'INCLUSION_PROOF_INVALID'],
  'incorrect-public-key_fail': [2, 'TLOG_BODY_MISMATCH'],
  'integrated-time-in-future_fail': [1, 'CERT_OUTSIDE_VALIDITY'],
  'intoto-expired-certificate_fail': [1, 'CERT_OUTSIDE_VALIDITY'],
  'intoto-log-entry-mismatch_fail': [2, 'TLOG_BODY_MISMATCH'],
  'intoto-missing-inclusion-proof_fail': [10, 'BUNDLE_INVALID'],
  'intoto-set-outside-signing-cert-validity_fail': [1, 'CERT_OUTSIDE_VALIDITY'],
  'intoto-tsa-timestamp-outside-cert-validity_fail': [1, 'CERT_OUTSIDE_VALIDITY'],
  'invalid-checkpoint-signature_fail': [3, 'CHECKPOINT_SIGNATURE_INVALID'],
  'invalid-ct-key_fail': [4, 'SCT_INVALID'],
  'invalid-inclusion-proof_fail': [10, 'BUNDLE_INVALID'],
  'managed-key-no-key_fail': [4, 'KEY_MISSING'],
  'managed-key-wrong-key_fail': [4, 'KEY_INVALID'],
  'message-digest-mismatch_fail': [2, 'ARTIFACT_DIGEST_MISMATCH'],
  'rekor2-checkpoint-missing-log-signature_fail': [2, 'CHECKPOINT_INVALID'],
  'rekor2-checkpoint-missing-origin_fail': [2, 'CHECKPOINT_INVALID'],
  'rekor2-checkpoint-missing-root-hash_fail': [2, 'CHECKPOINT_INVALID'],
  'rekor2-checkpoint-missing-size_fail': [2, 'CHECKPOINT_INVALID'],
  'rekor2-checkpoint-no-matching-signature_fail': [4, 'CHECKPOINT_UNTRUSTED'],
  'rekor2-dsse-invalid-sig_fail': [2, 'TLOG_BODY_MISMATCH'],
  'rekor2-dsse-mismatch-envelope_fail': [2, 'TLOG_BODY_MISMATCH'],
  'rekor2-dsse-mismatch-sig_fail': [2, 'TLOG_BODY_MISMATCH'],
  'rekor2-no-inclusion-proof_fail': [10, 'BUNDLE_INVALID'],
  'rekor2-no-timestamp_fail': [1, 'TIMESTAMP_MISSING'],
  'rekor2-timestamp-outside-trust-root-tsa-validity_fail': [1, 'TSA_OUTSIDE_VALIDITY'],
  'rekor2-timestamp-outside-tsa-cert-validity_fail': [1, 'TSA_CERT_OUTSIDE_VALIDITY'],
  'rekor2-timestamp-payload-mismatch_fail': [2, 'TIMESTAMP_MESSAGE_MISMATCH'],
  'rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail': [4, 'TSA_UNTRUSTED'],
  'rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail': [4, 'TSA_UNTRUSTED'],
  'rekor2-timestamp-with-incorrect-time_fail': [1, 'CERT_OUTSIDE_VALIDITY'],
  'set-invalid-signature_fail': [3, 'SET_INVALID'],
  'signature-mismatch_fail': [2, 'TLOG_BODY_MISMATCH'],
  'trust-root-tlog-missing-validity-start_fail': [4, 'TRUST_ROOT_INVALID'],
  'wrong-hashedrekord-artifact_fail': [2, 'TLOG_BODY_MISMATCH'],
  'wrong-hashedrekord-cert-and-sig_fail': [2, 'TLOG_BODY_MISMATCH'],
  'wrong-hashedrekord-entry_fail': [2, 'TLOG_BODY_MISMATCH'],
  'wrong-material_fail': [2, 'ARTIFACT_DIGEST_MISMATCH'],
};

interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'verify', ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

test('the suite has the 70 cases the issue names, and every _fail case has an expected failure', () => {
  assert.equal(CASES.length, 70);
  const failing = CASES.filter((c) => c.shouldFail).map((c) => c.name);
  assert.deepEqual(failing.sort(), Object.keys(EXPECTED_FAILURES).sort());
});

test('sigstore-conformance bundle-verify: all 70 cases through `evident verify` (CLI)', { timeout: 600_000 }, async () => {
  const results = await pool(CASES, 3, async (c) => ({ c, r: await runCli(c.args) }));
  const wrong: string[] = [];
  for (const { c, r } of results) {
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1, `${c.name}: --json prints exactly one object\n${r.stdout}${r.stderr}`);
    const rep = JSON.parse(lines[0]!) as { exitCode: number; format: string; valid: boolean; checks: Array<{ ok: boolean; code: string }> };
    assert.equal(rep.exitCode, r.status, `${c.name}: report exit code = process exit code`);
    if (!c.name.includes('malformed-json')) assert.equal(rep.format, 'sigstore.bundle', c.name);
    const codes = rep.checks.filter((x) => !x.ok).map((x) => x.code);
    if (!c.shouldFail) {
      if (r.status !== 0) wrong.push(`${c.name}: expected exit 0, got ${r.status} ${codes.join(' ')}`);
      continue;
    }
    const [exit, code] = EXPECTED_FAILURES[c.name]!;
    if (r.status !== exit || !codes.includes(code)) wrong.push(`${c.name}: expected exit ${exit} with ${code}, got ${r.status} ${codes.join(' ')}`);
  }
  assert.deepEqual(wrong, []);
});

const byName = (n: string): ConformanceCase => CASES.find((c) => c.name === n)!;
async function run(c: ConformanceCase, over: Partial<VerifyOptions> = {}) {
  const r = await verifyAny(bytesInput(c.bundle), { mode: 'strict', ...c.options, ...over });
  return { code: r.exitCode, failed: r.failures.map((f) => f.code), report: r };
}

test('identity policy: exact, regexp, issuer; a certificate bundle without a policy fails (exit 1)', async () => {
  const c = byName('happy-path-v0.3');
  assert.equal((await run(c)).code, 0);
  assert.deepEqual((await run(c, { certificateIdentity: DEFAULT_IDENTITY + 'x' })).failed, ['IDENTITY_MISMATCH']);
  assert.equal((await run(c, { certificateIdentity: undefined, certificateIdentityRegexp: '^https://github\\.com/sigstore-conformance/' })).code, 0);
  assert.deepEqual((await run(c, { certificateIdentity: undefined, certificateIdentityRegexp: '^https://gitlab\\.com/' })).failed, ['IDENTITY_MISMATCH']);
  assert.deepEqual((await run(c, { certificateOidcIssuer: 'https://accounts.google.com' })).failed, ['ISSUER_MISMATCH']);
  assert.equal((await run(c, { certificateOidcIssuer: DEFAULT_ISSUER + '/' })).code, 1);
  const none = await run(c, { certificateIdentity: undefined, certificateOidcIssuer: undefined });
  assert.deepEqual([none.code, none.failed], [1, ['IDENTITY_POLICY_MISSING']]);
  assert.equal((await run(c, { certificateIdentity: undefined, certificateIdentityRegexp: '(' })).code, 10);
});

test('trust comes only from --trusted-root / --key: none → exit 4; a root is never taken from the bundle', async () => {
  const c = byName('happy-path-v0.3');
  const none = await run(c, { trustedRoot: undefined });
  assert.deepEqual([none.code, none.failed], [4, ['TRUST_ROOT_MISSING']]);
  // a root of another instance: the bundle's own certificate is not trusted
  const other = await run(c, { trustedRoot: byName('rekor2-happy-path').trustedRootPath });
  assert.equal(other.code, 4);
  assert.ok(other.failed.includes('CERT_CHAIN_UNTRUSTED'), other.failed.join(' '));
  const unreadable = await run(c, { trustedRoot: path.join(CASES_DIR, 'no-such-root.json') });
  assert.deepEqual([unreadable.code, unreadable.failed], [4, ['TRUST_ROOT_UNREADABLE']]);
  const notRoot = await run(c, { trustedRoot: c.bundlePath });
  assert.deepEqual([notRoot.code, notRoot.failed], [4, ['TRUST_ROOT_INVALID']]);
  // managed key: --key alone verifies the signature; the tlog entries are then reported as not verified
  const mk = byName('managed-key-happy-path');
  const keyOnly = await run(mk, { trustedRoot: undefined });
  assert.equal(keyOnly.code, 0);
  assert.ok(keyOnly.report.checks.some((x) => x.code === 'TLOG_NOT_VERIFIED'));
  assert.equal((await run(mk, { keys: [byName('managed-key-wrong-key_fail').dir + '/key.pub'] })).code, 4);
  // a valid key that is not the signer's
  const other2 = await run(mk, { keys: [path.join(import.meta.dirname, '../../shared/vectors/hashmatch/generated/keys/organizer.pub')] });
  assert.deepEqual([other2.code, other2.failed.includes('SIGNATURE_INVALID')], [3, true]);
});

test('artifacts: a message signature needs its blob; DSSE subjects are matched when files are given', async () => {
  const c = byName('happy-path-v0.2');
  const missing = await run(c, { artifacts: undefined });
  assert.deepEqual([missing.code, missing.failed], [10, ['ARTIFACT_MISSING']]);
  const d = byName('happy-path-intoto-in-dsse-v3');
  const noFile = await run(d, { artifacts: undefined });
  assert.equal(noFile.code, 0);
  assert.ok(noFile.report.checks.some((x) => x.code === 'ARTIFACT_NOT_CHECKED'));
  const wrongFile = await run(d, { artifacts: [{ name: 'x', bytes: Buffer.from('not the subject') }] });
  assert.deepEqual([wrongFile.code, wrongFile.failed], [2, ['ARTIFACT_MISMATCH']]);
  // a flipped artifact byte is caught before anything else is trusted
  const bytes = Buffer.from(fs.readFileSync(c.artifactPath));
  bytes[0]! ^= 1;
  const flipped = await run(c, { artifacts: [{ name: 'a.txt', bytes }] });
  assert.equal(flipped.code, 2);
});

test('the public-good root validates and a v0.1 bundle reports one check per Sigstore step', async () => {
  const r = (await run(byName('happy-path-v0.1'), { trustedRoot: PUBLIC_GOOD_ROOT })).report;
  assert.equal(r.exitCode, 0);
  const ids = r.checks.map((x) => x.id);
  for (const id of ['bundle', 'trust.root', 'artifact.digest', 'tlog[0].set', 'cert.chain', 'cert.sct', 'identity', 'identity.issuer', 'signature', 'tlog[0].body', 'tlog[0].checkpoint', 'tlog[0].inclusion', 'tlog']) {
    assert.ok(ids.includes(id), `missing check ${id}: ${ids.join(' ')}`);
  }
});
