/** WCP strict extras: identity required, Ed25519 whole-manifest signature, symlink policy, changing files, ban list. */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { canonicalPackageHash, listPackageFiles, hashFileChecked, hashPackageFiles } from '../src/profiles/wcp/package-hash.ts';
import { buildManifest, manifestFileText } from '../src/profiles/wcp/manifest.ts';
import { verifyPackage, parseBanList } from '../src/profiles/wcp/verify.ts';
import { generateKeyPair, publicKeyPem } from '../src/kernel/keys.ts';
import { scaffoldPackage } from '../src/profiles/wcp/scaffold.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-wcp-s-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const SECRET = 's3cret';
const ID = 'x.alice.summarizer.i-1';
const SP = 'wrk.doc.summarizer';

async function signed(opts: { ed?: ReturnType<typeof generateKeyPair> } = {}): Promise<string> {
  const root = path.join(tmp, `p${n++}`);
  scaffoldPackage(root);
  const h = await canonicalPackageHash(root);
  const m = buildManifest({ workerId: ID, species: SP, version: '1.0.0', packageHash: h.hash, builtAt: '2026-03-09T12:00:00Z', secret: SECRET, ed25519: opts.ed?.privateKey });
  fs.writeFileSync(path.join(root, 'manifest.json'), manifestFileText(m));
  return root;
}

const edit = (root: string, f: (m: Record<string, unknown>) => void) => {
  const p = path.join(root, 'manifest.json');
  const m = JSON.parse(fs.readFileSync(p, 'utf8'));
  f(m);
  fs.writeFileSync(p, manifestFileText(m));
};

test('strict: identity must be given; compat fills it from the manifest with a warning', async () => {
  const root = await signed();
  const s = await verifyPackage(root, { mode: 'strict', secret: SECRET });
  assert.equal(s.failures[0]!.code, 'WCP_IDENTITY_REQUIRED');
  assert.equal(s.exitCode, 10);
  const c = await verifyPackage(root, { mode: 'compat', secret: SECRET });
  assert.equal(c.valid, true);
  assert.ok(c.checks.some((x) => x.code === 'WCP_IDENTITY_FROM_MANIFEST'));
  const ok = await verifyPackage(root, { mode: 'strict', workerId: ID, species: SP, secret: SECRET });
  assert.equal(ok.valid, true);
  assert.equal((await verifyPackage(root, { mode: 'strict', workerId: ID, species: 'wrk.other', secret: SECRET })).failures[0]!.code, 'ATTEST_MANIFEST_ID_MISMATCH');
});

test('strict: signature_ed25519 authenticates the unsigned fields', async () => {
  const kp = generateKeyPair('ed25519');
  const other = generateKeyPair('ed25519');
  const pub = path.join(tmp, 'pub.pem');
  const otherPub = path.join(tmp, 'other.pem');
  fs.writeFileSync(pub, publicKeyPem(kp.publicKey));
  fs.writeFileSync(otherPub, publicKeyPem(other.publicKey));
  const root = await signed({ ed: kp });
  const base = { mode: 'strict' as const, workerId: ID, species: SP, secret: SECRET };
  const good = await verifyPackage(root, { ...base, keys: [pub] });
  assert.equal(good.valid, true, JSON.stringify(good.toJSON()));
  assert.ok(good.checks.some((c) => c.id === 'signature_ed25519' && c.ok));
  // a key-less verify of an Ed-signed manifest: key missing (exit 4)
  const nokey = await verifyPackage(root, base);
  assert.equal(nokey.failures[0]!.code, 'KEY_MISSING');
  assert.equal(nokey.exitCode, 4);
  // wrong key: signature invalid
  const wrong = await verifyPackage(root, { ...base, keys: [otherPub] });
  assert.equal(wrong.failures[0]!.code, 'WCP_ED25519_INVALID');
  assert.equal(wrong.exitCode, 3);
  // edit only attested_at_utc (HMAC still valid; compat still accepts): strict reports it
  edit(root, (m) => (m.attested_at_utc = '1999-01-01T00:00:00Z'));
  const forged = await verifyPackage(root, { ...base, keys: [pub] });
  assert.equal(forged.failures[0]!.code, 'WCP_ED25519_INVALID');
  assert.equal(forged.exitCode, 3);
  assert.equal((await verifyPackage(root, { ...base, mode: 'compat' })).valid, true);
  // pinned key but no Ed25519 signature in the manifest
  const plain = await signed();
  const missing = await verifyPackage(plain, { ...base, keys: [pub] });
  assert.equal(missing.failures[0]!.code, 'WCP_ED25519_MISSING');
});

test('HMAC: upper-case and trailing-junk signatures are rejected (ATTEST_SIG_INVALID)', async () => {
  const root = await signed();
  const base = { mode: 'strict' as const, workerId: ID, species: SP, secret: SECRET };
  for (const f of [(s: string) => s.toUpperCase(), (s: string) => s + 'zz', (s: string) => s.slice(0, 62), (s: string) => ' ' + s]) {
    const r2 = path.join(tmp, `p${n++}`);
    fs.cpSync(root, r2, { recursive: true });
    edit(r2, (m) => (m.signature_hmac_sha256 = f(m.signature_hmac_sha256 as string)));
    const r = await verifyPackage(r2, base);
    assert.equal(r.failures[0]!.code, 'ATTEST_SIG_INVALID');
    assert.equal(r.exitCode, 3);
  }
});

test('manifest not JSON / duplicate keys / not an object → ATTEST_MANIFEST_MISSING (exit 10)', async () => {
  const root = await signed();
  const base = { mode: 'strict' as const, workerId: ID, species: SP, secret: SECRET };
  for (const text of ['not json', '[1]', '{"worker_id":"a","worker_id":"b"}']) {
    fs.writeFileSync(path.join(root, 'manifest.json'), text);
    const r = await verifyPackage(root, base);
    assert.equal(r.failures[0]!.code, 'ATTEST_MANIFEST_MISSING', text);
    assert.equal(r.exitCode, 10);
  }
});

test('ban list: ATTEST_BANNED_HASH (exit 1); formats accepted', async () => {
  const root = await signed();
  const h = (await canonicalPackageHash(root)).hash;
  const base = { mode: 'strict' as const, workerId: ID, species: SP, secret: SECRET };
  for (const list of [[h], ['sha256:' + h.toUpperCase()], [{ sha256: h, reason: 'malware' }], { ban_list: [h] }]) {
    const r = await verifyPackage(root, { ...base, banned: parseBanList(JSON.stringify(list)) });
    assert.equal(r.failures[0]!.code, 'ATTEST_BANNED_HASH');
    assert.equal(r.exitCode, 1);
  }
  const ok = await verifyPackage(root, { ...base, banned: parseBanList(JSON.stringify(['0'.repeat(64)])) });
  assert.equal(ok.valid, true);
  assert.throws(() => parseBanList('["nothex"]'), { code: 'INPUT_INVALID' });
  assert.throws(() => parseBanList('{"x":1}'), { code: 'INPUT_INVALID' });
});

test('symlinks: rejected in strict, followed inside the root in compat, never outside', async () => {
  const root = path.join(tmp, `p${n++}`);
  fs.mkdirSync(path.join(root, 'code'), { recursive: true });
  fs.writeFileSync(path.join(root, 'code/a.txt'), 'A');
  fs.symlinkSync('code/a.txt', path.join(root, 'link.txt'));
  await assert.rejects(canonicalPackageHash(root), { code: 'WCP_SYMLINK_REJECTED' });
  const r = await canonicalPackageHash(root, { symlinks: 'follow-inside' });
  assert.deepEqual(r.records.map((x) => x.rel), ['code/a.txt', 'link.txt']);
  assert.equal(r.records[0]!.sha256, r.records[1]!.sha256);
  const outside = path.join(tmp, 'outside.txt');
  fs.writeFileSync(outside, 'secret');
  fs.symlinkSync(outside, path.join(root, 'out.txt'));
  await assert.rejects(canonicalPackageHash(root, { symlinks: 'follow-inside' }), { code: 'WCP_SYMLINK_OUTSIDE' });
  fs.rmSync(path.join(root, 'out.txt'));
  fs.symlinkSync(tmp, path.join(root, 'updir'));
  await assert.rejects(canonicalPackageHash(root, { symlinks: 'follow-inside' }), { code: 'WCP_SYMLINK_OUTSIDE' });
  // in verify: symlink → input failure, not a crash
  fs.rmSync(path.join(root, 'updir'));
  const v = await verifyPackage(root, { mode: 'strict', workerId: ID, species: SP, secret: SECRET });
  assert.equal(v.failures[0]!.code, 'ATTEST_MANIFEST_MISSING');
  fs.writeFileSync(path.join(root, 'manifest.json'), manifestFileText(buildManifest({ workerId: ID, species: SP, version: '1', packageHash: r.hash, builtAt: '2026-01-01T00:00:00Z', secret: SECRET })));
  const v2 = await verifyPackage(root, { mode: 'strict', workerId: ID, species: SP, secret: SECRET });
  assert.equal(v2.failures[0]!.code, 'WCP_SYMLINK_REJECTED');
  assert.equal(v2.exitCode, 10);
  assert.equal((await verifyPackage(root, { mode: 'compat', workerId: ID, species: SP, secret: SECRET })).valid, true);
});

test('a file that changes between listing and hashing is detected (inline and worker threads)', async () => {
  const root = path.join(tmp, `p${n++}`);
  fs.mkdirSync(root);
  fs.writeFileSync(path.join(root, 'a.txt'), 'before');
  const [f] = listPackageFiles(root);
  assert.equal(hashFileChecked(f!).size, 6);
  fs.writeFileSync(path.join(root, 'a.txt'), 'after, longer');
  assert.throws(() => hashFileChecked(f!), { code: 'WCP_FILE_CHANGED' });
  const same = { ...f!, mtimeMs: f!.mtimeMs - 1000 };
  assert.throws(() => hashFileChecked(same), { code: 'WCP_FILE_CHANGED' });
  fs.writeFileSync(path.join(root, 'b.txt'), 'b');
  const files = listPackageFiles(root);
  assert.equal((await hashPackageFiles(files, 2)).length, 2);
  fs.writeFileSync(path.join(root, 'b.txt'), 'bb');
  await assert.rejects(hashPackageFiles(files, 2), { code: 'WCP_FILE_CHANGED' });
  await assert.rejects(hashPackageFiles(files, 0), { code: 'WCP_FILE_CHANGED' });
  // swapped for a FIFO (must not block) or for a symlink after listing
  const files2 = listPackageFiles(root);
  fs.rmSync(path.join(root, 'b.txt'));
  spawnSync('mkfifo', [path.join(root, 'b.txt')]);
  for (const w of [0, 2]) await assert.rejects(hashPackageFiles(files2, w), { code: 'WCP_FILE_CHANGED' });
  fs.rmSync(path.join(root, 'b.txt'));
  fs.symlinkSync(path.join(root, 'a.txt'), path.join(root, 'b.txt'));
  for (const w of [0, 2]) await assert.rejects(hashPackageFiles(files2, w), { code: 'WCP_FILE_CHANGED' });
});

test('scaffold refuses to overwrite without force', () => {
  const root = path.join(tmp, `p${n++}`);
  assert.deepEqual(scaffoldPackage(root).sort(), ['code/bootstrap.py', 'code/worker_logic.py', 'config.schema.json', 'requirements.lock']);
  assert.throws(() => scaffoldPackage(root), { code: 'WCP_EXISTS' });
  assert.equal(scaffoldPackage(root, { force: true }).length, 4);
  assert.equal(JSON.parse(fs.readFileSync(path.join(root, 'config.schema.json'), 'utf8')).$schema, 'https://json-schema.org/draft/2020-12/schema');
});

test('progress bar: only on a TTY and only for large packages; ends with a newline at 100%', async () => {
  const { ttyProgress } = await import('../src/profiles/wcp/package-hash.ts');
  const fake = (isTTY: boolean) => {
    const out: string[] = [];
    return { out, stream: { isTTY, write: (s: string) => out.push(s) } as unknown as NodeJS.WriteStream };
  };
  assert.equal(ttyProgress(fake(false).stream), undefined, 'not a TTY: no bar');
  const small = fake(true);
  const onSmall = ttyProgress(small.stream, 1000, 10)!;
  onSmall({ doneBytes: 10, totalBytes: 10, doneFiles: 1, totalFiles: 1 });
  assert.deepEqual(small.out, [], 'small package: no bar');
  const big = fake(true);
  const on = ttyProgress(big.stream, 1000, 10)!;
  on({ doneBytes: 500, totalBytes: 2000, doneFiles: 5, totalFiles: 20 });
  on({ doneBytes: 2000, totalBytes: 2000, doneFiles: 20, totalFiles: 20 });
  assert.match(big.out[0]!, /^\rhashing \[#+\.+\] {2}25% 5\/20 files$/);
  assert.match(big.out.join(''), /100% 20\/20 files\n$/);
});

test('file names: invalid UTF-8 bytes are refused (also when a valid U+FFFD sits in the same directory); a real U+FFFD is hashed', async () => {
  const root = fs.mkdtempSync(path.join(tmp, 'names-'));
  fs.mkdirSync(path.join(root, 'sub'));
  fs.writeFileSync(path.join(root, 'sub', 'ok\ufffd.txt'), 'x');
  const ok = await canonicalPackageHash(root);
  assert.deepEqual(ok.records.map((r) => r.rel), ['sub/ok\ufffd.txt']);
  for (const bad of [[0x62, 0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80]]) {
    const name = Buffer.concat([Buffer.from(path.join(root, 'sub') + '/'), Buffer.from(bad)]);
    fs.writeFileSync(name, 'y');
    for (const workers of [0, 2]) await assert.rejects(canonicalPackageHash(root, { workers }), { code: 'INPUT_INVALID', message: /not valid UTF-8 in sub/ });
    fs.unlinkSync(name);
  }
  assert.equal((await canonicalPackageHash(root)).hash, ok.hash);
});

test('WorkerHasher: a worker that dies with batches outstanding fails the hash (IO_ERROR) instead of hanging', async () => {
  const { WorkerHasher, startHashWorkers, listPackageFiles: list } = await import('../src/profiles/wcp/package-hash.ts');
  const root = fs.mkdtempSync(path.join(tmp, 'dies-'));
  for (let i = 0; i < 300; i++) fs.writeFileSync(path.join(root, `f${i}`), Buffer.alloc(64 * 1024, i));
  const files = list(root, { stat: false });
  const pool = startHashWorkers(2);
  const h = new WorkerHasher(pool, files);
  h.end();
  await pool[0]!.terminate();
  await assert.rejects(h.done, { code: 'IO_ERROR', message: /exited/ });
  await h.close();
  // and a healthy pool hashes the same files to what the inline hasher gives
  const ok = new WorkerHasher(startHashWorkers(2), files);
  ok.end();
  await ok.done;
  await ok.close();
  assert.deepEqual(ok.hashes, await hashPackageFiles(list(root, { stat: false }), 0));
});

test('threads that hash: 0 (inline), 1 worker, 1 worker + caller, 2 workers + caller give the same hash; the caller detects a changed file', async () => {
  const { WorkerHasher, startHashWorkers, listPackageFiles: list } = await import('../src/profiles/wcp/package-hash.ts');
  const root = fs.mkdtempSync(path.join(tmp, 'threads-'));
  for (let d = 0; d < 5; d++) {
    fs.mkdirSync(path.join(root, `d${d}`));
    for (let i = 0; i < 120; i++) fs.writeFileSync(path.join(root, `d${d}`, `f${i}`), Buffer.alloc(1000 + i * 37, d * 7 + i));
  }
  const want = (await canonicalPackageHash(root, { workers: 0 })).hash;
  for (const workers of [1, 2, 3]) assert.equal((await canonicalPackageHash(root, { workers })).hash, want, `workers ${workers}`);
  // the caller's share: no worker at all, every batch hashed on this thread; a file whose size differs from the
  // listing (as if it changed between listing and hashing) is reported
  const files = list(root, { stat: true });
  const h = new WorkerHasher([], files, undefined, true);
  h.end();
  await h.done;
  assert.deepEqual(h.hashes, await hashPackageFiles(list(root, { stat: false }), 0));
  files[42]!.size += 1;
  const h2 = new WorkerHasher(startHashWorkers(0), files, undefined, true);
  h2.end();
  await assert.rejects(h2.done, { code: 'WCP_FILE_CHANGED' });
});
