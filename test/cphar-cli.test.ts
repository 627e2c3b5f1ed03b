/** CLI: `evident seal …` and `evident verify ATTESTATION --challenge FILE` (spawns bin/evident.js). */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawnSync, spawn } from 'node:child_process';
import { openDb, testPostgresUrl } from '../src/store/db.ts';
import { sqlFor } from '../src/store/sql.ts';

const BIN = path.resolve(import.meta.dirname, '../bin/evident.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-cphar-cli-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const p = (f: string) => path.join(tmp, f);
const FW = 'sha256:' + '11'.repeat(32);
const FW2 = 'sha256:' + '22'.repeat(32);

function run(args: string[], input?: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { input, cwd: tmp, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
function json(args: string[]): { code: number; report: any } {
  const r = run([...args, '--json']);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, `--json prints exactly one line: ${r.stdout} ${r.stderr}`);
  const report = JSON.parse(lines[0]!);
  assert.equal(report.exitCode, r.code);
  return { code: r.code, report };
}
const reason = (r: any) => r.checks.find((c: any) => !c.ok)?.code;

test('seal register/inspect/challenge/respond/verify, replay across processes, lot double-binding, revoke, evident verify', () => {
  const DB = `sqlite:${p('reg.db')}`;
  assert.equal(run(['keys', 'generate', '--alg', 'ed25519', '--out', p('k1')]).code, 0);
  assert.equal(run(['keys', 'generate', '--alg', 'es256', '--out', p('k2')]).code, 0);
  let r = run(['seal', 'register', '--db', DB, '--seal', 'seal_A', '--key', p('k1/public.pem'), '--firmware', FW, '--lot', 'L1']);
  assert.equal(r.code, 0, r.stderr);
  r = run(['seal', 'inspect', '--db', DB, '--seal', 'seal_A', '--sealed']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Sealed/);
  // lot double-binding: policy refusal, exit 1
  const lot = json(['seal', 'register', '--db', DB, '--seal', 'seal_B', '--key', p('k2/public.pem'), '--firmware', FW, '--lot', 'L1']);
  assert.equal(lot.code, 1);
  assert.equal(reason(lot.report), 'LOT_ALREADY_BOUND');

  // challenge (nonce issued in DB) → respond → verify
  assert.equal(run(['seal', 'challenge', '--seal', 'seal_A', '--db', DB, '--out', p('c.json')]).code, 0);
  const c = JSON.parse(fs.readFileSync(p('c.json'), 'utf8'));
  assert.equal(Buffer.from(c.nonce, 'base64url').length, 32);
  r = run(['seal', 'respond', '--key', p('k1/private.pem'), '--firmware', FW, p('c.json'), '--out', p('a.json')]);
  assert.equal(r.code, 0, r.stderr);
  const ok = json(['seal', 'verify', '--db', DB, p('c.json'), p('a.json'), '--require-issued']);
  assert.equal(ok.code, 0, JSON.stringify(ok.report));
  // replay in another process (same DB file): rejected
  const replay = json(['seal', 'verify', '--db', DB, p('c.json'), p('a.json')]);
  assert.equal(replay.code, 1);
  assert.equal(reason(replay.report), 'REPLAY');

  // swapped firmware measurement in the attestation → signature invalid (exit 3)
  assert.equal(run(['seal', 'challenge', '--seal', 'seal_A', '--db', DB, '--out', p('c2.json')]).code, 0);
  const a2 = JSON.parse(run(['seal', 'respond', '--key', p('k1/private.pem'), '--firmware', FW], fs.readFileSync(p('c2.json'), 'utf8')).stdout);
  fs.writeFileSync(p('a2.json'), JSON.stringify({ ...a2, firmware_measurement: FW2 }));
  const sw = json(['seal', 'verify', '--db', DB, p('c2.json'), p('a2.json')]);
  assert.equal(sw.code, 3);
  assert.equal(reason(sw.report), 'SIGNATURE_INVALID');
  // evident verify auto-detects the (genuine) attestation with --challenge
  fs.writeFileSync(p('a2ok.json'), JSON.stringify(a2));
  const v = json(['verify', p('a2ok.json'), '--challenge', p('c2.json'), '--db', DB]);
  assert.equal(v.code, 0, JSON.stringify(v.report));
  assert.equal(v.report.format, 'cphar.attestation');
  assert.equal(json(['verify', p('a2ok.json'), '--db', DB]).code, 10, 'no --challenge → input error');
  // stale with --now
  const st = json(['seal', 'verify', '--db', DB, p('c2.json'), p('a2ok.json'), '--now', new Date(Date.parse(c.timestamp) + 3_600_000).toISOString()]);
  assert.equal(reason(st.report), 'STALE');

  // revoke → exit 4 SEAL_REVOKED
  assert.equal(run(['seal', 'revoke', '--db', DB, '--seal', 'seal_A', '--reason', 'test']).code, 0);
  assert.equal(run(['seal', 'challenge', '--seal', 'seal_A', '--out', p('c3.json')]).code, 0);
  fs.writeFileSync(p('a3.json'), run(['seal', 'respond', '--key', p('k1/private.pem'), '--firmware', FW, p('c3.json')]).stdout);
  const rv = json(['seal', 'verify', '--db', DB, p('c3.json'), p('a3.json')]);
  assert.equal(rv.code, 4);
  assert.equal(reason(rv.report), 'SEAL_REVOKED');
  // status shows the append-only history; snapshot prints a digest
  const s = JSON.parse(run(['seal', 'status', '--db', DB, '--seal', 'seal_A', '--json']).stdout);
  assert.deepEqual(s.events.map((e: any) => e.event), ['register', 'inspect', 'seal', 'revoke']);
  assert.match(run(['seal', 'snapshot', '--db', DB]).stdout.trim(), /^sha256:[0-9a-f]{64}$/);
  // malformed input never crashes
  fs.writeFileSync(p('bad.json'), '{"type":"cphar.seal.attestation"');
  assert.equal(run(['seal', 'verify', '--db', DB, p('c3.json'), p('bad.json')]).code, 10);
});

test('seal device answers newline-delimited challenges on stdin/stdout and over HTTP', async () => {
  assert.equal(run(['keys', 'generate', '--alg', 'ed25519', '--out', p('kd')]).code, 0);
  assert.equal(run(['seal', 'challenge', '--seal', 'seal_D', '--out', p('cd.json')]).code, 0);
  const ch = fs.readFileSync(p('cd.json'), 'utf8').trim();
  const r = run(['seal', 'device', '--key', p('kd/private.pem'), '--firmware', FW, '--seal', 'seal_D'], `${ch}\nnot json\n${ch.replace('seal_D', 'seal_E')}\n`);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 3);
  assert.equal(lines[0].type, 'cphar.seal.attestation');
  assert.equal(lines[1].error.code, 'JSON_SYNTAX');
  assert.equal(lines[2].error.code, 'SEAL_ID_MISMATCH');

  const child = spawn(process.execPath, [BIN, 'seal', 'device', '--key', p('kd/private.pem'), '--firmware', FW, '--http', '0'], { cwd: tmp });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let err = '';
      child.stderr.on('data', (d) => {
        err += d;
        const m = /127\.0\.0\.1:(\d+)/.exec(err);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', () => reject(new Error(`device exited: ${err}`)));
    });
    const res = await fetch(`http://127.0.0.1:${port}/challenge`, { method: 'POST', body: ch });
    assert.equal(res.status, 200);
    const att = (await res.json()) as any;
    assert.equal(att.type, 'cphar.seal.attestation');
    assert.equal(att.firmware_measurement, FW);
    const bad = await fetch(`http://127.0.0.1:${port}/challenge`, { method: 'POST', body: '{}' });
    assert.equal(bad.status, 400);
  } finally {
    child.kill('SIGTERM');
  }
});

const pg = testPostgresUrl();
test('postgres: a replayed response is rejected by another process sharing the database', { skip: !pg && 'EVIDENT_TEST_PG not set' }, async () => {
  const id = `seal_pg${randomBytes(6).toString('hex')}`;
  assert.equal(run(['keys', 'generate', '--alg', 'es256', '--out', p('kp')]).code, 0);
  try {
    let r = run(['seal', 'register', '--db', pg!, '--seal', id, '--key', p('kp/public.pem'), '--firmware', FW]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(run(['seal', 'inspect', '--db', pg!, '--seal', id, '--sealed']).code, 0);
    assert.equal(run(['seal', 'challenge', '--seal', id, '--db', pg!, '--out', p('pc.json')]).code, 0);
    r = run(['seal', 'respond', '--key', p('kp/private.pem'), '--firmware', FW, p('pc.json'), '--out', p('pa.json')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(json(['seal', 'verify', '--db', pg!, p('pc.json'), p('pa.json'), '--require-issued']).code, 0);
    const again = json(['seal', 'verify', '--db', pg!, p('pc.json'), p('pa.json')]);
    assert.equal(reason(again.report), 'REPLAY');
  } finally {
    const h = await openDb(pg!);
    const q = sqlFor(h);
    for (const t of ['nonces', 'snapshots', 'events', 'seals']) await q.exec(`DROP TABLE IF EXISTS cphar_${t}`);
    await h.close();
  }
});
