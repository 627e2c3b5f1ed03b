/** CLI: `evident h4mk build|inspect|verify|extract|sign`, `evident verify FILE.h4mk`, `evident engine check|info|attest|verify-attestation`. */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';

const BIN = path.resolve(import.meta.dirname, '../bin/evident.js');
const G = path.resolve(import.meta.dirname, '..', '../shared/vectors', 'h4/generated');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-h4cli-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const p = (f: string) => path.join(tmp, f);

const CLEAN_ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(EVIDENT_ENGINE_|HARMONY4_)/.test(k)));

function run(args: string[], env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: tmp, encoding: 'utf8', timeout: 60_000, env: { ...CLEAN_ENV, ...env } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
function json(args: string[], env: Record<string, string> = {}): { code: number; report: any } {
  const r = run([...args, '--json'], env);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, `--json prints exactly one line: ${r.stdout} ${r.stderr}`);
  const report = JSON.parse(lines[0]!);
  if ('exitCode' in report) assert.equal(report.exitCode, r.code);
  return { code: r.code, report };
}
const failCodes = (rep: any) => rep.checks.filter((c: any) => !c.ok && c.code !== 'H4MK_VERI_UNKEYED' && c.code !== 'ENGINE_UNSEALED').map((c: any) => c.code);

test('h4mk build → verify → extract round trip, signed; engine mismatch refused; tamper exit codes', () => {
  assert.equal(run(['keys', 'generate', '--out', p('k')]).code, 0);
  const data = randomBytes(200_001);
  fs.writeFileSync(p('in.bin'), data);
  for (const engine of ['deflate']) { // every engine's round trip is covered in h4-engines.test.ts
    const out = p(`c-${engine}.h4mk`);
    const b = run(['h4mk', 'build', '--engine', engine, '--key', p('k/private.pem'), '--block-size', '65536', p('in.bin'), '-o', out, '--json']);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(JSON.parse(b.stdout).signed, true);
    const v = json(['verify', out, '--key', p('k/public.pem')]);
    assert.equal(v.code, 0, JSON.stringify(v.report));
    assert.equal(v.report.format, 'h4mk');
    const x = json(['h4mk', 'extract', out, '-o', p(`out-${engine}`), '--key', p('k/public.pem')]);
    assert.equal(x.code, 0, JSON.stringify(x.report));
    assert.ok(fs.readFileSync(p(`out-${engine}`)).equals(data));
  }
  // a different engine than META names is refused, nothing written
  const mm = json(['h4mk', 'extract', p('c-deflate.h4mk'), '-o', p('mm.bin'), '--key', p('k/public.pem'), '--engine', 'brotli']);
  assert.deepEqual([mm.code, failCodes(mm.report)], [1, ['H4_ENGINE_MISMATCH']]);
  assert.equal(fs.existsSync(p('mm.bin')), false);
  // strict without key → 4, unsigned → 3, tampered → 2; extract writes nothing when verification fails
  assert.equal(json(['verify', p('c-deflate.h4mk')]).code, 4);
  const unsigned = run(['h4mk', 'build', '--engine', 'deflate', p('in.bin'), '-o', p('u.h4mk')]);
  assert.equal(unsigned.code, 0);
  assert.deepEqual(failCodes(json(['verify', p('u.h4mk'), '--key', p('k/public.pem')]).report), ['SIGNATURE_MISSING']);
  assert.equal(json(['verify', p('u.h4mk'), '--mode', 'compat']).code, 0);
  const t = fs.readFileSync(p('c-deflate.h4mk'));
  t[100] ^= 0x01;
  fs.writeFileSync(p('t.h4mk'), t);
  const tv = json(['h4mk', 'verify', p('t.h4mk'), '--key', p('k/public.pem')]);
  assert.equal(tv.code, 2);
  assert.ok(failCodes(tv.report).includes('H4MK_CRC_MISMATCH'));
  assert.equal(json(['h4mk', 'extract', p('t.h4mk'), '-o', p('t.out'), '--key', p('k/public.pem')]).code, 2);
  assert.equal(fs.existsSync(p('t.out')), false);
  fs.writeFileSync(p('g.h4mk'), Buffer.concat([fs.readFileSync(p('c-deflate.h4mk')), Buffer.from('xx')]));
  assert.deepEqual(failCodes(json(['verify', p('g.h4mk'), '--key', p('k/public.pem')]).report), ['H4MK_TRAILING_BYTES']);
  assert.equal(run(['h4mk', 'build', '--engine', 'nope', p('in.bin'), '-o', p('n.h4mk')]).code, 10);
});

test('upstream vectors through the CLI: inspect, verify compat/strict, sign then forged graft fails', () => {
  if (!fs.existsSync(p('k/public.pem'))) assert.equal(run(['keys', 'generate', '--out', p('k')]).code, 0);
  const basic = path.join(G, 'a-basic.h4mk');
  const i = run(['h4mk', 'inspect', basic, '--json']);
  assert.equal(i.code, 0);
  const o = JSON.parse(i.stdout);
  assert.deepEqual(o.chunks.map((c: any) => c.tag), ['CORE', 'CORE', 'SEEK', 'META', 'SAFE', 'VERI']);
  assert.equal(o.veri.stored, o.veri.computed);
  assert.equal(run(['h4mk', 'inspect', path.join(G, 'a-basic.meta-bitflip.h4mk')]).code, 2);
  assert.equal(json(['verify', path.join(G, 'a-basic.forged-meta-recomputed-veri.h4mk')]).code, 3);
  assert.equal(json(['verify', path.join(G, 'b-multitrack-demo.h4mk'), '--mode', 'compat']).code, 0);
  const s = run(['h4mk', 'sign', basic, '--key', p('k/private.pem'), '-o', p('signed.h4mk')]);
  assert.equal(s.code, 0, s.stderr);
  assert.equal(json(['verify', p('signed.h4mk'), '--key', p('k/public.pem')]).code, 0);
  assert.equal(run(['h4mk', 'sign', path.join(G, 'a-basic.meta-bitflip.h4mk'), '--key', p('k/private.pem'), '-o', p('x.h4mk')]).code, 10);
  const sig = fs.readFileSync(p('signed.h4mk')).subarray(fs.statSync(basic).size);
  fs.writeFileSync(p('graft.h4mk'), Buffer.concat([fs.readFileSync(path.join(G, 'a-basic.forged-meta-recomputed-veri.h4mk')), sig]));
  const g = json(['verify', p('graft.h4mk'), '--key', p('k/public.pem')]);
  assert.deepEqual([g.code, failCodes(g.report)], [3, ['SIGNATURE_INVALID']]);
  // compat extract of an upstream file (reference engine)
  const x = json(['h4mk', 'extract', basic, '-o', p('basic.out'), '--mode', 'compat']);
  assert.equal(x.code, 0);
  assert.equal(fs.readFileSync(p('basic.out')).toString('hex'), '78'.repeat(256) + Buffer.from(Array.from({ length: 256 }, (_, k) => k)).toString('hex'));
});

test('engine check/info/attest with and without pins; signed attestation verify and replay rules', () => {
  if (!fs.existsSync(p('k/public.pem'))) assert.equal(run(['keys', 'generate', '--out', p('k')]).code, 0);
  const c0 = json(['engine', 'check']);
  assert.equal(c0.code, 0);
  assert.ok(c0.report.checks.some((c: any) => c.code === 'ENGINE_UNSEALED'));
  const src = "export const id = 'cli-engine-v1';\nexport function compress(b) { return b.slice(); }\nexport function decompress(b) { return b.slice(); }\n";
  fs.writeFileSync(p('eng.mjs'), src);
  const fp = createHash('sha256').update(src).digest('hex');
  const pins = { HARMONY4_ENGINE_ID: 'cli-engine-v1', HARMONY4_ENGINE_FP: fp, HARMONY4_CORE_PATH: p('eng.mjs') };
  assert.equal(json(['engine', 'check'], pins).code, 0);
  const info = JSON.parse(run(['engine', 'info', '--json'], pins).stdout);
  assert.deepEqual([info.engine_id, info.fingerprint, info.sealed], ['cli-engine-v1', fp, true]);
  const fpBad = json(['engine', 'check'], { ...pins, HARMONY4_ENGINE_FP: '0'.repeat(64) });
  assert.deepEqual([fpBad.code, failCodes(fpBad.report)], [2, ['H4_ENGINE_FP_MISMATCH']]);
  assert.equal(json(['engine', 'check'], { ...pins, HARMONY4_ENGINE_ID: 'x' }).code, 1);
  assert.equal(json(['engine', 'check'], { ...pins, HARMONY4_CORE_PATH: p('missing.mjs') }).code, 10);
  // refuse to run any engine command with bad pins (no fallback)
  const bad = run(['h4mk', 'build', '--engine', 'deflate', p('eng.mjs'), '-o', p('z.h4mk')], { ...pins, HARMONY4_ENGINE_ID: 'x' });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /H4_ENGINE_ID_MISMATCH/);
  assert.equal(fs.existsSync(p('z.h4mk')), false);
  // sealed build + extract
  fs.writeFileSync(p('small.bin'), 'hello sealed world');
  assert.equal(run(['h4mk', 'build', '--engine', 'cli-engine-v1', p('small.bin'), '-o', p('s.h4mk')], pins).code, 0);
  assert.equal(json(['h4mk', 'extract', p('s.h4mk'), '-o', p('s.out'), '--mode', 'compat'], pins).code, 0);
  assert.equal(fs.readFileSync(p('s.out'), 'utf8'), 'hello sealed world');
  const un = json(['h4mk', 'extract', p('s.h4mk'), '-o', p('s2.out'), '--mode', 'compat']);
  assert.deepEqual([un.code, failCodes(un.report)], [1, ['H4_ENGINE_UNAVAILABLE']]);
  // compat attestation: the upstream vector
  const a = run(['engine', 'attest', '--now', '2023-12-23T16:40:00.750Z']);
  assert.equal(JSON.parse(a.stdout).attestation_hash, '2be9da08d53b5cd377e92e515c4d71513a428613ab4cbbbdedbcf6f819f9146d');
  assert.match(a.stderr, /unsigned/);
  // strict: signed, nonce-bound
  const nonce = 'cli-nonce-0123456789';
  const s = run(['engine', 'attest', '--nonce', nonce, '--key', p('k/private.pem')], pins);
  assert.equal(s.code, 0, s.stderr);
  fs.writeFileSync(p('att.json'), s.stdout);
  assert.equal(JSON.parse(s.stdout).fingerprint, fp);
  assert.equal(json(['engine', 'verify-attestation', p('att.json'), '--key', p('k/public.pem'), '--nonce', nonce, '--expect-id', 'cli-engine-v1', '--expect-fp', fp]).code, 0);
  assert.deepEqual(failCodes(json(['engine', 'verify-attestation', p('att.json'), '--key', p('k/public.pem'), '--nonce', 'other-nonce-0123456']).report), ['NONCE_MISMATCH']);
  assert.equal(json(['engine', 'verify-attestation', p('att.json'), '--key', p('k/public.pem'), '--now', '2099-01-01T00:00:00Z']).code, 1);
  assert.equal(json(['verify', p('att.json'), '--key', p('k/public.pem')]).code, 0);
  assert.equal(run(['engine', 'attest', '--nonce', nonce]).code, 4);
});
