/**
 * WCP compat mode against verdicts observed from pyhall-python (hall_api `/enroll` via the Flask test client, and
 * `PackageAttestationVerifier`), recorded in test/compat-upstream/wcp.json (`how` says what was run, and at which
 * commit). Compat must accept and hash what `/enroll` accepts, byte for byte; strict refuses with its own code.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { computeArtifactHash, parseRecord, verifyRecordReport } from '../src/profiles/wcp/registry.ts';
import { bytesInput, loadVerifyInput, verifyAny } from '../src/verify/detect.ts';

const repoRoot = path.resolve(import.meta.dirname, '..');
const BIN = path.resolve(repoRoot, 'bin/evident.js');
const DATA = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, 'compat-upstream/wcp.json'), 'utf8'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-compat-wcp-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

type Enroll = { body_b64: string; artifact_hash: string; status: number; tampered_status: number; tampered_code: string };
const ENROLL = DATA.enroll.cases as Record<string, Enroll>;

/** Strict mode's own verdict per record (exit code of `wcp record-hash --verify`; 10 = refused as input). */
const STRICT: Record<string, number> = { nan: 10, overflow: 10, surrogate: 10, bom: 10, dupkey: 10 };

test('every observed /enroll case has a strict verdict recorded', () => {
  assert.deepEqual(Object.keys(ENROLL).sort(), Object.keys(STRICT).sort());
});

for (const [name, c] of Object.entries(ENROLL)) {
  test(`wcp compat = /enroll: ${name} record accepted (HTTP ${c.status}), artifact_hash byte for byte`, async () => {
    const body = Buffer.from(c.body_b64, 'base64');
    assert.equal(c.status, 201);
    const rec = parseRecord(body, 'compat');
    assert.equal(computeArtifactHash(rec, 'compat'), c.artifact_hash);
    const rep = verifyRecordReport(rec, 'compat');
    assert.equal(rep.exitCode, 0, JSON.stringify(rep.toJSON()));
    // the tampered copy (artifact_hash sha256:0…) is what upstream denies: DENY_WORKER_TAMPERED
    const bad = Buffer.from(body.toString('latin1').replace(c.artifact_hash, 'sha256:' + '0'.repeat(64)), 'latin1');
    assert.equal(c.tampered_code, 'DENY_WORKER_TAMPERED');
    const badRep = verifyRecordReport(parseRecord(bad, 'compat'), 'compat');
    assert.equal(badRep.exitCode, 2);
    assert.equal(badRep.failures[0]?.code, 'DENY_WORKER_TAMPERED');
    // generic verify --mode compat detects and verifies it too; strict refuses it with its own code
    const g = await verifyAny(bytesInput(body), { mode: 'compat' });
    assert.equal(g.format, 'wcp.registry-record');
    assert.equal(g.exitCode, 0, JSON.stringify(g.toJSON()));
    assert.equal((await verifyAny(bytesInput(bad), { mode: 'compat' })).exitCode, 2);
    const s = await verifyAny(bytesInput(body), { mode: 'strict' });
    assert.equal(s.exitCode, STRICT[name], JSON.stringify(s.toJSON()));
  });
}

test('wcp record-hash CLI: compat prints the /enroll artifact_hash; strict exits 10', () => {
  for (const [name, c] of Object.entries(ENROLL)) {
    const f = path.join(tmp, `${name}.json`);
    fs.writeFileSync(f, Buffer.from(c.body_b64, 'base64'));
    const r = spawnSync(process.execPath, [BIN, 'wcp', 'record-hash', f, '--mode', 'compat'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, `${name}: ${r.stderr}`);
    assert.equal(r.stdout.trim(), c.artifact_hash, name);
    const v = spawnSync(process.execPath, [BIN, 'wcp', 'record-hash', f, '--verify', '--mode', 'compat', '--json'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(v.status, 0, `${name}: ${v.stdout}`);
    const s = spawnSync(process.execPath, [BIN, 'wcp', 'record-hash', f, '--json'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(s.status, STRICT[name], `${name} strict: ${s.stdout}`);
  }
});

test('generic verify --mode compat: a package whose manifest escapes schema_version is detected and verifies as upstream', async () => {
  const M = DATA.manifest;
  const dir = path.join(tmp, 'pkg');
  for (const [rel, text] of Object.entries(M.files as Record<string, string>)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  }
  const saved = process.env.WCP_ATTEST_HMAC_KEY;
  process.env.WCP_ATTEST_HMAC_KEY = 'test-secret-key';
  try {
    for (const [name, c] of Object.entries(M.cases as Record<string, { manifest_json: string; ok: boolean; deny_code: string | null }>)) {
      fs.writeFileSync(path.join(dir, 'manifest.json'), c.manifest_json);
      assert.equal(c.ok, true, name); // upstream PackageAttestationVerifier: ok
      const r = await verifyAny(loadVerifyInput(dir), { mode: 'compat', workerId: M.worker_id, species: M.worker_species_id });
      assert.equal(r.format, 'wcp.package', `${name}: ${JSON.stringify(r.toJSON())}`);
      assert.equal(r.exitCode, 0, `${name}: ${JSON.stringify(r.toJSON())}`);
      const s = await verifyAny(loadVerifyInput(dir), { mode: 'strict', workerId: M.worker_id, species: M.worker_species_id });
      assert.equal(s.format, 'wcp.package');
      // strict: detected as well; its own verdict (a duplicate key is an input failure)
      assert.equal(s.exitCode, name === 'duplicate-key' ? 10 : 0, `${name} strict: ${JSON.stringify(s.toJSON())}`);
    }
  } finally {
    if (saved === undefined) delete process.env.WCP_ATTEST_HMAC_KEY;
    else process.env.WCP_ATTEST_HMAC_KEY = saved;
  }
});

test('wcp compat = /enroll field rules (strip, truthiness, non-string artifact_hash); strict its own', async () => {
  const F = DATA.enroll_fields.cases as Record<string, { body: string; status: number; code: string | null }>;
  /** Strict: ids must be non-blank strings, capabilities a non-empty list, artifact_hash a string. */
  const STRICT_F: Record<string, number> = {
    'worker-id-blank': 10,
    'species-blank': 10,
    'capabilities-string': 10,
    'capabilities-object': 10,
    'capabilities-zero': 10,
    'capabilities-empty-object': 10,
    'artifact-hash-number': 10,
    'artifact-hash-empty': 10,
    'artifact-hash-uppercase': 2,
  };
  assert.deepEqual(Object.keys(F).sort(), Object.keys(STRICT_F).sort());
  for (const [name, c] of Object.entries(F)) {
    const want = c.status === 201 ? 0 : c.code === 'DENY_WORKER_TAMPERED' ? 2 : 10;
    const body = Buffer.from(c.body, 'utf8');
    const r = verifyRecordReport(parseRecord(body, 'compat'), 'compat');
    assert.equal(r.exitCode, want, `${name} (upstream HTTP ${c.status} ${c.code ?? ''}): ${JSON.stringify(r.failures)}`);
    if (want === 2) assert.equal(r.failures[0]?.code, 'DENY_WORKER_TAMPERED');
    assert.equal(verifyRecordReport(parseRecord(body, 'strict'), 'strict').exitCode, STRICT_F[name], name);
  }
});

test('evident verify CLI --mode compat: BOM / NaN / duplicate-key records verify as /enroll accepts them', () => {
  for (const name of ['bom', 'nan', 'dupkey']) {
    const f = path.join(tmp, `generic-${name}.json`);
    fs.writeFileSync(f, Buffer.from(ENROLL[name]!.body_b64, 'base64'));
    const r = spawnSync(process.execPath, [BIN, 'verify', f, '--mode', 'compat', '--json'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, `${name}: ${r.stdout}`);
    assert.equal(JSON.parse(r.stdout).format, 'wcp.registry-record');
    const s = spawnSync(process.execPath, [BIN, 'verify', f, '--json'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(s.status, STRICT[name], `${name} strict: ${s.stdout}`);
  }
});
