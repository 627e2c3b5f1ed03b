/** CLI: `evident keys …`, `evident sign`, `evident verify` on DSSE envelopes and signed notes (spawns bin/evident.js). */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { verify } from '../src/kernel/sign.ts';
import { loadPublicKey } from '../src/store/keyfiles.ts';

const BIN = path.resolve(import.meta.dirname, '../bin/evident.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-kcli-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const p = (f: string) => path.join(tmp, f);

function run(args: string[], input?: string | Buffer): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { input, cwd: tmp, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function json(args: string[]): { code: number; report: any } {
  const r = run([...args, '--json']);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, `--json prints exactly one line: ${r.stdout}`);
  const report = JSON.parse(lines[0]!);
  assert.equal(typeof report.valid, 'boolean');
  assert.equal(report.exitCode, r.code);
  return { code: r.code, report };
}

test('keys generate / id / sign --dsse / verify, tamper, wrong key, no key, empty input', () => {
  const g = run(['keys', 'generate', '--alg', 'ed25519', '--out', p('a')]);
  assert.equal(g.code, 0, g.stderr);
  const kid = g.stdout.trim();
  assert.match(kid, /^sha256:[0-9a-f]{64}$/);
  assert.equal(fs.statSync(p('a/private.pem')).mode & 0o777, 0o600);
  assert.equal(run(['keys', 'generate', '--alg', 'ed25519', '--out', p('a')]).code, 10, 'refuses to overwrite');
  assert.equal(run(['keys', 'generate', '--alg', 'es256', '--out', p('b')]).code, 0);
  assert.equal(run(['keys', 'id', p('a/public.pem')]).stdout.trim(), kid);
  assert.equal(run(['keys', 'id', p('a/private.pem')]).stdout.trim(), kid);
  assert.match(run(['keys', 'id', p('a/public.jwk'), '--style', 'spki-hex']).stdout, /^302a300506032b6570032100[0-9a-f]{64}\n$/);
  assert.equal(run(['keys', 'id', p('nope.pem')]).code, 10);

  const stmt = JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', subject: [{ name: 'a.txt', digest: { sha256: 'ab'.repeat(32) } }], predicateType: 'https://example/p' });
  fs.writeFileSync(p('stmt.json'), stmt);
  const s = run(['sign', '--key', p('a/private.pem'), '--dsse', 'application/vnd.in-toto+json', p('stmt.json')]);
  assert.equal(s.code, 0, s.stderr);
  fs.writeFileSync(p('env.json'), s.stdout);
  const env = JSON.parse(s.stdout);
  assert.equal(env.signatures[0].keyid, kid);

  const ok = json(['verify', p('env.json'), '--key', p('a/public.pem')]);
  assert.equal(ok.code, 0);
  assert.equal(ok.report.format, 'dsse');
  const ids = ok.report.checks.map((c: any) => c.id);
  assert.ok(ids.includes('payloadType') && ids.includes('subject[0]'));
  assert.ok(ok.report.checks.find((c: any) => c.id === 'subject[0]').message.includes('ab'.repeat(32)));

  // flipped payload byte → signature invalid (3)
  const payload = Buffer.from(env.payload, 'base64');
  payload[5]! ^= 1;
  fs.writeFileSync(p('env-bad.json'), JSON.stringify({ ...env, payload: payload.toString('base64') }));
  assert.equal(json(['verify', p('env-bad.json'), '--key', p('a/public.pem')]).code, 3);
  // wrong pinned key → 3; no key → 4; key only in the artifact is not trusted
  assert.equal(json(['verify', p('env.json'), '--key', p('b/public.pem')]).code, 3);
  const nokey = json(['verify', p('env.json')]);
  assert.equal(nokey.code, 4);
  assert.equal(nokey.report.valid, false);
  // unreadable key file → 4 (key problem)
  assert.equal(json(['verify', p('env.json'), '--key', p('missing.pem')]).code, 4);
  // broken envelope → 10; empty input → 10; duplicate keys → 10
  fs.writeFileSync(p('env-b64.json'), JSON.stringify({ ...env, payload: env.payload + '!' }));
  assert.equal(json(['verify', p('env-b64.json'), '--key', p('a/public.pem')]).code, 10);
  fs.writeFileSync(p('empty'), '');
  assert.equal(json(['verify', p('empty'), '--key', p('a/public.pem')]).code, 10);
  fs.writeFileSync(p('dup.json'), s.stdout.replace('"payloadType"', '"payloadType": "x", "payloadType"'));
  assert.equal(json(['verify', p('dup.json'), '--key', p('a/public.pem')]).code, 10);
  // sign: empty stdin for a note → 10; no mode → 10; bad key file → 4/10
  assert.equal(run(['sign', '--key', p('a/private.pem'), '--note', '-'], '').code, 10);
  assert.equal(run(['sign', '--key', p('a/private.pem'), p('stmt.json')]).code, 10);
  assert.equal(run(['sign', '--key', p('a/public.pem'), '--raw', p('stmt.json')]).code, 4);
  // --raw: bare base64 signature that verifies with the public key (ES256 → 64-byte P1363)
  const raw = run(['sign', '--key', p('b/private.pem'), '--raw', p('stmt.json')]);
  assert.equal(raw.code, 0, raw.stderr);
  const sigBytes = Buffer.from(raw.stdout.trim(), 'base64');
  assert.equal(sigBytes.length, 64);
  assert.ok(verify(loadPublicKey(p('b/public.pem')), fs.readFileSync(p('stmt.json')), sigBytes));
  assert.ok(!verify(loadPublicKey(p('b/public.pem')), stmt + ' ', sigBytes));
});

test('trust store: add, verify via --trust, revoke → 1, unknown key → 4, expired → 1', () => {
  assert.equal(run(['keys', 'generate', '--out', p('t1')]).code, 0);
  assert.equal(run(['keys', 'generate', '--alg', 'rs256', '--out', p('t2')]).code, 0);
  const add = run(['keys', 'trust', 'add', '--trust', p('trust.json'), p('t1/public.pem'), '--label', 'signer']);
  assert.equal(add.code, 0, add.stderr);
  const kid = add.stdout.trim();
  const store = JSON.parse(fs.readFileSync(p('trust.json'), 'utf8'));
  assert.equal(store.version, 1);
  assert.equal(store.keys[0].kid, kid);
  assert.equal(run(['keys', 'trust', 'add', '--trust', p('trust.json'), p('t1/public.pem')]).code, 10, 'duplicate kid');

  fs.writeFileSync(p('payload.bin'), 'hello');
  fs.writeFileSync(p('e1.json'), run(['sign', '--key', p('t1/private.pem'), '--dsse', 'text/plain', p('payload.bin')]).stdout);
  fs.writeFileSync(p('e2.json'), run(['sign', '--key', p('t2/private.pem'), '--dsse', 'text/plain', p('payload.bin')]).stdout);
  assert.equal(json(['verify', p('e1.json'), '--trust', p('trust.json')]).code, 0);
  assert.equal(json(['verify', p('e2.json'), '--trust', p('trust.json')]).code, 4, 'signer not in the store');
  assert.equal(json(['verify', p('e2.json'), '--key', p('t2/public.jwk')]).code, 0, 'rs256 with a pinned JWK');

  const rev = run(['keys', 'trust', 'revoke', '--trust', p('trust.json'), kid, '--reason', 'test']);
  assert.equal(rev.code, 0, rev.stderr);
  const r = json(['verify', p('e1.json'), '--trust', p('trust.json')]);
  assert.equal(r.code, 1);
  assert.ok(r.report.checks.some((c: any) => c.code === 'KEY_REVOKED'));
  assert.equal(run(['keys', 'trust', 'revoke', '--trust', p('trust.json'), 'nope']).code, 4);

  assert.equal(run(['keys', 'trust', 'add', '--trust', p('trust2.json'), p('t2/public.pem'), '--not-after', '2020-01-01T00:00:00Z']).code, 0);
  const list = run(['keys', 'trust', 'list', '--trust', p('trust.json'), '--json']);
  assert.equal(JSON.parse(list.stdout).keys[0].revoked.reason, 'test');
  const ex = json(['verify', p('e2.json'), '--trust', p('trust2.json')]);
  assert.equal(ex.code, 1);
  assert.ok(ex.report.checks.some((c: any) => c.code === 'KEY_EXPIRED'));
  fs.writeFileSync(p('bad-trust.json'), '{"version":1,"keys":[{}]}');
  assert.equal(json(['verify', p('e1.json'), '--trust', p('bad-trust.json')]).code, 4);
  assert.equal(run(['keys', 'trust', 'add', '--trust', p('trust3.json'), p('t1/public.pem'), '--not-after', 'tomorrow']).code, 10);
  assert.equal(run(['keys', 'trust', 'add', '--trust', p('trust3.json'), p('t1/public.pem'), '--not-after', '2026-02-30T00:00:00Z']).code, 10, 'a date that does not exist');
  assert.equal(fs.existsSync(p('trust3.json')), false, 'nothing written');
});

test('signed notes: sign --note, verify with PEM / vkey, tamper → 3, unknown key → 4', () => {
  assert.equal(run(['keys', 'generate', '--out', p('n1')]).code, 0);
  assert.equal(run(['keys', 'generate', '--out', p('n2')]).code, 0);
  const s = run(['sign', '--key', p('n1/private.pem'), '--note', '--name', 'example.com/log', '-'], 'example.com/log\n42\nAAAA\n');
  assert.equal(s.code, 0, s.stderr);
  assert.match(s.stdout, /^example\.com\/log\n42\nAAAA\n\n\u2014 example\.com\/log [A-Za-z0-9+/]+=*\n$/);
  fs.writeFileSync(p('note.txt'), s.stdout);
  const ok = json(['verify', p('note.txt'), '--key', p('n1/public.pem')]);
  assert.equal(ok.code, 0);
  assert.equal(ok.report.format, 'signed-note');
  const vk = run(['keys', 'id', p('n1/public.pem'), '--vkey', 'example.com/log']).stdout.trim().split('\n')[1]!;
  assert.match(vk, /^example\.com\/log\+[0-9a-f]{8}\+/);
  assert.equal(json(['verify', p('note.txt'), '--key', vk]).code, 0);
  fs.writeFileSync(p('vkey.txt'), vk + '\n');
  assert.equal(json(['verify', p('note.txt'), '--key', p('vkey.txt')]).code, 0);
  fs.writeFileSync(p('note-bad.txt'), s.stdout.replace('42', '43'));
  assert.equal(json(['verify', p('note-bad.txt'), '--key', p('n1/public.pem')]).code, 3);
  assert.equal(json(['verify', p('note.txt'), '--key', p('n2/public.pem')]).code, 4);
  assert.equal(json(['verify', p('note.txt')]).code, 4);
  assert.equal(json(['verify', p('note.txt'), '--format', 'signed-note', '--key', p('n1/public.pem')]).code, 0);
  fs.writeFileSync(p('note-ctl.txt'), s.stdout.replace('42', '4\x012'));
  assert.equal(json(['verify', p('note-ctl.txt'), '--format', 'signed-note', '--key', p('n1/public.pem')]).code, 10);
  // human output and help texts
  const h = run(['verify', p('note.txt'), '--key', p('n1/public.pem')]);
  assert.match(h.stdout, /VALID \(exit 0\)/);
  for (const args of [['keys', '--help'], ['keys', 'generate', '--help'], ['keys', 'trust', 'add', '--help'], ['sign', '--help']]) {
    const r = run(args);
    assert.equal(r.code, 0);
    assert.ok(r.stdout.includes('Usage: evident'), args.join(' '));
  }
});

test('verifyAny fails closed: a verifier that throws yields a failed report (category from the error code), never an exception', async () => {
  const { runDetector, bytesInput } = await import('../src/verify/detect.ts');
  const { EvidentError } = await import('../src/kernel/errors.ts');
  const input = bytesInput(Buffer.from('{}'));
  const throwing = (e: unknown) => ({ format: 'x.test', detect: () => true, verify: async () => { throw e; } });
  const cases: Array<[unknown, string, number]> = [
    [new EvidentError('JSON_NOT_CANONICALIZABLE', 'non-finite number'), 'JSON_NOT_CANONICALIZABLE', 10],
    [new EvidentError('KEY_FETCH_FAILED', 'no route'), 'KEY_FETCH_FAILED', 4],
    [new EvidentError('SIGNATURE_INVALID', 'bad'), 'SIGNATURE_INVALID', 3],
    [new TypeError('x is undefined'), 'VERIFY_INTERNAL_ERROR', 10],
  ];
  for (const [err, code, exit] of cases) {
    const r = (await runDetector(throwing(err), input, { mode: 'strict' })).toJSON();
    assert.equal(r.valid, false);
    assert.equal(r.format, 'x.test');
    assert.equal(r.exitCode, exit);
    assert.equal(r.checks[0]!.code, code);
  }
});
