/**
 * CLI: `evident log init|append|checkpoint|prove|consistency` on SQLite and PostgreSQL, and
 * `evident verify PROOF --log-key VKEY` with its contract exit codes (0 valid, 2 bad proof, 3 bad signature,
 * 4 missing/unknown key, 10 unparsable).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { spawnSync } from 'node:child_process';
import { verifyConsistency } from '../src/log/merkle.ts';
import { parseCheckpoint } from '../src/log/checkpoint.ts';

const BIN = path.resolve(import.meta.dirname, '../bin/evident.js');
const PG = process.env.EVIDENT_TEST_PG || 'postgres://postgres@127.0.0.1:5432/test';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-logcli-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const p = (f: string) => path.join(tmp, f);

function run(args: string[], env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: tmp, encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
function verifyJson(args: string[]): { code: number; report: any } {
  const r = run(['verify', ...args, '--json']);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, r.stdout + r.stderr);
  const report = JSON.parse(lines[0]!);
  assert.equal(report.exitCode, r.code);
  return { code: r.code, report };
}
const failed = (rep: any) => rep.checks.filter((c: any) => !c.ok && c.code).map((c: any) => c.code);

assert.equal(run(['keys', 'generate', '--alg', 'ed25519', '--out', p('k')]).code, 0);
assert.equal(run(['keys', 'generate', '--alg', 'ed25519', '--out', p('k2')]).code, 0);
for (let i = 0; i < 5; i++) fs.writeFileSync(p(`f${i}.txt`), `file number ${i}\n`);

async function cliSuite(db: string): Promise<void> {
  const origin = 'example.com/cli-log';
  const init = run(['log', 'init', '--db', db, '--key', p('k/private.pem'), '--origin', origin]);
  assert.equal(init.code, 0, init.stderr);
  const vkey = init.stdout.trim();
  assert.match(vkey, /^example\.com\/cli-log\+[0-9a-f]{8}\+/);
  fs.writeFileSync(p('vkey'), vkey + '\n');
  const a1 = run(['log', 'append', '--db', db, p('f0.txt'), p('f1.txt'), '--json']);
  assert.equal(a1.code, 0, a1.stderr);
  const j1 = JSON.parse(a1.stdout);
  assert.deepEqual(j1.entries.map((e: any) => e.index), [0, 1]);
  const a2 = run(['log', 'append', '--db', db, p('f2.txt'), p('f3.txt'), p('f4.txt')]);
  assert.equal(a2.code, 0, a2.stderr);
  assert.match(a2.stdout, /^2 [0-9a-f]{64} /);
  const cp = run(['log', 'checkpoint', '--db', db]);
  assert.equal(cp.code, 0);
  assert.equal(cp.stdout.split('\n')[1], '5');
  const cons = run(['log', 'consistency', '--db', db, '--from', '2', '--to', '5', '--json']);
  assert.equal(cons.code, 0, cons.stderr);
  const cj = JSON.parse(cons.stdout);
  const r2 = parseCheckpoint(j1.checkpoint.split('\n\n')[0] + '\n').rootHash;
  const r5 = parseCheckpoint(cp.stdout.split('\n\n')[0] + '\n').rootHash;
  assert.ok(verifyConsistency(2, 5, cj.proof.map((x: string) => new Uint8Array(Buffer.from(x, 'base64'))), r2, r5));
  assert.equal(run(['log', 'consistency', '--db', db, '--from', '0', '--to', '5']).code, 10);
  assert.equal(run(['log', 'prove', '--db', db, '--index', '9']).code, 10);

  const pr = run(['log', 'prove', '--db', db, '--index', '3', '--out', p('e3.tlog-proof')]);
  assert.equal(pr.code, 0, pr.stderr);
  const proof = fs.readFileSync(p('e3.tlog-proof'), 'utf8');
  assert.ok(proof.startsWith('c2sp.org/tlog-proof@v1\nextra '));
  // earlier checkpoint (size 2)
  const pr2 = run(['log', 'prove', '--db', db, '--index', '1', '--size', '2', '--out', p('e1.tlog-proof')]);
  assert.equal(pr2.code, 0, pr2.stderr);

  let v = verifyJson([p('e3.tlog-proof'), '--log-key', vkey]);
  assert.equal(v.code, 0, JSON.stringify(v.report));
  assert.equal(v.report.format, 'tlog-proof');
  assert.equal(verifyJson([p('e3.tlog-proof'), '--log-key', p('vkey')]).code, 0);
  assert.equal(verifyJson([p('e3.tlog-proof'), '--log-key', p('k/public.pem')]).code, 0);
  assert.equal(verifyJson([p('e1.tlog-proof'), '--log-key', vkey]).code, 0);

  // 2: bad proof (tampered path hash; tampered entry)
  const lines = proof.split('\n');
  const pathLine = lines.findIndex((l, i) => i > 2 && l.length === 44);
  const bad = lines.slice();
  const h = Buffer.from(bad[pathLine]!, 'base64');
  h[0]! ^= 1;
  bad[pathLine] = h.toString('base64');
  fs.writeFileSync(p('bad-path'), bad.join('\n'));
  v = verifyJson([p('bad-path'), '--log-key', vkey]);
  assert.equal(v.code, 2);
  assert.deepEqual(failed(v.report), ['PROOF_INVALID']);
  const badExtra = proof.replace(/^extra .*$/m, `extra ${Buffer.from('forged entry').toString('base64')}`);
  fs.writeFileSync(p('bad-extra'), badExtra);
  assert.equal(verifyJson([p('bad-extra'), '--log-key', vkey]).code, 2);
  const badIndex = proof.replace(/^index 3$/m, 'index 2');
  fs.writeFileSync(p('bad-index'), badIndex);
  assert.equal(verifyJson([p('bad-index'), '--log-key', vkey]).code, 2);

  // 3: bad signature (root changed in the checkpoint body → the log's signature no longer verifies)
  const split = proof.indexOf('\n\n');
  const cpText = proof.slice(split + 2);
  const cpLines = cpText.split('\n');
  const root = Buffer.from(cpLines[2]!, 'base64');
  root[0]! ^= 1;
  cpLines[2] = root.toString('base64');
  fs.writeFileSync(p('bad-sig'), proof.slice(0, split + 2) + cpLines.join('\n'));
  v = verifyJson([p('bad-sig'), '--log-key', vkey]);
  assert.equal(v.code, 3);
  assert.deepEqual(failed(v.report), ['SIGNATURE_INVALID']);

  // 4: missing key, unknown key
  v = verifyJson([p('e3.tlog-proof')]);
  assert.equal(v.code, 4);
  assert.deepEqual(failed(v.report), ['KEY_MISSING']);
  v = verifyJson([p('e3.tlog-proof'), '--log-key', p('k2/public.pem')]);
  assert.equal(v.code, 4);
  assert.deepEqual(failed(v.report), ['KEY_UNTRUSTED']);

  // 10: unparsable
  fs.writeFileSync(p('garbage'), 'c2sp.org/tlog-proof@v1\nindex x\n\nnot a note\n');
  v = verifyJson([p('garbage'), '--log-key', vkey]);
  assert.equal(v.code, 10);
  fs.writeFileSync(p('trunc'), proof.slice(0, split));
  assert.equal(verifyJson([p('trunc'), '--log-key', vkey, '--format', 'tlog-proof']).code, 10);
}

test('log CLI on SQLite + evident verify exit codes', async () => {
  await cliSuite(`sqlite:${p('cli.db')}`);
  // default --db is ./evident-data/evident.db (cwd)
  assert.equal(run(['log', 'init', '--key', p('k/private.pem'), '--origin', 'example.com/default']).code, 0);
  assert.ok(fs.existsSync(p('evident-data/evident.db')));
  assert.equal(run(['log', 'append', '--db', `sqlite:${p('cli.db')}`, p('nope')]).code, 10);
  assert.match(run(['log', 'prove', '--help']).stdout, /--index/);
});

test('log CLI on PostgreSQL', async () => {
  const pool = new pg.Pool({ connectionString: PG, max: 1 });
  // the CLI uses the default table prefix: run in a private schema selected through the URL
  const schema = `evcli_${process.pid}_${Date.now() % 1e6}`;
  await pool.query(`CREATE SCHEMA ${schema}`);
  try {
    const url = `${PG}${PG.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    await cliSuite(url);
  } finally {
    await pool.query(`DROP SCHEMA ${schema} CASCADE`);
    await pool.end();
  }
});
