/** CLI: `evident wcp scaffold|sign|verify|package-hash|record-hash` and `evident verify DIR` on WCP packages. */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

const repoRoot = path.resolve(import.meta.dirname, '..');
const BIN = path.join(repoRoot, 'bin/evident.js');
const V = path.resolve(repoRoot, '../shared/vectors/wcp');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-wcp-cli-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const p = (f: string) => path.join(tmp, f);

function run(args: string[], env: Record<string, string> = {}, input?: string): { code: number; stdout: string; stderr: string } {
  const e: NodeJS.ProcessEnv = { ...process.env, ...env };
  if (!('WCP_ATTEST_HMAC_KEY' in env)) delete e.WCP_ATTEST_HMAC_KEY;
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: tmp, encoding: 'utf8', env: e, input, timeout: 60_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
function json(args: string[], env: Record<string, string> = {}): { code: number; report: any } {
  const r = run([...args, '--json'], env);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, `one JSON line: ${r.stdout} ${r.stderr}`);
  const report = JSON.parse(lines[0]!);
  if ('exitCode' in report) assert.equal(report.exitCode, r.code);
  return { code: r.code, report };
}
const denyCode = (rep: any) => rep.checks.find((c: any) => !c.ok && c.code !== 'WCP_UNSIGNED_FIELDS')?.code;

const K = { WCP_ATTEST_HMAC_KEY: 'test-secret-key' };
const ID = ['--worker-id', 'org.example.my-worker.instance-1', '--species', 'wrk.example.my-worker'];

test('scaffold → sign → verify; tamper cases with exact exit and deny codes', () => {
  assert.equal(run(['wcp', 'scaffold', p('pkg')]).code, 0);
  assert.equal(run(['wcp', 'scaffold', p('pkg')]).code, 10, 'refuses to overwrite');
  assert.equal(run(['wcp', 'scaffold', p('pkg'), '--force']).code, 0);
  assert.equal(run(['wcp', 'sign', p('pkg'), ...ID, '--version=1.0.0']).code, 4, 'secret env unset');
  const s = run(['wcp', 'sign', p('pkg'), ...ID, '--version=1.0.0', '--built-at', '2026-03-09T12:00:00Z'], K);
  assert.equal(s.code, 0, s.stderr);
  const m = JSON.parse(fs.readFileSync(p('pkg/manifest.json'), 'utf8'));
  assert.equal(m.built_at_utc, '2026-03-09T12:00:00Z');
  assert.equal(m.worker_version, '1.0.0');
  assert.equal(run(['wcp', 'package-hash', p('pkg')]).stdout.trim(), m.package_hash);

  let r = json(['wcp', 'verify', p('pkg'), ...ID], K);
  assert.equal(r.code, 0, JSON.stringify(r.report));
  r = json(['verify', p('pkg'), ...ID], K);
  assert.equal(r.code, 0);
  assert.equal(r.report.format, 'wcp.package');

  r = json(['wcp', 'verify', p('pkg'), ...ID]);
  assert.equal(r.code, 4);
  assert.equal(denyCode(r.report), 'ATTEST_SIGNATURE_MISSING');
  r = json(['wcp', 'verify', p('pkg'), ...ID], { WCP_ATTEST_HMAC_KEY: 'wrong' });
  assert.equal(r.code, 3);
  assert.equal(denyCode(r.report), 'ATTEST_SIG_INVALID');
  r = json(['wcp', 'verify', p('pkg'), '--worker-id', 'org.example.other', '--species', 'wrk.example.my-worker'], K);
  assert.equal(r.code, 1);
  assert.equal(denyCode(r.report), 'ATTEST_MANIFEST_ID_MISMATCH');
  r = json(['wcp', 'verify', p('pkg')], K);
  assert.equal(r.code, 10);
  assert.equal(denyCode(r.report), 'WCP_IDENTITY_REQUIRED');

  fs.writeFileSync(p('ban.json'), JSON.stringify([{ sha256: m.package_hash, reason: 'test' }]));
  r = json(['wcp', 'verify', p('pkg'), ...ID, '--ban-list', p('ban.json')], K);
  assert.equal(r.code, 1);
  assert.equal(denyCode(r.report), 'ATTEST_BANNED_HASH');
  r = json(['verify', p('pkg'), ...ID, '--ban-list', p('ban.json')], K);
  assert.equal(denyCode(r.report), 'ATTEST_BANNED_HASH');

  // unsigned field edited: compat accepts (as pyhall-python), strict reports
  const m2 = { ...m, trust_statement: 'forged' };
  fs.writeFileSync(p('pkg/manifest.json'), JSON.stringify(m2, null, 2) + '\n');
  assert.equal(json(['wcp', 'verify', p('pkg'), ...ID, '--mode', 'compat'], K).code, 0);
  r = json(['wcp', 'verify', p('pkg'), ...ID], K);
  assert.equal(r.code, 2);
  assert.equal(denyCode(r.report), 'WCP_TRUST_STATEMENT_MISMATCH');
  fs.writeFileSync(p('pkg/manifest.json'), JSON.stringify(m, null, 2) + '\n');

  fs.appendFileSync(p('pkg/requirements.lock'), 'evil==1\n');
  r = json(['wcp', 'verify', p('pkg'), ...ID], K);
  assert.equal(r.code, 2);
  assert.equal(denyCode(r.report), 'ATTEST_HASH_MISMATCH');

  fs.rmSync(p('pkg/manifest.json'));
  r = json(['wcp', 'verify', p('pkg'), ...ID], K);
  assert.equal(r.code, 10);
  assert.equal(denyCode(r.report), 'ATTEST_MANIFEST_MISSING');
  assert.equal(json(['wcp', 'verify', p('nope'), ...ID], K).code, 10);
});

test('sign --key adds signature_ed25519; verify --key checks it', () => {
  assert.equal(run(['keys', 'generate', '--alg', 'ed25519', '--out', p('ed')]).code, 0);
  assert.equal(run(['wcp', 'scaffold', p('pkg2')]).code, 0);
  const s = run(['wcp', 'sign', p('pkg2'), ...ID, '--worker-version', '2.0.0', '--key', p('ed/private.pem')], K);
  assert.equal(s.code, 0, s.stderr);
  const m = JSON.parse(fs.readFileSync(p('pkg2/manifest.json'), 'utf8'));
  assert.equal(typeof m.signature_ed25519, 'string');
  assert.equal(json(['wcp', 'verify', p('pkg2'), ...ID, '--key', p('ed/public.pem')], K).code, 0);
  // the Ed25519 extension does not disturb the upstream (compat) verdict
  assert.equal(json(['wcp', 'verify', p('pkg2'), ...ID, '--mode', 'compat'], K).code, 0);
  fs.writeFileSync(p('pkg2/manifest.json'), JSON.stringify({ ...m, attested_at_utc: '1999-01-01T00:00:00Z' }, null, 2));
  const r = json(['wcp', 'verify', p('pkg2'), ...ID, '--key', p('ed/public.pem')], K);
  assert.equal(r.code, 3);
  assert.equal(denyCode(r.report), 'WCP_ED25519_INVALID');
});

test('package-hash --order and record-hash against the vectors', () => {
  const PH = JSON.parse(fs.readFileSync(path.join(V, 'package-hash-vectors.json'), 'utf8'));
  const c = PH.cases.find((x: any) => x.id === 'separator-order');
  for (const f of c.files) {
    fs.mkdirSync(path.dirname(p(`sep/${f.path}`)), { recursive: true });
    fs.writeFileSync(p(`sep/${f.path}`), Buffer.from(f.content_b64, 'base64'));
  }
  assert.equal(run(['wcp', 'package-hash', p('sep')]).stdout.trim(), c.expected_package_hash);
  assert.equal(run(['wcp', 'package-hash', p('sep'), '--order', 'bytewise']).stdout.trim(), c.by_implementation['pyhall-go rule (bytewise sort; recomputed by harness, Go not run)']);
  assert.equal(run(['wcp', 'package-hash', p('sep'), '--order', 'locale']).code, 10);
  assert.equal(json(['wcp', 'package-hash', p('sep')]).report.files, 6);

  const RV = JSON.parse(fs.readFileSync(path.join(V, 'registry-artifact-hash-vectors.json'), 'utf8'));
  for (const v of RV.vectors) {
    fs.writeFileSync(p(`${v.id}.json`), v.record_json_text);
    assert.equal(run(['wcp', 'record-hash', p(`${v.id}.json`)]).stdout.trim(), v.expected_artifact_hash, v.id);
  }
  const edge = RV.vectors.find((v: any) => v.id === 'synthetic-edge');
  fs.writeFileSync(p('rec.json'), edge.record_json_text.replace('sha256:to-be-ignored', edge.expected_artifact_hash));
  assert.equal(json(['wcp', 'record-hash', p('rec.json'), '--verify']).code, 0);
  let r = json(['verify', p('rec.json')]);
  assert.equal(r.code, 0);
  assert.equal(r.report.format, 'wcp.registry-record');
  fs.writeFileSync(p('rec.json'), edge.record_json_text.replace('sha256:to-be-ignored', edge.expected_artifact_hash).replace('"low"', '"high"'));
  r = json(['wcp', 'record-hash', p('rec.json'), '--verify']);
  assert.equal(r.code, 2);
  assert.equal(denyCode(r.report), 'DENY_WORKER_TAMPERED');
  assert.equal(run(['wcp', 'record-hash', '-'], {}, 'not json').code, 10);
  assert.match(run(['wcp', 'verify', '--help']).stdout, /--ban-list/);
});
