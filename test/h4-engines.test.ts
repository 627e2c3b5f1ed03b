/**
 * HarmonyØ4 engines and sealing: round trip build → verify → extract byte-exact for random inputs of many sizes
 * with every built-in engine; determinism; engine mismatch refused; bounded decompression; sealed-engine pins
 * (EVIDENT_* and HARMONY4_*) fail closed with coded errors.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { BUILTIN_ENGINES, builtinEngine, referenceEngine, checkUpstreamReferenceBlock, MAX_BLOCK_BYTES } from '../src/profiles/h4/engines.ts';
import { buildH4mk } from '../src/profiles/h4/container.ts';
import { verifyH4mk, extractCore, engineForContainer } from '../src/profiles/h4/verify.ts';
import { loadSealedEngine, moduleFingerprint } from '../src/profiles/h4/sealing.ts';
import { generateKeyPair, publicKeyPem } from '../src/kernel/keys.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-h4e-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Mixed-entropy input: runs, random bytes, text — exercises RLE runs > 255 and incompressible data. */
function sample(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  const rnd = createHash('sha256').update(String(seed)).digest();
  let i = 0;
  let k = 0;
  while (i < n) {
    const kind = rnd[k++ % 32]! % 3;
    const len = Math.min(n - i, 1 + ((rnd[k++ % 32]! * 7 + i) % 700));
    if (kind === 0) out.fill(rnd[k % 32]!, i, i + len);
    else if (kind === 1) out.set(randomBytes(len), i);
    else for (let j = 0; j < len; j++) out[i + j] = 0x61 + ((i + j) % 26);
    i += len;
  }
  return out;
}

const SIZES = [0, 1, 2, 3, 255, 256, 257, 511, 1000, 4095, 4096, 4097, 65535, 65536, 65537, 100_003, 262_145];

test('round trip build → verify (strict, signed) → extract is byte-exact for every engine and many sizes', () => {
  const { privateKey, publicKey } = generateKeyPair('ed25519');
  const pub = path.join(tmp, 'pub.pem');
  fs.writeFileSync(pub, publicKeyPem(publicKey));
  let n = 0;
  for (const engine of BUILTIN_ENGINES) {
    for (const [idx, size] of SIZES.entries()) {
      const data = sample(size, idx);
      const bs = Math.max([1, 7, 256, 1000, 65536][idx % 5]!, Math.ceil(size / 400));
      const blocks: Uint8Array[] = [];
      for (let o = 0; o < size; o += bs) blocks.push(data.subarray(o, Math.min(size, o + bs)));
      const c = buildH4mk({ blocks, engine, seek: blocks.map((_, i) => [i, i * bs]), meta: { size }, safe: {}, signKey: privateKey });
      const again = buildH4mk({ blocks, engine, seek: blocks.map((_, i) => [i, i * bs]), meta: { size }, safe: {}, signKey: privateKey });
      assert.deepEqual(Buffer.from(again), Buffer.from(c), `${engine.name} ${size}: deterministic`);
      const res = verifyH4mk(c, { mode: 'strict', keys: [pub] });
      assert.equal(res.report.exitCode, 0, `${engine.name} ${size}: ${res.report.failures.map((f) => f.code)}`);
      const e = engineForContainer(res.identity!);
      assert.equal(e.name, engine.name);
      const out = Buffer.concat(extractCore(res, e));
      assert.equal(out.length, size);
      assert.ok(out.equals(Buffer.from(data)), `${engine.name} ${size}: byte-exact`);
      n++;
    }
  }
  assert.equal(n, SIZES.length * BUILTIN_ENGINES.length);
  process.stdout.write(`# h4 round trips: ${n}\n`);
});

test('reference RLE matches upstream pairs; upstream 256-alignment rule available for compat', () => {
  const r = referenceEngine();
  assert.equal(Buffer.from(r.compress(new Uint8Array(256).fill(0x78))).toString('hex'), '78ff7801');
  assert.equal(Buffer.from(r.compress(new Uint8Array(512))).toString('hex'), '00ff00ff0002');
  assert.equal(r.compress(new Uint8Array(0)).length, 0);
  assert.throws(() => checkUpstreamReferenceBlock(new Uint8Array(255)), { code: 'H4_BLOCK_UNALIGNED' });
  checkUpstreamReferenceBlock(new Uint8Array(512));
  assert.throws(() => r.decompress(new Uint8Array([1])), { code: 'H4_DECOMPRESS_FAILED' });
  assert.throws(() => r.decompress(new Uint8Array([1, 0])), { code: 'H4_DECOMPRESS_FAILED' });
  // bounded output: a tiny RLE stream claiming > MAX_BLOCK_BYTES is refused before allocation
  const bomb = new Uint8Array(2 * (Math.ceil(MAX_BLOCK_BYTES / 255) + 1)).fill(255);
  assert.throws(() => r.decompress(bomb), { code: 'H4_DECOMPRESS_FAILED' });
  assert.throws(() => builtinEngine('deflate').decompress(new Uint8Array([1, 2, 3, 4, 5])), { code: 'H4_DECOMPRESS_FAILED' });
  assert.throws(() => builtinEngine('brotli').decompress(new Uint8Array([0xff, 0xff, 0xff])), { code: 'H4_DECOMPRESS_FAILED' });
  assert.throws(() => builtinEngine('zstd'), { code: 'H4_ENGINE_UNKNOWN' });
});

test('decompressing with a different engine than META names is refused', () => {
  const data = sample(5000, 99);
  for (const a of BUILTIN_ENGINES) {
    const res = verifyH4mk(buildH4mk({ blocks: [data], engine: a }), { mode: 'compat' });
    assert.equal(res.report.exitCode, 0);
    for (const b of BUILTIN_ENGINES) {
      if (a === b) continue;
      assert.throws(() => extractCore(res, b), { code: 'H4_ENGINE_MISMATCH' }, `${a.name} container, ${b.name} engine`);
    }
  }
  const res = verifyH4mk(buildH4mk({ blocks: [data], engine: builtinEngine('deflate') }), { mode: 'compat' });
  assert.throws(() => engineForContainer({ ...res.identity!, fingerprint: '00'.repeat(32) }), { code: 'H4_ENGINE_UNAVAILABLE' });
  assert.throws(() => buildH4mk({ blocks: [], engine: referenceEngine(), meta: { compression: 1 } }), { code: 'H4MK_META_RESERVED' });
});

const MODULE = `export const id = 'xor-test-v1';
export function compress(b) { const o = new Uint8Array(b.length); for (let i = 0; i < b.length; i++) o[i] = b[i] ^ 0x5a; return o; }
export function decompress(b) { return compress(b); }
`;

test('sealed engine: pins must match the real SHA-256 of the module file; every failure is coded, no fallback', async () => {
  const mod = path.join(tmp, 'engine.mjs');
  fs.writeFileSync(mod, MODULE);
  const fp = createHash('sha256').update(MODULE).digest('hex');
  assert.equal(moduleFingerprint(mod), fp);
  // no pins → reference, sealed false
  const none = await loadSealedEngine({});
  assert.equal(none.sealed, false);
  assert.equal(none.engine.name, 'reference-rle');
  assert.equal(none.engine.info().sealed, false);
  // good pins (EVIDENT_* and HARMONY4_* names)
  for (const env of [
    { EVIDENT_ENGINE_ID: 'xor-test-v1', EVIDENT_ENGINE_FP: fp, EVIDENT_ENGINE_PATH: mod },
    { HARMONY4_ENGINE_ID: 'xor-test-v1', HARMONY4_ENGINE_FP: fp.toUpperCase(), HARMONY4_CORE_PATH: mod },
  ]) {
    const st = await loadSealedEngine(env);
    assert.equal(st.sealed, true);
    const i = st.engine.info();
    assert.deepEqual([i.engine, i.engine_id, i.fingerprint, i.sealed], ['core', 'xor-test-v1', fp, true]);
    const data = sample(3000, 5);
    const c = buildH4mk({ blocks: [data], engine: st.engine });
    const res = verifyH4mk(c, { mode: 'compat' });
    assert.equal(res.report.exitCode, 0);
    assert.throws(() => engineForContainer(res.identity!), { code: 'H4_ENGINE_UNAVAILABLE' });
    assert.ok(Buffer.concat(extractCore(res, engineForContainer(res.identity!, st.engine))).equals(Buffer.from(data)));
  }
  const bad = path.join(tmp, 'bad.mjs');
  fs.writeFileSync(bad, 'export const id = ;');
  const noIface = path.join(tmp, 'noiface.mjs');
  fs.writeFileSync(noIface, "export const id = 'x';");
  const wasm = path.join(tmp, 'engine.wasm');
  fs.writeFileSync(wasm, MODULE);
  const sha = (f: string) => moduleFingerprint(f);
  const cases: Array<[Record<string, string>, string]> = [
    [{ EVIDENT_ENGINE_ID: 'xor-test-v1', EVIDENT_ENGINE_FP: fp, EVIDENT_ENGINE_PATH: path.join(tmp, 'missing.mjs') }, 'H4_ENGINE_MISSING'],
    [{ EVIDENT_ENGINE_ID: 'xor-test-v1', EVIDENT_ENGINE_FP: fp }, 'H4_ENGINE_MISSING'],
    [{ EVIDENT_ENGINE_ID: 'xor-test-v1', EVIDENT_ENGINE_FP: 'ab'.repeat(32), EVIDENT_ENGINE_PATH: mod }, 'H4_ENGINE_FP_MISMATCH'],
    [{ EVIDENT_ENGINE_ID: 'other', EVIDENT_ENGINE_FP: fp, EVIDENT_ENGINE_PATH: mod }, 'H4_ENGINE_ID_MISMATCH'],
    [{ EVIDENT_ENGINE_ID: 'x', EVIDENT_ENGINE_FP: sha(bad), EVIDENT_ENGINE_PATH: bad }, 'H4_ENGINE_LOAD_FAILED'],
    [{ EVIDENT_ENGINE_ID: 'x', EVIDENT_ENGINE_FP: sha(noIface), EVIDENT_ENGINE_PATH: noIface }, 'H4_ENGINE_LOAD_FAILED'],
    [{ EVIDENT_ENGINE_ID: 'xor-test-v1', EVIDENT_ENGINE_FP: sha(wasm), EVIDENT_ENGINE_PATH: wasm }, 'H4_ENGINE_LOAD_FAILED'],
    [{ EVIDENT_ENGINE_ID: 'xor-test-v1', EVIDENT_ENGINE_PATH: mod }, 'H4_ENGINE_PIN_MISSING'],
    [{ HARMONY4_CORE_PATH: mod }, 'H4_ENGINE_PIN_MISSING'],
    [{ EVIDENT_ENGINE_ID: 'xor-test-v1', EVIDENT_ENGINE_FP: 'abc', EVIDENT_ENGINE_PATH: mod }, 'H4_ENGINE_PIN_INVALID'],
    [{ EVIDENT_ENGINE_ID: 'xor-test-v1', HARMONY4_ENGINE_ID: 'other', EVIDENT_ENGINE_FP: fp, EVIDENT_ENGINE_PATH: mod }, 'H4_ENGINE_PIN_CONFLICT'],
    [{ EVIDENT_ENGINE_ID: 'xor-test-v1', EVIDENT_ENGINE_FP: fp, EVIDENT_ENGINE_PATH: tmp }, 'H4_ENGINE_MISSING'],
  ];
  for (const [env, code] of cases) await assert.rejects(loadSealedEngine(env), { code }, `${JSON.stringify(env)} → ${code}`);
  // the module is loaded from the hashed bytes: editing the file after pinning is a fingerprint mismatch
  fs.appendFileSync(mod, '// changed\n');
  await assert.rejects(loadSealedEngine({ EVIDENT_ENGINE_ID: 'xor-test-v1', EVIDENT_ENGINE_FP: fp, EVIDENT_ENGINE_PATH: mod }), { code: 'H4_ENGINE_FP_MISMATCH' });
  process.stdout.write(`# h4 sealing failure cases: ${cases.length + 1}\n`);
});
