/**
 * Issue #20 items 5 and 6: verifiers never answer exit 0 for what they did not check (spawns bin/evident.js).
 *  - a tlog-proof without its entry bytes needs --entry FILE or --leaf-hash HEX (else exit 10, ENTRY_MISSING), even
 *    with an intact path; a corrupted path never verifies;
 *  - `evident verify` applies the issuer's Statement v1 rules (unknown _type, no predicateType, empty subject → 10);
 *  - `--artifact FILE` (repeatable) is checked against DSSE/in-toto and Evident receipt subjects (mismatch → 2), and a
 *    verifier that cannot check it fails instead of ignoring it.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { generateKeyPair, toPublicKey } from '../src/kernel/keys.ts';
import { formatVkey, noteSigner } from '../src/kernel/note.ts';
import { signDsse } from '../src/kernel/dsse.ts';
import { formatTlogProof, signCheckpoint, hashLeaf, rootFromLeafHashes, inclusionProofFromLeaves, openLog } from '../src/log/index.ts';
import { issueReceipt } from '../src/receipts/receipt.ts';
import { checkStatement, matchArtifacts, statementProblems } from '../src/kernel/intoto.ts';

const BIN = path.resolve(import.meta.dirname, '../bin/evident.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-failclosed-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const p = (f: string) => path.join(tmp, f);

function verify(args: string[]): { code: number; report: any } {
  const r = spawnSync(process.execPath, [BIN, 'verify', ...args, '--json'], { cwd: tmp, encoding: 'utf8', timeout: 60_000 });
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, r.stdout + r.stderr);
  const report = JSON.parse(lines[0]!);
  assert.equal(report.exitCode, r.status);
  return { code: r.status ?? -1, report };
}
const failed = (rep: any) => rep.checks.filter((c: any) => !c.ok && c.code).map((c: any) => c.code);

const origin = 'example.com/failclosed';
const logKey = generateKeyPair('ed25519').privateKey;
const vkey = formatVkey(origin, toPublicKey(logKey));
const issuer = generateKeyPair('ed25519').privateKey;
fs.writeFileSync(p('issuer.pem'), toPublicKey(issuer).export({ type: 'spki', format: 'pem' }) as string);

test('tlog-proof without entry bytes: ENTRY_MISSING (exit 10) unless --entry / --leaf-hash; corrupted path never passes', () => {
  const data = ['a', 'b', 'c', 'd', 'e'].map((s) => new TextEncoder().encode(`entry ${s}\n`));
  const leaves = data.map(hashLeaf);
  const cp = signCheckpoint({ origin, size: 5, rootHash: rootFromLeafHashes(leaves) }, noteSigner(origin, logKey));
  const proof = inclusionProofFromLeaves(2, leaves);
  fs.writeFileSync(p('bare.tlog-proof'), formatTlogProof({ index: 2, proof, checkpoint: cp }));
  const bad = proof.map((h) => Uint8Array.from(h));
  bad[0]![0]! ^= 1;
  fs.writeFileSync(p('corrupt.tlog-proof'), formatTlogProof({ index: 2, proof: bad, checkpoint: cp }));
  fs.writeFileSync(p('e2'), data[2]!);
  fs.writeFileSync(p('e3'), data[3]!);

  for (const f of ['bare.tlog-proof', 'corrupt.tlog-proof']) {
    const v = verify([p(f), '--log-key', vkey]);
    assert.equal(v.code, 10, JSON.stringify(v.report));
    assert.equal(v.report.valid, false);
    assert.deepEqual(failed(v.report), ['ENTRY_MISSING']);
    const c = v.report.checks.find((x: any) => x.code === 'ENTRY_MISSING');
    assert.match(c.message, /--entry FILE/);
    assert.match(c.message, /--leaf-hash HEX/);
  }
  assert.equal(verify([p('bare.tlog-proof'), '--log-key', vkey, '--entry', p('e2')]).code, 0);
  assert.equal(verify([p('bare.tlog-proof'), '--log-key', vkey, '--leaf-hash', Buffer.from(leaves[2]!).toString('hex')]).code, 0);
  assert.equal(verify([p('bare.tlog-proof'), '--log-key', vkey, '--entry', p('e3')]).code, 2);
  assert.equal(verify([p('bare.tlog-proof'), '--log-key', vkey, '--leaf-hash', Buffer.from(leaves[3]!).toString('hex')]).code, 2);
  assert.equal(verify([p('bare.tlog-proof'), '--log-key', vkey, '--entry', p('e2'), '--leaf-hash', Buffer.from(leaves[3]!).toString('hex')]).code, 2);
  assert.equal(verify([p('bare.tlog-proof'), '--log-key', vkey, '--leaf-hash', 'zz']).code, 10);
  const c = verify([p('corrupt.tlog-proof'), '--log-key', vkey, '--entry', p('e2')]);
  assert.equal(c.code, 2);
  assert.deepEqual(failed(c.report), ['PROOF_INVALID']);
});

const goodStatement = (subject: unknown[]) => ({ _type: 'https://in-toto.io/Statement/v1', subject, predicateType: 'https://example.com/p/v1', predicate: { a: 1 } });
const sha = (alg: string, b: Uint8Array | string) => createHash(alg).update(b).digest('hex');

test('Statement v1 rules: the verifier rejects what the issuer refuses (one rule set)', () => {
  const subj = [{ name: 'x', digest: { sha256: 'ab'.repeat(32) } }];
  const cases: Array<[string, unknown]> = [
    ['unknown _type', { ...goodStatement(subj), _type: 'https://example.com/NotAStatement' }],
    ['v1.5 _type', { ...goodStatement(subj), _type: 'https://in-toto.io/Statement/v1.5' }],
    ['no predicateType', { _type: 'https://in-toto.io/Statement/v1', subject: subj }],
    ['empty subject', goodStatement([])],
    ['short sha256', goodStatement([{ digest: { sha256: 'ab' } }])],
    ['empty digest', goodStatement([{ name: 'x', digest: {} }])],
    ['non-string name', goodStatement([{ name: 5, digest: { sha256: 'ab'.repeat(32) } }])],
    ['array predicate', { ...goodStatement(subj), predicate: [1] }],
  ];
  for (const [what, st] of cases) {
    assert.ok(statementProblems(st).length > 0, what);
    assert.throws(() => checkStatement(st), { code: 'INPUT_INVALID' }, what);
    fs.writeFileSync(p('bad.dsse.json'), JSON.stringify(signDsse('application/vnd.in-toto+json', JSON.stringify(st), issuer, 'k')));
    const v = verify([p('bad.dsse.json'), '--key', p('issuer.pem')]);
    assert.equal(v.code, 10, `${what}: ${JSON.stringify(v.report)}`);
    assert.ok(failed(v.report).every((c: string) => c === 'INTOTO_INVALID'), what);
  }
  assert.deepEqual(statementProblems(goodStatement(subj)), []);
  assert.deepEqual(statementProblems({ ...goodStatement(subj), _type: 'https://in-toto.io/Statement/v0.1' }), []);
});

test('--artifact: DSSE/in-toto and Evident receipt subjects are checked against files (mismatch exit 2)', async () => {
  const a = new TextEncoder().encode('artifact A\n');
  const b = new TextEncoder().encode('artifact B\n');
  fs.writeFileSync(p('a.bin'), a);
  fs.writeFileSync(p('b.bin'), b);
  fs.writeFileSync(p('c.bin'), 'artifact C\n');
  const st = goodStatement([
    { name: 'a.bin', digest: { sha256: sha('sha256', a) } },
    { name: 'renamed', digest: { sha256: sha('sha256', b), sha512: sha('sha512', b) } },
  ]);
  fs.writeFileSync(p('st.dsse.json'), JSON.stringify(signDsse('application/vnd.in-toto+json', JSON.stringify(st), issuer, 'k')));
  const ok = verify([p('st.dsse.json'), '--key', p('issuer.pem'), '--artifact', p('a.bin'), '--artifact', p('b.bin')]);
  assert.equal(ok.code, 0, JSON.stringify(ok.report));
  assert.deepEqual(ok.report.checks.filter((c: any) => c.id.startsWith('artifact')).map((c: any) => c.ok), [true, true]);
  const bad = verify([p('st.dsse.json'), '--key', p('issuer.pem'), '--artifact', p('a.bin'), '--artifact', p('c.bin')]);
  assert.equal(bad.code, 2);
  assert.deepEqual(failed(bad.report), ['ARTIFACT_MISMATCH']);

  // a subject whose sha256 matches but whose sha512 differs is contradictory: no match
  assert.equal(matchArtifacts([{ digest: { sha256: sha('sha256', b), sha512: sha('sha512', a) } }], [{ name: 'b', bytes: b }])[0]!.ok, false);
  assert.equal(matchArtifacts([{ digest: { sha512: sha('sha512', b) } }], [{ name: 'b', bytes: b }])[0]!.ok, true);
  assert.equal(matchArtifacts([{ digest: { sha1: sha('sha1', b) } }], [{ name: 'b', bytes: b }])[0]!.ok, false);

  // a non-in-toto DSSE payload has no subjects: --artifact cannot be checked, so it fails (never ignored)
  fs.writeFileSync(p('raw.dsse.json'), JSON.stringify(signDsse('text/plain', 'hello', issuer, 'k')));
  assert.equal(verify([p('raw.dsse.json'), '--key', p('issuer.pem')]).code, 0);
  const raw = verify([p('raw.dsse.json'), '--key', p('issuer.pem'), '--artifact', p('a.bin')]);
  assert.notEqual(raw.code, 0);
  assert.deepEqual(failed(raw.report), ['ARTIFACT_NOT_CHECKED']);

  // an Evident receipt: subjects of its envelope, through the full receipt verifier
  const log = await openLog({ db: `sqlite:${p('log.db')}`, signer: noteSigner(origin, logKey), origin });
  try {
    const receipt = await issueReceipt(log, { privateKey: issuer, kid: 'k' }, { format: 'in-toto', statement: st });
    fs.writeFileSync(p('receipt.json'), JSON.stringify(receipt));
  } finally {
    await log.close();
  }
  const r0 = verify([p('receipt.json'), '--key', p('issuer.pem'), '--log-key', vkey]);
  assert.equal(r0.code, 0, JSON.stringify(r0.report));
  const r1 = verify([p('receipt.json'), '--key', p('issuer.pem'), '--log-key', vkey, '--artifact', p('b.bin')]);
  assert.equal(r1.code, 0, JSON.stringify(r1.report));
  assert.ok(r1.report.checks.some((c: any) => c.id === 'envelope.artifact[0]' && c.ok));
  const r2 = verify([p('receipt.json'), '--key', p('issuer.pem'), '--log-key', vkey, '--artifact', p('c.bin')]);
  assert.equal(r2.code, 2);
  assert.deepEqual(failed(r2.report), ['ARTIFACT_MISMATCH']);

  // a verifier that does not consume --artifact (a tlog-proof) fails instead of passing unchecked
  fs.writeFileSync(p('r.tlog-proof'), receipt_proof());
  const t = verify([p('r.tlog-proof'), '--log-key', vkey, '--artifact', p('a.bin')]);
  assert.equal(t.code, 10, JSON.stringify(t.report));
  assert.deepEqual(failed(t.report), ['ARTIFACT_NOT_CHECKED']);
});

function receipt_proof(): string {
  return JSON.parse(fs.readFileSync(p('receipt.json'), 'utf8')).tlog_proof;
}

test('POST /v1/verify: a tlog-proof without its entry is not valid unless entry_base64 or leaf_hash is given', async () => {
  const { withService } = await import('./service-env.ts');
  await withService(undefined, 'evident-failclosed-svc-', {}, async (s) => {
    const data = ['x', 'y', 'z'].map((v) => new TextEncoder().encode(v));
    const leaves = data.map(hashLeaf);
    const cp = signCheckpoint({ origin, size: 3, rootHash: rootFromLeafHashes(leaves) }, noteSigner(origin, logKey));
    const proof = Buffer.from(formatTlogProof({ index: 1, proof: inclusionProofFromLeaves(1, leaves), checkpoint: cp })).toString('base64');
    const post = async (extra: Record<string, unknown>) => {
      const r = await fetch(`${s.url}/v1/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ artifact_base64: proof, log_key: vkey, ...extra }) });
      assert.equal(r.status, 200);
      return (await r.json()) as { valid: boolean; exitCode: number; checks: Array<{ code: string; ok: boolean }> };
    };
    const bare = await post({});
    assert.equal(bare.valid, false);
    assert.equal(bare.exitCode, 10);
    assert.ok(bare.checks.some((c) => c.code === 'ENTRY_MISSING'));
    assert.equal((await post({ entry_base64: Buffer.from(data[1]!).toString('base64') })).valid, true);
    assert.equal((await post({ leaf_hash: Buffer.from(leaves[1]!).toString('hex') })).valid, true);
    const wrong = await post({ entry_base64: Buffer.from(data[2]!).toString('base64') });
    assert.equal(wrong.valid, false);
    assert.equal(wrong.exitCode, 2);
  });
});
