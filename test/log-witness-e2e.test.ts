/**
 * End to end, real processes: `evident witness serve`, `evident serve --witness …`, the remote client, the monitor
 * and `evident verify --witness`.
 *
 * Honest path: the service's collector gets cosignatures (following the witness's 409), /checkpoint and quorum
 * receipts carry them, the receipt verifies only with the witness key; the remote client (tiles alone) prints
 * byte-identical checkpoints, proofs and entries to the local CLI; the monitor records and follows the log.
 * Fork: the log's database is restored from an old copy (same key) and different entries are appended: the monitor
 * reports a rollback, then the fork (exit 1, naming both checkpoints), and the witness refuses it (422).
 * Tiles: an oversized append is refused (CLI and service), no tile answers 500, errors are never cached, CORS on
 * the public reads only. Read-only commands never create a database.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { formatSkey, formatVkey, NOTE_SIG_COSIGNATURE_V1 } from '../src/kernel/note.ts';
import { loadPrivateKey, writeKeyDir, KEY_DIR_FILES } from '../src/store/keyfiles.ts';
import { testPostgresUrl } from '../src/store/db.ts';
import { parseCheckpoint } from '../src/log/checkpoint.ts';
import { parseNote, parseVkey } from '../src/kernel/note.ts';
import { RemoteLog } from '../src/log/remote.ts';
import { formatAddCheckpoint } from '../src/log/witness/protocol.ts';
import { cleanEnv, spawnListening, type Listening } from './serve-process.ts';
import { freshPgDatabase } from './pg-fresh.ts';

const BIN = path.resolve(import.meta.dirname, '../bin/evident.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-witness-e2e-'));
const p = (f: string) => path.join(tmp, f);
const children: ChildProcess[] = [];
test.after(() => {
  if (process.env.KEEP_TMP) return;
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
});

function run(args: string[], input?: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: tmp, encoding: 'utf8', timeout: 60_000, env: cleanEnv(), input });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** `run` without blocking: independent CLI calls of one step run side by side. */
function runAsync(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [BIN, ...args], { cwd: tmp, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout!.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    c.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    c.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Start a long-running command; resolves once it prints "listening on URL". */
async function start(args: string[]): Promise<Listening> {
  const l = await spawnListening(args, { cwd: tmp, timeoutMs: 30_000 });
  children.push(l.child);
  return l;
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const ORIGIN = 'localhost/evident';
const wKey = generateKeyPairSync('ed25519').privateKey;
const W_NAME = 'witness.test/w1';
const W_VKEY = formatVkey(W_NAME, wKey, NOTE_SIG_COSIGNATURE_V1);
const OTHER_W_VKEY = formatVkey(W_NAME, generateKeyPairSync('ed25519').privateKey, NOTE_SIG_COSIGNATURE_V1);
fs.writeFileSync(p('witness.skey'), formatSkey(W_NAME, wKey, NOTE_SIG_COSIGNATURE_V1) + '\n', { mode: 0o600 });
// the service's log key, made before its first start so the witness can be configured with its vkey
writeKeyDir(p('data/keys/log'), 'ed25519');
const LOG_VKEY = formatVkey(ORIGIN, loadPrivateKey(p(`data/keys/log/${KEY_DIR_FILES.private}`)));

const monitor = (url: string, ...extra: string[]) => {
  const r = run(['log', 'monitor', '--url', url, '--log-key', LOG_VKEY, '--state', p('monitor.json'), '--json', ...extra]);
  const lines = r.stdout.trim().split('\n').filter(Boolean);
  assert.equal(lines.length, 1, r.stdout + r.stderr);
  return { code: r.code, check: JSON.parse(lines[0]!), stderr: r.stderr };
};

test('witnessed log: honest path, remote client, monitor, fork detection, tiles', { timeout: 180_000 }, async () => {
  const pgBase = testPostgresUrl();
  const pg = pgBase ? await freshPgDatabase(pgBase) : undefined;
  try {
    const witness = await start(['witness', 'serve', '--key', p('witness.skey'), '--log', LOG_VKEY, '--db', pg?.url ?? `sqlite:${p('witness.db')}`, '--port', '0']);
    assert.ok(witness.stderr().includes(`witness vkey: ${W_VKEY}`), witness.stderr());
    const wArg = `w1=${W_VKEY}@${witness.url}`;
    let svc = await start(['serve', '--data-dir', p('data'), '--port', '0', '--witness', wArg, '--witness-quorum', '1']);
    const first = svc;
    const token = await until('the admin token', async () => /admin token \(shown once, stored hashed\): (\S+)\n/.exec(first.stderr())?.[1]);
    const post = (url: string, payload: string, q = '') =>
      fetch(`${url}/v1/receipts${q}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ format: 'dsse', payload_type: 'text/plain', payload_base64: Buffer.from(payload).toString('base64') }),
      });

    // ---- honest path: receipts, the collector cosigns (the first request learns the size from a 409)
    for (let i = 0; i < 3; i++) assert.equal((await post(svc.url, `honest ${i}`)).status, 201);
    const q = await post(svc.url, 'honest quorum', '?cosigned=1');
    assert.equal(q.status, 201, await q.clone().text());
    const receipt = (await q.json()) as { tlog_proof: string };
    assert.match(receipt.tlog_proof, new RegExp(`\u2014 ${W_NAME.replace('/', '\\/')} `), 'the quorum receipt carries the cosignature');
    fs.writeFileSync(p('receipt.json'), JSON.stringify(receipt));
    assert.equal((await post(svc.url, 'x', '?cosigned=2')).status, 400, 'more cosignatures than witnesses');
    // /checkpoint carries it too, and CORS on public reads
    const cpRes = await until('a cosigned /checkpoint', async () => {
      const r = await fetch(svc.url + '/checkpoint');
      const t = await r.text();
      // 4 receipts + the service key's signer certificate (logged when the CA issued it, src/ca/)
      return parseCheckpoint(parseNote(t).text).size === 5 && t.includes(`\u2014 ${W_NAME} `) ? { r, t } : undefined;
    });
    assert.equal(cpRes.r.headers.get('access-control-allow-origin'), '*');

    // ---- verify with witnesses: only the witness key makes the quorum; a bad cosignature is exit 3
    const svcKey = ['--key', p('data/keys/service/public.pem')];
    const verify = async (...a: string[]) => (await runAsync(['verify', p('receipt.json'), '--log-key', LOG_VKEY, ...svcKey, ...a])).code;
    assert.deepEqual(
      await Promise.all([verify(), verify('--witness', W_VKEY), verify('--witness', W_VKEY, '--witness-quorum', '1'), verify('--witness', OTHER_W_VKEY, '--witness-quorum', '1'), verify('--witness-quorum', '1')]),
      [0, 0, 0, 1, 1],
      'valid; with the witness key; quorum 1 with it; another witness key or none: quorum not met (policy, exit 1)',
    );
    const bad = JSON.parse(fs.readFileSync(p('receipt.json'), 'utf8'));
    bad.tlog_proof = bad.tlog_proof.replace(new RegExp(`(\u2014 ${W_NAME.replace('/', '\\/')} [A-Za-z0-9+/]{20})(.)`), (_: string, a: string, c: string) => a + (c === 'A' ? 'B' : 'A'));
    fs.writeFileSync(p('receipt-bad.json'), JSON.stringify(bad));
    assert.equal(run(['verify', p('receipt-bad.json'), '--log-key', LOG_VKEY, ...svcKey, '--witness', W_VKEY]).code, 3, 'a corrupted cosignature');
    assert.equal(run(['verify', p('receipt-bad.json'), '--log-key', LOG_VKEY, ...svcKey]).code, 0, 'cosignatures of keys not pinned are ignored');
    // checkpoints too
    fs.writeFileSync(p('cp.txt'), cpRes.t);
    assert.equal(run(['verify', p('cp.txt'), '--log-key', LOG_VKEY, '--witness', W_VKEY, '--witness-quorum', '1']).code, 0);
    assert.equal(run(['verify', p('cp.txt'), '--log-key', LOG_VKEY, '--witness', OTHER_W_VKEY]).code, 1);

    // ---- remote client: byte-identical to the local CLI (the service is idle now)
    const db = `sqlite:${p('data/evident.db')}`;
    const remote = ['--url', svc.url, '--log-key', LOG_VKEY];
    for (const args of [['log', 'checkpoint'], ['log', 'prove', '--index', '2'], ['log', 'prove', '--index', '0', '--no-extra'], ['log', 'consistency', '--from', '1'], ['log', 'entries', '--from', '1', '--json']]) {
      const [local, viaTiles] = await Promise.all([runAsync([...args, '--db', db]), runAsync([...args, ...remote])]);
      assert.equal(local.code, 0, local.stderr);
      assert.equal(viaTiles.code, 0, viaTiles.stderr);
      assert.equal(viaTiles.stdout, local.stdout, `${args.join(' ')}: remote = local`);
    }
    assert.equal(run(['log', 'prove', '--index', '1', ...remote, '--witness', W_VKEY, '--witness-quorum', '1', '--out', p('remote.tlog-proof')]).code, 0);
    assert.equal(run(['verify', p('remote.tlog-proof'), '--log-key', LOG_VKEY, '--witness', W_VKEY]).code, 0);
    assert.notEqual(run(['log', 'checkpoint', ...remote, '--witness', OTHER_W_VKEY, '--witness-quorum', '1']).code, 0);

    // ---- monitor: first sight, then consistent growth (audit re-hashes the entries)
    let m = monitor(svc.url, '--witness', W_VKEY, '--audit');
    assert.equal(m.code, 0, m.stderr);
    assert.equal(m.check.code, 'FIRST_SEEN');
    assert.equal(m.check.audited, 5);
    m = monitor(svc.url, '--witness', OTHER_W_VKEY);
    assert.equal(m.code, 1, 'a witness the log does not have: the monitor refuses the checkpoint');
    assert.equal(m.check.code, 'WITNESS_QUORUM');

    // snapshot of the log's database at this size (the operator's old backup)
    await svc.stop();
    fs.cpSync(p('data'), p('data-old'), { recursive: true });
    svc = await start(['serve', '--data-dir', p('data'), '--port', '0', '--witness', wArg]);
    for (let i = 0; i < 2; i++) assert.equal((await post(svc.url, `honest more ${i}`, '?cosigned=1')).status, 201);
    m = monitor(svc.url, '--witness', W_VKEY, '--audit');
    assert.equal(m.code, 0, m.stderr);
    assert.equal(m.check.code, 'OK');
    assert.equal(m.check.current.size, 7);
    assert.equal(m.check.audited, 2);
    const honest = m.check.current;
    await svc.stop();

    // ---- fork: the old copy, same key, different entries
    const fork = await start(['serve', '--data-dir', p('data-old'), '--port', '0', '--witness', wArg, '--witness-timeout', '2']);
    m = monitor(fork.url);
    assert.equal(m.code, 1);
    assert.equal(m.check.code, 'ROLLBACK');
    for (let i = 0; i < 3; i++) assert.equal((await post(fork.url, `forked ${i}`)).status, 201, 'witness refusal never blocks appends');
    m = monitor(fork.url);
    assert.equal(m.code, 1, 'the monitor detects the fork');
    assert.equal(m.check.code, 'FORK');
    assert.equal(m.check.current.size, 8);
    assert.ok(m.check.message.includes(`size 7 root ${honest.rootHash}`) && m.check.message.includes(`size 8 root ${m.check.current.rootHash}`), m.check.message);
    const human = run(['log', 'monitor', '--url', fork.url, '--log-key', LOG_VKEY, '--state', p('monitor.json')]);
    assert.equal(human.code, 1);
    assert.match(human.stderr, /FORK: split view: checkpoint size 8 .* is not consistent with the verified checkpoint size 7/);
    assert.equal(JSON.parse(fs.readFileSync(p('monitor.json'), 'utf8')).size, 7, 'a failed check never moves the state');
    // the witness refuses the fork: the collector's request (old 7, the fork's own consistency proof) is a 422
    const rl = new RemoteLog(fork.url, { logKey: parseVkey(LOG_VKEY) });
    const { note } = await rl.checkpoint();
    const refused = await fetch(witness.url + '/add-checkpoint', { method: 'POST', body: formatAddCheckpoint({ oldSize: 7, proof: await rl.consistencyProof(7), checkpoint: note }) });
    assert.equal(refused.status, 422);
    assert.ok(!note.includes(`\u2014 ${W_NAME} `), 'the forked checkpoint carries no cosignature');
    assert.equal((await post(fork.url, 'forked quorum', '?cosigned=1')).status, 504, 'a quorum receipt cannot be had on the fork');

    // ---- tiles: every tile of the fork answers 200 (never 500), errors are not cached, CORS on reads only
    const size = parseCheckpoint(parseNote(await (await fetch(fork.url + '/checkpoint')).text()).text).size;
    for (const t of [`tile/0/000.p/${size}`, `tile/entries/000.p/${size}`]) {
      const r = await fetch(`${fork.url}/${t}`);
      assert.equal(r.status, 200, t);
      assert.match(r.headers.get('cache-control') ?? '', /immutable/);
      assert.equal(r.headers.get('access-control-allow-origin'), '*');
      await r.arrayBuffer();
    }
    const missing = await fetch(`${fork.url}/tile/0/001`);
    assert.equal(missing.status, 404);
    assert.doesNotMatch(missing.headers.get('cache-control') ?? '', /immutable/);
    for (const u of ['/.well-known/jwks.json', '/v1/log']) assert.equal((await fetch(fork.url + u)).headers.get('access-control-allow-origin'), '*', u);
    const big = await post(fork.url, 'x'.repeat(60_000));
    assert.equal(big.status, 413, `${await big.clone().text()}: an oversized receipt is refused (413 PAYLOAD_TOO_LARGE), never a 500`);
    assert.equal(big.headers.get('access-control-allow-origin'), null, 'no CORS on writes');
    assert.equal(parseCheckpoint(parseNote(await (await fetch(fork.url + '/checkpoint')).text()).text).size, size, 'the refused receipt was not logged');
    await fork.stop();
    await witness.stop();
  } finally {
    await pg?.drop();
  }
});

test('CLI: oversized entries refused before anything is stored; read-only commands create nothing', () => {
  const k = generateKeyPairSync('ed25519').privateKey;
  fs.writeFileSync(p('cli.skey'), formatSkey('example.com/cli', k) + '\n', { mode: 0o600 });
  const db = `sqlite:${p('cli.db')}`;
  assert.equal(run(['log', 'init', '--db', db, '--key', p('cli.skey'), '--origin', 'example.com/cli']).code, 0);
  fs.writeFileSync(p('max.bin'), Buffer.alloc(65_535, 1));
  fs.writeFileSync(p('over.bin'), Buffer.alloc(65_536, 2));
  fs.writeFileSync(p('small.bin'), 'small\n');
  const over = run(['log', 'append', '--db', db, p('small.bin'), p('over.bin')]);
  assert.equal(over.code, 10);
  assert.match(over.stderr, /ENTRY_TOO_LARGE/);
  assert.equal(JSON.parse(run(['log', 'checkpoint', '--db', db, '--json']).stdout).size, 0, 'nothing stored, not even the small file');
  assert.equal(run(['log', 'append', '--db', db, p('max.bin')]).code, 0);
  const entries = JSON.parse(run(['log', 'entries', '--db', db, '--json']).stdout);
  assert.equal(Buffer.from(entries.entries[0].data, 'base64').length, 65_535);
  const ro = run(['log', 'checkpoint', '--db', `sqlite:${p('nope/missing.db')}`]);
  assert.equal(ro.code, 10);
  assert.equal(fs.existsSync(p('nope')), false, 'no directory or database created');
  assert.equal(run(['log', 'prove', '--index', '0', '--db', `sqlite:${p('missing2.db')}`]).code, 10);
  assert.equal(fs.existsSync(p('missing2.db')), false);
});
