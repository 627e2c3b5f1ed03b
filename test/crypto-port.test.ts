/**
 * Differential test of the kernel's crypto port: src/kernel/crypto/browser.ts (noble hashes/curves, BigInt RSA)
 * against src/kernel/crypto/node.ts (node:crypto, OpenSSL) on generated material and on the shared vectors:
 * key import (PEM, DER SPKI / PKCS#1, JWK, certificates), byte-exact exports, key details, equals(), hashes,
 * HMAC, timingSafeEqual, and verify() verdicts on valid, tampered, truncated, re-encoded, high-S, wrong-key and
 * garbage signatures, plus the Wycheproof files test/kernel-crypto-vectors.test.ts uses (through the raw port
 * here, not through kernel/sign.ts) and every certificate and log key of the sigstore-conformance trust roots.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { X509Certificate as SigstoreCert } from '@sigstore/core';
import * as N from '../src/kernel/crypto/node.ts';
import * as B from '../src/kernel/crypto/browser.ts';
import BDefault from '../src/kernel/crypto/browser.ts';

type Outcome = { ok: true; value: unknown } | { ok: false; name: string; code?: string; message: string };

function run(f: () => unknown): Outcome {
  try {
    return { ok: true, value: norm(f()) };
  } catch (e) {
    const x = e as Error & { code?: string };
    return { ok: false, name: x.constructor.name, ...(x.code !== undefined ? { code: x.code } : {}), message: x.message };
  }
}

function norm(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return { buffer: v.toString('hex') };
  if (v instanceof Uint8Array) return { bytes: Buffer.from(v).toString('hex') };
  return v;
}

/** Both succeed with equal values, or both throw (message compared only with `messages`). */
function same(label: string, fn: () => unknown, fb: () => unknown, messages = false): Outcome {
  const a = run(fn);
  const b = run(fb);
  if (a.ok || b.ok || messages) assert.deepEqual(b, a, label);
  return a;
}

let seed = 0x2545f491;
function rnd(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 2 ** 32;
}
const rint = (n: number): number => Math.floor(rnd() * n);
const rbytes = (n: number): Buffer => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = rint(256);
  return b;
};
const flip = (b: Uint8Array, bit = rint(b.length * 8)): Buffer => {
  const c = Buffer.from(b);
  c[bit >> 3]! ^= 1 << (bit & 7);
  return c;
};

const pubOf = (k: N.KeyObject) => k;
type Pair = { label: string; kind: 'ed25519' | 'ec' | 'rsa'; priv: N.KeyObject; pub: N.KeyObject; bytes?: number; order?: bigint };

const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const P384_N = 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n;
const P521_N = 0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n;

const started = Date.now();
const pairs: Pair[] = [];
for (let i = 0; i < 2; i++) pairs.push({ label: `ed25519#${i}`, kind: 'ed25519', ...kp(N.generateKeyPairSync('ed25519')) });
for (let i = 0; i < 2; i++) pairs.push({ label: `P-256#${i}`, kind: 'ec', bytes: 32, order: P256_N, ...kp(N.generateKeyPairSync('ec', { namedCurve: 'P-256' })) });
pairs.push({ label: 'P-384', kind: 'ec', bytes: 48, order: P384_N, ...kp(N.generateKeyPairSync('ec', { namedCurve: 'P-384' })) });
pairs.push({ label: 'P-521', kind: 'ec', bytes: 66, order: P521_N, ...kp(N.generateKeyPairSync('ec', { namedCurve: 'P-521' })) });
pairs.push({ label: 'RSA-2048', kind: 'rsa', ...kp(N.generateKeyPairSync('rsa', { modulusLength: 2048 })) });
pairs.push({ label: 'RSA-3072', kind: 'rsa', ...kp(N.generateKeyPairSync('rsa', { modulusLength: 3072 })) });
pairs.push({ label: 'RSA-2048-e3', kind: 'rsa', ...kp(N.generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 })) });
function kp(k: { privateKey: N.KeyObject; publicKey: N.KeyObject }) {
  // re-imported from DER: node 20 can deadlock exporting a JWK of a freshly generated key (see src/kernel/keys.ts)
  const priv = N.createPrivateKey({ key: k.privateKey.export({ format: 'der', type: 'pkcs8' }), format: 'der', type: 'pkcs8' });
  return { priv, pub: pubOf(N.createPublicKey(priv)) };
}

/** The browser key for a node key, imported from SPKI DER. */
const bkey = (k: N.KeyObject): N.KeyObject => B.createPublicKey({ key: k.export({ type: 'spki', format: 'der' }), format: 'der', type: 'spki' });

function exportsOf(k: N.KeyObject): unknown {
  const rsa = k.asymmetricKeyType === 'rsa';
  return {
    type: k.type,
    asymmetricKeyType: k.asymmetricKeyType,
    details: k.asymmetricKeyDetails,
    spkiDer: (k.export({ type: 'spki', format: 'der' }) as Buffer).toString('hex'),
    spkiPem: k.export({ type: 'spki', format: 'pem' }),
    jwk: JSON.stringify(k.export({ format: 'jwk' })),
    pkcs1Der: rsa ? (k.export({ type: 'pkcs1', format: 'der' }) as Buffer).toString('hex') : run(() => k.export({ type: 'pkcs1', format: 'der' })),
    pkcs1Pem: rsa ? k.export({ type: 'pkcs1', format: 'pem' }) : undefined,
  };
}

test('default export carries every named export (esbuild CJS interop for @sigstore/core)', () => {
  const names = Object.keys(N).sort();
  assert.deepEqual(Object.keys(B).filter((n) => n !== 'default').sort(), names);
  assert.deepEqual(Object.keys(BDefault).sort(), names);
  for (const n of names) assert.equal((BDefault as Record<string, unknown>)[n], (B as Record<string, unknown>)[n], n);
  for (const n of ['RSA_PKCS1_PADDING', 'RSA_PKCS1_PSS_PADDING', 'RSA_PSS_SALTLEN_DIGEST', 'RSA_PSS_SALTLEN_AUTO', 'RSA_PSS_SALTLEN_MAX_SIGN'] as const) {
    assert.equal(B.constants[n], N.constants[n], n);
  }
});

test('key import from PEM / DER / PKCS#1 / JWK: exports byte for byte, details, equals', () => {
  let n = 0;
  for (const p of pairs) {
    const want = exportsOf(p.pub);
    const spkiDer = p.pub.export({ type: 'spki', format: 'der' });
    const spkiPem = p.pub.export({ type: 'spki', format: 'pem' }) as string;
    const jwk = p.pub.export({ format: 'jwk' });
    const inputs: Array<[string, () => N.KeyObject]> = [
      ['pem string', () => B.createPublicKey(spkiPem)],
      ['pem buffer', () => B.createPublicKey(Buffer.from(spkiPem))],
      ['pem object', () => B.createPublicKey({ key: spkiPem, format: 'pem' })],
      ['pem crlf + junk', () => B.createPublicKey('junk\r\n' + spkiPem.replace(/\n/g, '\r\n') + 'trailer')],
      ['der spki', () => B.createPublicKey({ key: spkiDer, format: 'der', type: 'spki' })],
      ['der spki Uint8Array', () => B.createPublicKey({ key: new Uint8Array(spkiDer), format: 'der', type: 'spki' })],
      ['jwk', () => B.createPublicKey({ key: jwk, format: 'jwk' })],
    ];
    if (p.kind === 'rsa') {
      inputs.push(['der pkcs1', () => B.createPublicKey({ key: p.pub.export({ type: 'pkcs1', format: 'der' }), format: 'der', type: 'pkcs1' })]);
      inputs.push(['pem pkcs1', () => B.createPublicKey(p.pub.export({ type: 'pkcs1', format: 'pem' }) as string)]);
    }
    const keys: N.KeyObject[] = [];
    for (const [how, f] of inputs) {
      const k = f();
      assert.deepEqual(exportsOf(k), want, `${p.label} via ${how}`);
      keys.push(k);
      n++;
    }
    for (const k of keys) assert.equal(k.equals(keys[0]!), true);
    for (const q of pairs) if (q !== p) assert.equal(keys[0]!.equals(bkey(q.pub)), p.pub.equals(q.pub), `${p.label} equals ${q.label}`);
    // node imports the same browser-exported bytes back to an equal key
    assert.ok(N.createPublicKey(keys[0]!.export({ type: 'spki', format: 'pem' }) as string).equals(p.pub));
    // exports with bad options fail alike
    for (const opts of [undefined, {}, { format: 'der' }, { format: 'pem', type: 'pkcs8' }, { format: 'xml', type: 'spki' }]) {
      same(`${p.label} export ${JSON.stringify(opts)}`, () => p.pub.export(opts as never), () => keys[0]!.export(opts as never), true);
    }
    // createPublicKey of a public KeyObject is refused by node; the browser does the same with its own keys
    same(`${p.label} createPublicKey(KeyObject)`, () => N.createPublicKey(p.pub as never), () => B.createPublicKey(keys[0]! as never), true);
  }
  // a compressed EC point stays compressed on export, and equals the uncompressed key
  const ec = pairs.find((p) => p.label === 'P-256#0')!;
  const raw = ec.pub.export({ type: 'spki', format: 'der' });
  const comp = Buffer.concat([Buffer.from([0x30, 0x39]), raw.subarray(2, 23), Buffer.from([0x03, 0x22, 0x00, 0x02 | (raw[raw.length - 1]! & 1)]), raw.subarray(27, 59)]);
  const nc = N.createPublicKey({ key: comp, format: 'der', type: 'spki' });
  const bc = B.createPublicKey({ key: comp, format: 'der', type: 'spki' });
  assert.deepEqual(exportsOf(bc), exportsOf(nc));
  assert.equal(bc.equals(bkey(ec.pub)), true);
  // trailing bytes after the SPKI are ignored by both
  const trailing = Buffer.concat([raw, Buffer.from([0, 1, 2])]);
  assert.deepEqual(exportsOf(B.createPublicKey({ key: trailing, format: 'der', type: 'spki' })), exportsOf(N.createPublicKey({ key: trailing, format: 'der', type: 'spki' })));
  // JWK with members in other encodings (padding, standard alphabet) are read leniently by both
  const jwk = ec.pub.export({ format: 'jwk' });
  const std = { ...jwk, x: Buffer.from(jwk.x!, 'base64url').toString('base64'), y: Buffer.from(jwk.y!, 'base64url').toString('base64') };
  assert.deepEqual(exportsOf(B.createPublicKey({ key: std, format: 'jwk' })), exportsOf(N.createPublicKey({ key: std, format: 'jwk' })));
  // secret keys
  for (const bytes of [rbytes(1), rbytes(32), rbytes(200)]) {
    const ks = N.createSecretKey(bytes);
    const kb = B.createSecretKey(bytes);
    assert.deepEqual(
      [kb.type, kb.asymmetricKeyType, kb.asymmetricKeyDetails, kb.symmetricKeySize, (kb.export() as Buffer).toString('hex'), kb.export({ format: 'jwk' })],
      [ks.type, ks.asymmetricKeyType, ks.asymmetricKeyDetails, ks.symmetricKeySize, (ks.export() as Buffer).toString('hex'), ks.export({ format: 'jwk' })],
    );
    assert.equal(kb.equals(B.createSecretKey(Buffer.from(bytes))), true);
    assert.equal(kb.equals(B.createSecretKey(flip(bytes))), false);
    assert.equal(kb.equals(bkey(ec.pub)), ks.equals(ec.pub));
  }
  process.stdout.write(`# key imports compared: ${n}\n`);
});

test('undecodable keys: both throw; node messages mirrored for the common cases', () => {
  const ed = pairs[0]!.pub.export({ type: 'spki', format: 'der' });
  const rsaDer = pairs.find((p) => p.kind === 'rsa')!.pub.export({ type: 'spki', format: 'der' });
  const pemOf = (label: string, b: Uint8Array) => `-----BEGIN ${label}-----\n${Buffer.from(b).toString('base64')}\n-----END ${label}-----\n`;
  // [label, input, messages must match]
  const cases: Array<[string, unknown, boolean]> = [
    ['not PEM', 'hello', true],
    ['unknown PEM label', pemOf('FOO', ed), true],
    ['PEM body 00 00 00', '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n', true],
    ['empty DER', { key: Buffer.alloc(0), format: 'der', type: 'spki' }, true],
    ['DER INTEGER', { key: Buffer.from('3003020100', 'hex'), format: 'der', type: 'spki' }, true],
    ['PKCS#1 garbage', { key: Buffer.from('3003020100', 'hex'), format: 'der', type: 'pkcs1' }, true],
    ['PKCS#1 given an SPKI', { key: rsaDer, format: 'der', type: 'pkcs1' }, true],
    ['DER without type', { key: ed, format: 'der' }, true],
    ['bad format', { key: ed, format: 'xml' }, true],
    ['JWK kty', { key: { kty: 'foo' }, format: 'jwk' }, true],
    ['JWK EC off-curve', { key: { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' }, format: 'jwk' }, true],
    ['JWK EC curve', { key: { kty: 'EC', crv: 'P-199', x: 'AA', y: 'AA' }, format: 'jwk' }, true],
    ['JWK OKP short x', { key: { kty: 'OKP', crv: 'Ed25519', x: 'AA' }, format: 'jwk' }, true],
    ['JWK OKP crv', { key: { kty: 'OKP', crv: 'Ed9', x: 'AA' }, format: 'jwk' }, true],
    ['JWK OKP no x', { key: { kty: 'OKP', crv: 'Ed25519' }, format: 'jwk' }, true],
    ['number', 42, true],
    // browser-only refusals (node accepts): listed so a change is noticed
    ['X25519 SPKI', { key: N.generateKeyPairSync('x25519').publicKey.export({ type: 'spki', format: 'der' }), format: 'der', type: 'spki' }, false],
    ['private key PEM', pairs[0]!.priv.export({ type: 'pkcs8', format: 'pem' }), false],
  ];
  for (let i = 1; i < ed.length; i++) cases.push([`SPKI truncated to ${i}`, { key: ed.subarray(0, i), format: 'der', type: 'spki' }, false]);
  for (let i = 0; i < 300; i++) {
    const g = i % 3 === 0 ? rbytes(rint(60)) : flip(i % 3 === 1 ? ed : rsaDer);
    cases.push([`garbage ${i}`, { key: g, format: 'der', type: 'spki' }, false]);
  }
  const differ: string[] = [];
  let bothThrow = 0;
  for (const [label, input, mirror] of cases) {
    // OpenSSL's error queue can hold an entry from an earlier operation (KeyObject.equals of different types
    // leaves one), which node then reports instead; a failing call first drains it
    run(() => N.createPublicKey('drain'));
    const a = run(() => N.createPublicKey(input as never));
    const b = run(() => B.createPublicKey(input as never));
    if (mirror) assert.deepEqual(b, a, label);
    if (a.ok && b.ok) {
      // garbage that still decodes (a flipped bit inside the key material) must decode to the same key
      assert.deepEqual(exportsOf(B.createPublicKey(input as never)), exportsOf(N.createPublicKey(input as never)), label);
      continue;
    }
    if (a.ok !== b.ok) {
      // only a node-accepted key the browser refuses on purpose is allowed
      assert.ok(a.ok && !b.ok && /X25519|private key|rsa key|truncated|garbage/i.test(label), `${label}: node ${JSON.stringify(a)} browser ${JSON.stringify(b)}`);
      if (!label.startsWith('garbage')) differ.push(`${label}: node accepts, browser: ${(b as { message: string }).message}`);
      else {
        // flipped bits that node still accepts: only in parts the browser reads more strictly (see report)
        differ.push(`${label}: node accepts, browser: ${(b as { message: string }).message}`);
      }
      continue;
    }
    bothThrow++;
    const ma = (a as { message: string }).message;
    const mb = (b as { message: string }).message;
    if (ma !== mb) differ.push(`${label}: node "${ma}" browser "${mb}"`);
  }
  const uniq = [...new Set(differ.map((d) => d.replace(/^(garbage|SPKI truncated to) \d+/, '$1 N')))];
  process.stdout.write(`# ${cases.length} bad keys, ${bothThrow} rejected by both; ${differ.length} message/verdict differences:\n${uniq.map((d) => '#   ' + d).join('\n')}\n`);
});

test('hashes, one-shot hash, HMAC, timingSafeEqual equal node on random data', () => {
  const algs = ['sha1', 'sha224', 'sha256', 'sha384', 'sha512', 'SHA256', 'sha-256', 'RSA-SHA256', 'sha512-256', 'sha3-256', 'sha3-512', 'md5'];
  const encs = [undefined, 'hex', 'base64', 'base64url', 'latin1', 'buffer'] as const;
  let n = 0;
  for (let i = 0; i < 400; i++) {
    const alg = algs[i % algs.length]!;
    const data = rbytes(i < 200 ? rint(300) : rint(5000));
    const enc = encs[rint(encs.length)];
    const cut = rint(data.length + 1);
    const s = data.toString('latin1');
    same(`${alg} chunks`, () => N.createHash(alg).update(data.subarray(0, cut)).update(data.subarray(cut)).digest(enc as never), () => B.createHash(alg).update(data.subarray(0, cut)).update(data.subarray(cut)).digest(enc as never));
    same(`${alg} strings`, () => N.createHash(alg).update(s, 'latin1').update(data.toString('hex'), 'hex').update(data.toString('base64'), 'base64').update('é\u{1f600}').digest('hex'), () => B.createHash(alg).update(s, 'latin1').update(data.toString('hex'), 'hex').update(data.toString('base64'), 'base64').update('é\u{1f600}').digest('hex'));
    same(`${alg} one-shot`, () => N.hash!(alg, data, enc ?? 'hex'), () => B.hash(alg, data, enc ?? 'hex'));
    same(`${alg} one-shot string`, () => (N.hash as (a: string, d: string) => string)(alg, s), () => B.hash(alg, s));
    const key = [rbytes(rint(200)), data.toString('hex').slice(0, rint(80)), N.createSecretKey(rbytes(1 + rint(150)))][i % 3]!;
    const bk = key instanceof Uint8Array || typeof key === 'string' ? key : B.createSecretKey(key.export());
    if (!alg.startsWith('sha3') && alg !== 'sha512-256') {
      same(`hmac ${alg}`, () => N.createHmac(alg, key as never).update(data.subarray(0, cut)).update(data.subarray(cut)).digest(enc as never), () => B.createHmac(alg, bk as never).update(data.subarray(0, cut)).update(data.subarray(cut)).digest(enc as never));
    }
    const other = rnd() < 0.5 ? Buffer.from(data) : flip(data.length ? data : Buffer.alloc(1));
    same('timingSafeEqual', () => N.timingSafeEqual(data, other), () => B.timingSafeEqual(data, other), true);
    n += 5;
  }
  same('hash of nothing', () => N.createHash('sha256').digest('hex'), () => B.createHash('sha256').digest('hex'));
  same('digest twice', () => { const h = N.createHash('sha256'); h.digest(); return h.digest(); }, () => { const h = B.createHash('sha256'); h.digest(); return h.digest(); }, true);
  same('update after digest', () => { const h = N.createHash('sha256'); h.digest(); return h.update('x'); }, () => { const h = B.createHash('sha256'); h.digest(); return h.update('x'); }, true);
  same('unknown hash', () => N.createHash('sha257'), () => B.createHash('sha257'), true);
  same('unknown hmac', () => N.createHmac('sha257', 'k'), () => B.createHmac('sha257', 'k'), true);
  same('update(number)', () => N.createHash('sha256').update(5 as never), () => B.createHash('sha256').update(5 as never), true);
  same('hmac with a public key', () => N.createHmac('sha256', pairs[0]!.pub as never), () => B.createHmac('sha256', bkey(pairs[0]!.pub) as never), true);
  same('timingSafeEqual lengths', () => N.timingSafeEqual(Buffer.alloc(2), Buffer.alloc(3)), () => B.timingSafeEqual(Buffer.alloc(2), Buffer.alloc(3)), true);
  same('timingSafeEqual views', () => N.timingSafeEqual(new Uint16Array([1, 2]), new Uint8Array([1, 0, 2, 0])), () => B.timingSafeEqual(new Uint16Array([1, 2]), new Uint8Array([1, 0, 2, 0])), true);
  const r = B.randomBytes(70000);
  assert.equal(r.length, 70000);
  assert.ok(Buffer.isBuffer(r));
  assert.notEqual(B.randomBytes(32).toString('hex'), B.randomBytes(32).toString('hex'));
  assert.ok(new Set(r).size > 250);
  process.stdout.write(`# hash/hmac cases: ${n}\n`);
});

// ---------------------------------------------------------------------------------------------------------------

function derToRS(sig: Buffer): [bigint, bigint] {
  let p = 2;
  if (sig[1]! & 0x80) p = 2 + (sig[1]! & 0x7f);
  const read = (): bigint => {
    const l = sig[p + 1]!;
    const v = BigInt('0x' + (sig.subarray(p + 2, p + 2 + l).toString('hex') || '0'));
    p += 2 + l;
    return v;
  };
  return [read(), read()];
}
const intDer = (v: bigint, pad = false): Buffer => {
  let h = v.toString(16);
  if (h.length % 2) h = '0' + h;
  let b = Buffer.from(h, 'hex');
  if (b[0]! & 0x80 || pad) b = Buffer.concat([Buffer.from([0]), b]);
  return Buffer.concat([Buffer.from([0x02, b.length]), b]);
};
const seqDer = (body: Buffer, longLen = false): Buffer =>
  Buffer.concat([Buffer.from(body.length < 128 && !longLen ? [0x30, body.length] : [0x30, 0x81, body.length]), body]);
const rsDer = (r: bigint, s: bigint): Buffer => seqDer(Buffer.concat([intDer(r), intDer(s)]));
const rsP1363 = (r: bigint, s: bigint, len: number): Buffer => Buffer.from(r.toString(16).padStart(2 * len, '0') + s.toString(16).padStart(2 * len, '0'), 'hex');

test('verify(): valid, tampered, truncated, re-encoded, high-S, wrong key, garbage — same verdicts', () => {
  const counts: Record<string, number> = {};
  const trues: Record<string, number> = {};
  for (const p of pairs) {
    const bk = bkey(p.pub);
    const rounds = p.kind === 'rsa' ? 40 : p.label.startsWith('P-521') ? 15 : p.label.startsWith('P-384') ? 30 : 50;
    for (let i = 0; i < rounds; i++) {
      const msg = rbytes(rint(200));
      const algs = p.kind === 'ed25519' ? [null] : ['sha256', 'sha384', 'sha512', 'sha1', 'sha224', null];
      const alg = algs[i % algs.length] as string | null;
      const nodeAlg = alg ?? (p.kind === 'ed25519' ? null : 'sha256');
      const cases: Array<[string, string | null | undefined, Buffer, unknown, unknown, Buffer]> = [];
      const add = (label: string, a: string | null | undefined, data: Buffer, nk: unknown, bkk: unknown, sig: Buffer) => cases.push([label, a, data, nk, bkk, sig]);
      if (p.kind === 'ec') {
        const der = N.sign(nodeAlg, msg, p.priv);
        const [r, s] = derToRS(der);
        const n = p.order!;
        const len = p.bytes!;
        const p1363 = rsP1363(r, s, len);
        const withEnc = (enc: string) => [{ key: p.pub, dsaEncoding: enc }, { key: bk, dsaEncoding: enc }] as const;
        add('ec der', alg, msg, p.pub, bk, der);
        add('ec der explicit', alg, msg, ...withEnc('der'), der);
        add('ec p1363', alg, msg, ...withEnc('ieee-p1363'), p1363);
        add('ec high-S der', alg, msg, p.pub, bk, rsDer(r, n - s));
        add('ec high-S p1363', alg, msg, ...withEnc('ieee-p1363'), rsP1363(r, n - s, len));
        add('ec p1363 as der', alg, msg, p.pub, bk, p1363);
        add('ec der as p1363', alg, msg, ...withEnc('ieee-p1363'), der);
        add('ec der tampered data', alg, flip(msg.length ? msg : Buffer.alloc(1)), p.pub, bk, der);
        add('ec der tampered sig', alg, msg, p.pub, bk, flip(der));
        add('ec p1363 tampered sig', alg, msg, ...withEnc('ieee-p1363'), flip(p1363));
        add('ec der truncated', alg, msg, p.pub, bk, der.subarray(0, rint(der.length)));
        add('ec p1363 truncated', alg, msg, ...withEnc('ieee-p1363'), p1363.subarray(0, p1363.length - 1 - rint(3)));
        add('ec der trailing byte', alg, msg, p.pub, bk, Buffer.concat([der, Buffer.from([0])]));
        add('ec der non-minimal int', alg, msg, p.pub, bk, seqDer(Buffer.concat([intDer(r, true), intDer(s)])));
        add('ec der long-form length', alg, msg, p.pub, bk, seqDer(Buffer.concat([intDer(r), intDer(s)]), true));
        add('ec r = 0', alg, msg, p.pub, bk, rsDer(0n, s));
        add('ec s = 0 p1363', alg, msg, ...withEnc('ieee-p1363'), rsP1363(r, 0n, len));
        add('ec r + n', alg, msg, p.pub, bk, rsDer(r + n, s));
        add('ec s + n p1363', alg, msg, ...withEnc('ieee-p1363'), rsP1363(r, s + n < 2n ** BigInt(8 * len) ? s + n : s, len));
        add('ec negative r', alg, msg, p.pub, bk, seqDer(Buffer.concat([Buffer.from([0x02, 1, 0xff]), intDer(s)])));
        add('ec other hash', alg === 'sha256' ? 'sha384' : 'sha256', msg, p.pub, bk, der);
      } else if (p.kind === 'rsa') {
        const sig = N.sign(nodeAlg, msg, p.priv);
        add('rsa', alg, msg, p.pub, bk, sig);
        add('rsa padding option', alg, msg, { key: p.pub, padding: N.constants.RSA_PKCS1_PADDING }, { key: bk, padding: B.constants.RSA_PKCS1_PADDING }, sig);
        add('rsa tampered data', alg, flip(msg.length ? msg : Buffer.alloc(1)), p.pub, bk, sig);
        add('rsa tampered sig', alg, msg, p.pub, bk, flip(sig));
        add('rsa truncated', alg, msg, p.pub, bk, sig.subarray(0, sig.length - 1 - rint(5)));
        add('rsa leading zero', alg, msg, p.pub, bk, Buffer.concat([Buffer.from([0]), sig]));
        add('rsa s >= n', alg, msg, p.pub, bk, Buffer.alloc(sig.length, 0xff));
        add('rsa other hash', alg === 'sha256' ? 'sha512' : 'sha256', msg, p.pub, bk, sig);
        add('rsa zero', alg, msg, p.pub, bk, Buffer.alloc(sig.length));
        add('rsa one', alg, msg, p.pub, bk, Buffer.concat([Buffer.alloc(sig.length - 1), Buffer.from([1])]));
      } else {
        const sig = N.sign(null, msg, p.priv);
        const S = BigInt('0x' + Buffer.from(sig.subarray(32)).reverse().toString('hex'));
        const L = 2n ** 252n + 27742317777372353535851937790883648493n;
        const sPlusL = Buffer.from((S + L).toString(16).padStart(64, '0'), 'hex').reverse();
        add('ed25519', null, msg, p.pub, bk, sig);
        add('ed25519 undefined alg', undefined, msg, p.pub, bk, sig);
        add('ed25519 tampered data', null, flip(msg.length ? msg : Buffer.alloc(1)), p.pub, bk, sig);
        add('ed25519 tampered sig', null, msg, p.pub, bk, flip(sig));
        add('ed25519 S + L', null, msg, p.pub, bk, Buffer.concat([sig.subarray(0, 32), sPlusL]));
        add('ed25519 truncated', null, msg, p.pub, bk, sig.subarray(0, rint(64)));
        add('ed25519 trailing', null, msg, p.pub, bk, Buffer.concat([sig, Buffer.from([0])]));
        add('ed25519 with a digest', 'sha256', msg, p.pub, bk, sig);
        add('ed25519 dsaEncoding ignored', null, msg, { key: p.pub, dsaEncoding: 'ieee-p1363' }, { key: bk, dsaEncoding: 'ieee-p1363' }, sig);
      }
      // wrong key type / other key, and random garbage
      const q = pairs[(pairs.indexOf(p) + 1 + rint(pairs.length - 1)) % pairs.length]!;
      const good = cases[0]!;
      add(`wrong key (${q.kind})`, good[1], good[2], q.pub, bkey(q.pub), good[5]);
      add('garbage sig', good[1], msg, good[3], good[4], rbytes(rint(600)));
      add('key as PEM string', good[1], good[2], p.pub.export({ type: 'spki', format: 'pem' }), p.pub.export({ type: 'spki', format: 'pem' }), good[5]);
      for (const [label, a, data, nk, bkk, sig] of cases) {
        const o = same(`${p.label} ${label} #${i}`, () => N.verify(a, data, nk as never, sig), () => B.verify(a, data, bkk as never, sig), true);
        const key = `${p.kind}: ${label.replace(/\(.*\)/, '(..)')}`;
        counts[key] = (counts[key] ?? 0) + 1;
        if (o.ok && o.value === true) trues[key] = (trues[key] ?? 0) + 1;
      }
    }
  }
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  process.stdout.write(`# verify cases: ${total}\n${Object.keys(counts).sort().map((k) => `#   ${k}: ${counts[k]} (${trues[k] ?? 0} true)`).join('\n')}\n`);
  // the suite is not vacuous: valid signatures verify, and malleated high-S ones too (no low-S rule)
  assert.ok((trues['ec: ec der'] ?? 0) > 80 && trues['ec: ec high-S p1363'] === counts['ec: ec high-S p1363']);
  assert.equal(trues['rsa: rsa'], counts['rsa: rsa']);
  assert.equal(trues['ed25519: ed25519'], counts['ed25519: ed25519']);
  // argument errors alike
  const ec = pairs.find((p) => p.kind === 'ec')!;
  same('unknown digest', () => N.verify('sha257', Buffer.alloc(1), ec.pub, Buffer.alloc(64)), () => B.verify('sha257', Buffer.alloc(1), bkey(ec.pub), Buffer.alloc(64)), true);
  same('bad dsaEncoding', () => N.verify('sha256', Buffer.alloc(1), { key: ec.pub, dsaEncoding: 'x' } as never, Buffer.alloc(64)), () => B.verify('sha256', Buffer.alloc(1), { key: bkey(ec.pub), dsaEncoding: 'x' } as never, Buffer.alloc(64)), true);
  same('string signature', () => N.verify('sha256', Buffer.alloc(1), ec.pub, 'abc' as never), () => B.verify('sha256', Buffer.alloc(1), bkey(ec.pub), 'abc' as never), true);
  same('secret key', () => N.verify('sha256', Buffer.alloc(1), N.createSecretKey(Buffer.alloc(3)), Buffer.alloc(64)), () => B.verify('sha256', Buffer.alloc(1), B.createSecretKey(Buffer.alloc(3)), Buffer.alloc(64)), true);
  same('string data', () => N.verify('sha256', 'hello' as never, ec.pub, N.sign('sha256', Buffer.from('hello'), ec.priv)), () => B.verify('sha256', 'hello' as never, bkey(ec.pub), N.sign('sha256', Buffer.from('hello'), ec.priv)));
});

test('verify(): Ed25519 small-order, mixed-order and non-canonical public keys decide like OpenSSL', async () => {
  const { ed25519 } = await import('@noble/curves/ed25519.js');
  const { sha512 } = await import('@noble/hashes/sha2.js');
  const Pt = ed25519.Point;
  const L = 2n ** 252n + 27742317777372353535851937790883648493n;
  const le = (b: Uint8Array) => BigInt('0x' + (Buffer.from(b).reverse().toString('hex') || '0'));
  const le32 = (v: bigint) => Buffer.from(v.toString(16).padStart(64, '0'), 'hex').reverse();
  const prefix = Buffer.from('302a300506032b6570032100', 'hex');
  const torsion = [
    '0100000000000000000000000000000000000000000000000000000000000000',
    'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    '0000000000000000000000000000000000000000000000000000000000000000',
    '0000000000000000000000000000000000000000000000000000000000000080',
    'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
    'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
    '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
    '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
  ];
  // non-canonical encodings: y >= p (identity as p+1, y=0 as p), x = 0 with the sign bit set
  const nonCanonical = [
    '0100000000000000000000000000000000000000000000000000000000000080',
    'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
    'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
    'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
  ];
  let n = 0;
  let accepted = 0;
  const check = (label: string, raw: Buffer, msg: Buffer, sig: Buffer) => {
    const spki = Buffer.concat([prefix, raw]);
    const nk = N.createPublicKey({ key: spki, format: 'der', type: 'spki' });
    const bk = B.createPublicKey({ key: spki, format: 'der', type: 'spki' });
    assert.deepEqual(exportsOf(bk), exportsOf(nk), label);
    const o = same(label, () => N.verify(null, msg, nk, sig), () => B.verify(null, msg, bk, sig), true);
    n++;
    if (o.ok && o.value === true) accepted++;
  };
  const decode = (raw: Buffer) => {
    try {
      return Pt.fromBytes(raw, true);
    } catch {
      return undefined;
    }
  };
  for (const hex of [...torsion, ...nonCanonical]) {
    const raw = Buffer.from(hex, 'hex');
    const A = decode(raw);
    for (let i = 0; i < 12; i++) {
      const msg = rbytes(rint(64));
      if (A) {
        // R = rB - tA with t guessed as h mod 8: a valid signature for a cofactorless verifier when the guess holds
        for (let tries = 0; tries < 64; tries++) {
          const r = 1n + BigInt('0x' + rbytes(31).toString('hex'));
          const t = BigInt(rint(8));
          const R = Pt.BASE.multiply(r).subtract(A.multiplyUnsafe(t));
          const Rb = R.toBytes();
          const h = le(sha512(Buffer.concat([Rb, raw, msg]))) % L;
          if (A.multiplyUnsafe(h).equals(A.multiplyUnsafe(t)) || tries === 63) {
            check(`small-order ${hex.slice(0, 8)} crafted`, raw, msg, Buffer.concat([Rb, le32(r)]));
            break;
          }
        }
      }
      check(`small-order ${hex.slice(0, 8)} random`, raw, msg, rbytes(64));
      check(`small-order ${hex.slice(0, 8)} R=identity`, raw, msg, Buffer.concat([Buffer.from(torsion[0]!, 'hex'), Buffer.alloc(32)]));
    }
  }
  // mixed-order keys A = aB + T, signed honestly (R = rB, s = r + ha): a cofactored verifier accepts all of them,
  // OpenSSL's cofactorless check only those where hT = 0
  for (let i = 0; i < 40; i++) {
    const a = 1n + BigInt('0x' + rbytes(31).toString('hex'));
    const T = decode(Buffer.from(torsion[4 + (i % 4)]!, 'hex'))!;
    const A = Pt.BASE.multiply(a).add(T);
    const raw = Buffer.from(A.toBytes());
    const msg = rbytes(rint(64));
    const r = 1n + BigInt('0x' + rbytes(31).toString('hex'));
    const Rb = Pt.BASE.multiply(r).toBytes();
    const h = le(sha512(Buffer.concat([Rb, raw, msg]))) % L;
    check('mixed-order honest', raw, msg, Buffer.concat([Rb, le32((r + h * a) % L)]));
  }
  // random 32-byte keys (node imports any 32 bytes) with random signatures
  for (let i = 0; i < 100; i++) check('random key', rbytes(32), rbytes(rint(40)), rbytes(64));
  process.stdout.write(`# ed25519 special keys: ${n} cases, ${accepted} accepted by both\n`);
  assert.ok(accepted > 20);
});

// ---------------------------------------------------------------------------------------------------------------

const V = '/work/shared/vectors';
const hex = (s: string) => Buffer.from(s, 'hex');
interface WTest { tcId: number; comment: string; msg: string; sig: string; result: string }

test('Wycheproof (the files kernel-crypto-vectors uses) through both ports', () => {
  const files: Array<[string, string | null, string]> = [
    ['ed25519_test.json', null, 'der'],
    ['rsa_signature_2048_sha256_test.json', 'sha256', 'der'],
    ['rsa_signature_3072_sha256_test.json', 'sha256', 'der'],
    ['ecdsa_secp256r1_sha256_test.json', 'sha256', 'der'],
    ['ecdsa_secp256r1_sha256_p1363_test.json', 'sha256', 'ieee-p1363'],
  ];
  let n = 0;
  for (const [file, alg, dsaEncoding] of files) {
    const d = JSON.parse(fs.readFileSync(`${V}/wycheproof/${file}`, 'utf8'));
    for (const g of d.testGroups) {
      const spki = hex(g.publicKeyDer);
      const nk = N.createPublicKey({ key: spki, format: 'der', type: 'spki' });
      const bk = B.createPublicKey({ key: spki, format: 'der', type: 'spki' });
      assert.deepEqual(exportsOf(bk), exportsOf(nk));
      if (g.publicKeyPem) assert.ok(B.createPublicKey(g.publicKeyPem).equals(bk));
      const jwk = g.publicKeyJwk ?? g.keyJwk;
      if (jwk) assert.ok(B.createPublicKey({ key: jwk, format: 'jwk' }).equals(bk));
      for (const t of g.tests as WTest[]) {
        const o = same(`${file} tcId ${t.tcId} ${t.comment}`, () => N.verify(alg, hex(t.msg), { key: nk, dsaEncoding } as never, hex(t.sig)), () => B.verify(alg, hex(t.msg), { key: bk, dsaEncoding } as never, hex(t.sig)), true);
        if (t.result !== 'acceptable') assert.deepEqual(o, { ok: true, value: t.result === 'valid' }, `${file} tcId ${t.tcId} ${t.comment}`);
        n++;
      }
    }
  }
  for (const file of ['hmac_sha256_test.json', 'hmac_sha384_test.json', 'hmac_sha512_test.json']) {
    const d = JSON.parse(fs.readFileSync(`${V}/wycheproof/${file}`, 'utf8'));
    const alg = file.slice(5, 11);
    for (const g of d.testGroups) {
      for (const t of g.tests as Array<WTest & { key: string; tag: string }>) {
        const mac = B.createHmac(alg, hex(t.key)).update(hex(t.msg)).digest('hex');
        assert.equal(mac, N.createHmac(alg, hex(t.key)).update(hex(t.msg)).digest('hex'));
        assert.equal(mac.slice(0, g.tagSize / 4) === t.tag, t.result === 'valid', `${file} tcId ${t.tcId}`);
        n++;
      }
    }
  }
  process.stdout.write(`# wycheproof cases: ${n}\n`);
});

test('sigstore-conformance trust roots and bundles: certificates, log keys, certificate signatures', () => {
  const root = path.join(V, 'sigstore-conformance');
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else if (e.name.endsWith('.json')) files.push(path.join(d, e.name));
    }
  };
  walk(root);
  const certs = new Map<string, Buffer>();
  const keys = new Map<string, string>();
  const visit = (v: unknown, parentKey = '') => {
    if (Array.isArray(v)) v.forEach((x) => visit(x, parentKey));
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.rawBytes === 'string') {
        if (typeof o.keyDetails === 'string') keys.set(o.rawBytes, o.keyDetails);
        else if (parentKey !== 'publicKey') certs.set(o.rawBytes, Buffer.from(o.rawBytes, 'base64'));
      }
      for (const [k, x] of Object.entries(o)) visit(x, k);
    }
  };
  for (const f of files) {
    try {
      visit(JSON.parse(fs.readFileSync(f, 'utf8')));
    } catch {
      /* not JSON we read */
    }
  }
  let nCerts = 0;
  const parsed: Array<{ der: Buffer; cert: SigstoreCert; nk: N.KeyObject; bk: N.KeyObject }> = [];
  for (const der of certs.values()) {
    if (der[0] !== 0x30) continue;
    const a = run(() => new N.X509Certificate(der).publicKey);
    const b = run(() => new B.X509Certificate(der).publicKey);
    if (!a.ok) {
      assert.equal(b.ok, false);
      continue;
    }
    const nk = new N.X509Certificate(der).publicKey;
    const bk = new B.X509Certificate(der).publicKey;
    assert.deepEqual(exportsOf(bk), exportsOf(nk));
    // the PEM certificate form is a public key input too
    const pemText = new N.X509Certificate(der).toString();
    assert.ok(B.createPublicKey(pemText).equals(bk));
    assert.ok(new B.X509Certificate(pemText).publicKey.equals(bk));
    let cert: SigstoreCert | undefined;
    try {
      cert = SigstoreCert.parse(der as Buffer<ArrayBuffer>);
    } catch {
      /* only @sigstore/core-parsable certificates take part in the signature check */
    }
    if (cert) parsed.push({ der, cert, nk, bk });
    nCerts++;
  }
  // every certificate signature against every parsed certificate key that names its issuer
  let nSigs = 0;
  let valid = 0;
  for (const c of parsed) {
    for (const issuer of parsed) {
      if (!issuer.cert.subject.equals(c.cert.issuer)) continue;
      const tbs = c.cert.tbsCertificate.toDER();
      const alg = c.cert.signatureAlgorithm;
      const o = same('certificate signature', () => N.verify(alg, tbs, issuer.nk, c.cert.signatureValue), () => B.verify(alg, tbs, issuer.bk, c.cert.signatureValue), true);
      if (o.ok && o.value) valid++;
      nSigs++;
    }
  }
  let nKeys = 0;
  for (const [b64, details] of keys) {
    const der = Buffer.from(b64, 'base64');
    const type = details === 'PKCS1_RSA_PKCS1V5' ? 'pkcs1' : 'spki';
    for (const t of new Set([type, 'spki'])) {
      const a = run(() => N.createPublicKey({ key: der, format: 'der', type: t as 'spki' }));
      if (!a.ok) {
        assert.equal(run(() => B.createPublicKey({ key: der, format: 'der', type: t as 'spki' })).ok, false);
        continue;
      }
      assert.deepEqual(exportsOf(B.createPublicKey({ key: der, format: 'der', type: t as 'spki' })), exportsOf(N.createPublicKey({ key: der, format: 'der', type: t as 'spki' })), details);
      nKeys++;
    }
  }
  process.stdout.write(`# sigstore material: ${nCerts} certificates, ${nSigs} certificate signatures (${valid} valid), ${nKeys} log keys\n`);
  assert.ok(nCerts > 10 && valid > 5 && nKeys > 5);
});

test('private-key operations and RSA-PSS are refused with ERR_FEATURE_UNAVAILABLE_ON_PLATFORM; huge RSA keys are bounded', () => {
  const rsa = pairs.find((p) => p.kind === 'rsa')!;
  const code = { code: 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM' };
  assert.throws(() => B.createPrivateKey(rsa.priv.export({ type: 'pkcs8', format: 'pem' })), code);
  assert.throws(() => B.sign('sha256', Buffer.alloc(1), rsa.priv), code);
  assert.throws(() => B.generateKeyPairSync('ed25519'), code);
  const pss = N.sign('sha256', Buffer.from('m'), { key: rsa.priv, padding: N.constants.RSA_PKCS1_PSS_PADDING });
  assert.equal(N.verify('sha256', Buffer.from('m'), { key: rsa.pub, padding: N.constants.RSA_PKCS1_PSS_PADDING }, pss), true);
  assert.throws(() => B.verify('sha256', Buffer.from('m'), { key: bkey(rsa.pub), padding: B.constants.RSA_PKCS1_PSS_PADDING }, pss), code);
  // a 20000-bit modulus: node imports it and cannot verify with it (false); so does the browser, at once
  const nBig = (1n << 19999n) | 1n;
  const jwk = { kty: 'RSA', n: Buffer.from(nBig.toString(16), 'hex').toString('base64url'), e: 'AQAB' };
  const t0 = Date.now();
  const nk = N.createPublicKey({ key: jwk, format: 'jwk' });
  const bk = B.createPublicKey({ key: jwk, format: 'jwk' });
  assert.deepEqual(exportsOf(bk), exportsOf(nk));
  const sig = Buffer.alloc(2500, 1);
  same('huge RSA verify', () => N.verify('sha256', Buffer.alloc(1), nk, sig), () => B.verify('sha256', Buffer.alloc(1), bk, sig), true);
  // a 4096-bit modulus with a 2048-bit exponent: OpenSSL refuses exponents over 64 bits above 3072-bit moduli
  const n4096 = BigInt('0x' + rsa.pub.export({ format: 'jwk' }).n!.length.toString(16)) | (1n << 4095n) | 1n;
  const bigE = { kty: 'RSA', n: Buffer.from(n4096.toString(16), 'hex').toString('base64url'), e: Buffer.alloc(256, 0xff).toString('base64url') };
  same('big-e RSA verify', () => N.verify('sha256', Buffer.alloc(1), N.createPublicKey({ key: bigE, format: 'jwk' }), Buffer.alloc(512, 1)), () => B.verify('sha256', Buffer.alloc(1), B.createPublicKey({ key: bigE, format: 'jwk' }), Buffer.alloc(512, 1)), true);
  assert.ok(Date.now() - t0 < 2000);
  // an RSA key beyond any sane size is refused at import
  const absurd = { kty: 'RSA', n: Buffer.alloc(10000, 0xff).toString('base64url'), e: 'AQAB' };
  assert.throws(() => B.createPublicKey({ key: absurd, format: 'jwk' }), code);
  process.stdout.write(`# whole file so far: ${Date.now() - started} ms\n`);
});
