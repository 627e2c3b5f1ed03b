/**
 * Issue #20 items 8 and 9: a WCP package that passes strict verification (HMAC and Ed25519) must not run code its
 * hash does not cover, and two trees must not share one package hash through names with control characters.
 *  - 8: a planted `__pycache__/*.pyc` (excluded from the hash by the upstream rule) is what CPython really imports
 *    instead of the attested source — strict refuses the package (WCP_UNHASHED_CODE, exit 2), compat keeps
 *    upstream's verdict and warns; `wcp sign` refuses to sign such a tree.
 *  - 9: a file name with newlines whose record imitates another tree's records gives the same hash — strict refuses
 *    it (WCP_NAME_INVALID, exit 2), compat warns.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { canonicalPackageHash } from '../src/profiles/wcp/package-hash.ts';
import { buildManifest, manifestFileText } from '../src/profiles/wcp/manifest.ts';
import { verifyPackage } from '../src/profiles/wcp/verify.ts';
import { generateKeyPair, publicKeyPem } from '../src/kernel/keys.ts';

const BIN = path.resolve(import.meta.dirname, '../bin/evident.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-wcp-tree-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const SECRET = 's3cret';
const ID = 'x.alice.summarizer.i-1';
const SP = 'wrk.doc.summarizer';
const kp = generateKeyPair('ed25519');
const pub = path.join(tmp, 'pub.pem');
fs.writeFileSync(pub, publicKeyPem(kp.publicKey));
const strictOpts = { mode: 'strict' as const, workerId: ID, species: SP, secret: SECRET, keys: [pub] };
const compatOpts = { mode: 'compat' as const, workerId: ID, species: SP, secret: SECRET };

function write(root: string, files: Record<string, string>): string {
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  }
  return root;
}

async function sign(root: string, packageHash?: string): Promise<void> {
  const h = packageHash ?? (await canonicalPackageHash(root)).hash;
  const m = buildManifest({ workerId: ID, species: SP, version: '1.0.0', packageHash: h, builtAt: '2026-03-09T12:00:00Z', secret: SECRET, ed25519: kp.privateKey });
  fs.writeFileSync(path.join(root, 'manifest.json'), manifestFileText(m));
}

const python = spawnSync('python3', ['-c', 'import sys; print(sys.implementation.cache_tag)'], { encoding: 'utf8' });
const cacheTag = python.status === 0 ? python.stdout.trim() : undefined;

test('8: a planted __pycache__/*.pyc runs instead of the attested source; strict refuses it, compat warns', { skip: cacheTag ? false : 'python3 is not installed: cannot compile and run the planted .pyc' }, async () => {
  const root = write(path.join(tmp, 'pyc'), { 'code/logic.py': 'WHO = "attested source"\n' });
  await sign(root);
  assert.equal((await verifyPackage(root, strictOpts)).valid, true);
  const before = (await canonicalPackageHash(root)).hash;

  // the attacker compiles other code into an unchecked-hash .pyc where CPython looks first
  write(path.join(tmp, 'evil'), { 'logic.py': 'WHO = "planted bytecode"\n' });
  const cfile = path.join(root, 'code', '__pycache__', `logic.${cacheTag}.pyc`);
  const c = spawnSync('python3', ['-c', 'import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)', path.join(tmp, 'evil', 'logic.py'), cfile], { encoding: 'utf8' });
  assert.equal(c.status, 0, c.stderr);
  const run = spawnSync('python3', ['-c', 'import logic; print(logic.WHO)'], { cwd: path.join(root, 'code'), encoding: 'utf8', env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
  assert.equal(run.stdout.trim(), 'planted bytecode', 'CPython runs the planted .pyc, not the hashed source');
  assert.equal((await canonicalPackageHash(root)).hash, before, 'the upstream rule excludes it from the hash');

  const s = await verifyPackage(root, strictOpts);
  assert.equal(s.valid, false);
  assert.equal(s.exitCode, 2);
  assert.deepEqual(s.failures.map((f) => f.code), ['WCP_UNHASHED_CODE']);
  assert.match(s.failures[0]!.message, /code\/__pycache__\//);
  const k = await verifyPackage(root, compatOpts);
  assert.equal(k.valid, true, 'compat keeps the upstream verdict');
  assert.ok(k.checks.some((x) => x.code === 'WCP_UNHASHED_CODE' && !x.ok));

  // an empty __pycache__ runs nothing
  fs.rmSync(path.join(root, 'code', '__pycache__'), { recursive: true });
  fs.mkdirSync(path.join(root, 'code', '__pycache__'));
  assert.equal((await verifyPackage(root, strictOpts)).valid, true);
});

test('8: a sourceless .pyc and wcp sign refusal', async () => {
  const root = write(path.join(tmp, 'sourceless'), { 'code/main.py': 'import helper\n', 'code/helper.pyc': 'not really bytecode' });
  await sign(root);
  const s = await verifyPackage(root, strictOpts);
  assert.deepEqual(s.failures.map((f) => f.code), ['WCP_UNHASHED_CODE']);
  assert.equal(s.exitCode, 2);
  const r = spawnSync(process.execPath, [BIN, 'wcp', 'sign', root, '--worker-id', ID, '--species', SP, '--version', '1', '--json'], { encoding: 'utf8', env: { ...process.env, WCP_ATTEST_HMAC_KEY: SECRET } });
  assert.notEqual(r.status, 0, 'wcp sign refuses a tree strict verification would refuse');
  assert.match(r.stdout + r.stderr, /WCP_UNHASHED_CODE|Python would run/);
});

test('9: a name with newlines imitates another tree\'s records (same hash); strict refuses it, compat warns', async () => {
  const sha = (s: string) => createHash('sha256').update(s).digest('hex');
  // tree A: two files; tree B: one file whose name spells A's first record and the start of its second
  const a = write(path.join(tmp, 'treeA'), { 'a.py': 'print("A")\n', 'b.py': 'print("B")\n' });
  const forged = `a.py\n${'print("A")\n'.length}\n${sha('print("A")\n')}\nb.py`;
  const b = path.join(tmp, 'treeB');
  fs.mkdirSync(b);
  fs.writeFileSync(path.join(b, forged), 'print("B")\n');
  const ha = (await canonicalPackageHash(a)).hash;
  assert.equal((await canonicalPackageHash(b)).hash, ha, 'the two trees share one package hash under the upstream rule');
  await sign(a);
  fs.copyFileSync(path.join(a, 'manifest.json'), path.join(b, 'manifest.json'));
  assert.equal((await verifyPackage(a, strictOpts)).valid, true);

  const s = await verifyPackage(b, strictOpts);
  assert.equal(s.valid, false, 'the manifest signed for tree A does not verify on tree B');
  assert.equal(s.exitCode, 2);
  assert.deepEqual(s.failures.map((f) => f.code), ['WCP_NAME_INVALID']);
  assert.match(s.failures[0]!.message, /a\.py\\n/);
  const k = await verifyPackage(b, compatOpts);
  assert.equal(k.valid, true);
  assert.ok(k.checks.some((x) => x.code === 'WCP_NAME_INVALID'));

  // other control characters in a directory name too
  const c = write(path.join(tmp, 'treeC'), { 'ok.py': '1\n', 'dir\u0007bell/x.py': '2\n' });
  await sign(c);
  assert.deepEqual((await verifyPackage(c, strictOpts)).failures.map((f) => f.code), ['WCP_NAME_INVALID']);
});
