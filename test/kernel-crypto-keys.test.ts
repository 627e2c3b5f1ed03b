/** kernel/keys.ts, kernel/sign.ts edge cases, kernel/truststore.ts and store/keyfiles.ts. */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import {
  importPublicKey,
  importPrivateKey,
  generateKeyPair,
  algOfKey,
  publicKeyPem,
  privateKeyPem,
  publicKeyJwk,
  spkiDer,
  rawPublicKey,
  keyId,
  hmacKeyFromSecret,
  JOSE_ALG,
  type SigAlg,
} from '../src/kernel/keys.ts';
import { sign, signAsync, verify, hmacSha256, verifyHmacSha256, isStrictDerEcdsa } from '../src/kernel/sign.ts';
import { signDsse, signDsseAsync } from '../src/kernel/dsse.ts';
import { TrustStore } from '../src/kernel/truststore.ts';
import { parseRfc3339 } from '../src/kernel/time.ts';
import { loadPublicKey, loadPrivateKey, loadTrustStore, writePrivateKeyPem, writeKeyDir, saveTrustStore } from '../src/store/keyfiles.ts';
import { toHex } from '../src/kernel/encoding.ts';
import { sha256Hex } from '../src/kernel/digest.ts';

const V = '/work/shared/vectors';
const ALGS: SigAlg[] = ['ed25519', 'rs256', 'es256'];
const pairs = Object.fromEntries(ALGS.map((a) => [a, generateKeyPair(a)])) as Record<SigAlg, ReturnType<typeof generateKeyPair>>;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-kc-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('import/export round trips for every algorithm (PEM, JWK, DER, private → public)', () => {
  let n = 0;
  for (const alg of ALGS) {
    const { privateKey, publicKey } = pairs[alg];
    assert.equal(algOfKey(publicKey), alg);
    const pem = publicKeyPem(publicKey);
    assert.match(pem, /^-----BEGIN PUBLIC KEY-----\n(?:[A-Za-z0-9+/=]{64}\n)*[A-Za-z0-9+/=]{1,64}\n-----END PUBLIC KEY-----\n$/);
    assert.ok(importPublicKey(pem, alg).equals(publicKey));
    const jwk = publicKeyJwk(publicKey, { kid: 'k', alg: JOSE_ALG[alg], use: 'sig' });
    assert.equal(jwk.kid, 'k');
    for (const v of Object.values(jwk)) assert.ok(!String(v).includes('='));
    assert.ok(importPublicKey(jwk).equals(publicKey));
    assert.ok(importPublicKey(JSON.stringify(jwk)).equals(publicKey));
    assert.ok(importPublicKey(spkiDer(publicKey)).equals(publicKey));
    const ppem = privateKeyPem(privateKey);
    assert.match(ppem, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.ok(importPublicKey(ppem).equals(publicKey), 'private PEM yields its public key');
    const pjwk = privateKey.export({ format: 'jwk' });
    assert.ok(importPublicKey(pjwk).equals(publicKey), 'private JWK yields its public key');
    const priv2 = importPrivateKey(pjwk);
    const priv3 = importPrivateKey(ppem, alg);
    const sig = sign(priv2, 'msg');
    assert.ok(verify(publicKey, 'msg', sig));
    assert.ok(verify(publicKey, 'msg', sign(priv3, 'msg')));
    assert.ok(!verify(publicKey, 'msg2', sig));
    assert.throws(() => importPublicKey(pem, alg === 'ed25519' ? 'rs256' : 'ed25519'), { code: 'KEY_UNSUPPORTED' });
    n += 12;
  }
  // PKCS#1 and SEC1 private PEMs
  const rsa1 = pairs.rs256.privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
  assert.ok(importPrivateKey(rsa1).equals(pairs.rs256.privateKey));
  const sec1 = pairs.es256.privateKey.export({ type: 'sec1', format: 'pem' }) as string;
  assert.ok(importPrivateKey(sec1).equals(pairs.es256.privateKey));
  // PEM/JWK given as bytes, PKCS#8 DER bytes
  assert.ok(importPublicKey(Buffer.from(publicKeyPem(pairs.es256.publicKey))).equals(pairs.es256.publicKey));
  assert.ok(importPublicKey(Buffer.from(JSON.stringify(publicKeyJwk(pairs.es256.publicKey)))).equals(pairs.es256.publicKey));
  assert.ok(importPrivateKey(Buffer.from(privateKeyPem(pairs.rs256.privateKey))).equals(pairs.rs256.privateKey));
  assert.ok(importPrivateKey(new Uint8Array(pairs.ed25519.privateKey.export({ format: 'der', type: 'pkcs8' }))).equals(pairs.ed25519.privateKey));
  assert.throws(() => importPrivateKey(new Uint8Array(10)), { code: 'KEY_INVALID' });
  // raw Ed25519
  const raw = rawPublicKey(pairs.ed25519.publicKey);
  assert.equal(raw.length, 32);
  assert.ok(importPublicKey(raw).equals(pairs.ed25519.publicKey));
  process.stdout.write(`# key round trips: ${n + 3} assertions groups\n`);
});

test('bad key input is coded, never a crash', () => {
  const cases: Array<[unknown, string[]]> = [
    ['', ['KEY_INVALID']],
    ['not a key', ['KEY_INVALID']],
    ['-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n', ['KEY_INVALID']],
    ['{', ['KEY_INVALID']],
    ['{"kty":"oct","k":"AAAA"}', ['KEY_UNSUPPORTED']],
    [{ kty: 'OKP', crv: 'X25519', x: 'AAAA' }, ['KEY_UNSUPPORTED']],
    [{ kty: 'OKP', crv: 'Ed25519', x: 'AAAA=' }, ['KEY_INVALID']],
    [{ kty: 'OKP', crv: 'Ed25519' }, ['KEY_INVALID']],
    [{ kty: 'EC', crv: 'P-384', x: 'AA', y: 'AA' }, ['KEY_UNSUPPORTED']],
    [new Uint8Array(31), ['KEY_INVALID']],
    [new Uint8Array(100), ['KEY_INVALID']],
    [42, ['KEY_INVALID']],
    ['-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n', ['KEY_UNSUPPORTED']],
  ];
  for (const [input, codes] of cases) {
    assert.throws(() => importPublicKey(input as string), (e: { code?: string }) => codes.includes(e.code ?? ''), JSON.stringify(String(input)).slice(0, 60));
  }
  assert.throws(() => importPrivateKey(publicKeyPem(pairs.ed25519.publicKey)), { code: 'KEY_INVALID' });
  // JWK "use"/"alg" must agree with the key (Wycheproof json_web_key_test: mismatchedAlgAndCurve, invalid_use)
  const ecJwk = publicKeyJwk(pairs.es256.publicKey);
  assert.ok(importPublicKey({ ...ecJwk, alg: 'ES256', use: 'sig' }).equals(pairs.es256.publicKey));
  assert.throws(() => importPublicKey({ ...ecJwk, alg: 'ES521' }), { code: 'KEY_UNSUPPORTED' });
  assert.throws(() => importPublicKey({ ...ecJwk, use: 'enc' }), { code: 'KEY_UNSUPPORTED' });
  assert.throws(() => importPublicKey({ ...publicKeyJwk(pairs.rs256.publicKey), alg: 'PS256' }), { code: 'KEY_UNSUPPORTED' });
  assert.throws(() => importPrivateKey({ ...pairs.es256.privateKey.export({ format: 'jwk' }), alg: 'RS256' }), { code: 'KEY_UNSUPPORTED' });
  assert.throws(() => importPublicKey({ ...publicKeyJwk(pairs.rs256.publicKey), e: 'AQ' }), { code: 'KEY_UNSUPPORTED' });
  assert.throws(() => importPrivateKey(publicKeyJwk(pairs.ed25519.publicKey)), { code: 'KEY_INVALID' });
  // small RSA and other curves refused
  const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
  assert.throws(() => algOfKey(small.publicKey), { code: 'KEY_UNSUPPORTED' });
  assert.throws(() => importPublicKey(small.publicKey.export({ type: 'spki', format: 'pem' }) as string), { code: 'KEY_UNSUPPORTED' });
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  assert.throws(() => algOfKey(p384.publicKey), { code: 'KEY_UNSUPPORTED' });
  assert.throws(() => sign(pairs.ed25519.publicKey, 'x'), { code: 'KEY_INVALID' });
  assert.throws(() => sign(pairs.ed25519.privateKey, 'x', { alg: 'rs256' }), { code: 'KEY_UNSUPPORTED' });
  process.stdout.write(`# bad key inputs: ${cases.length + 7}\n`);
});

test('verify never throws on malformed signatures; ES256 formats', () => {
  const junk = [new Uint8Array(0), new Uint8Array(1), new Uint8Array(63), new Uint8Array(64), new Uint8Array(65), new Uint8Array(384), new Uint8Array(4096).fill(0xff)];
  let n = 0;
  for (const alg of ALGS) {
    for (const s of junk) {
      assert.equal(verify(pairs[alg].publicKey, 'm', s), false);
      assert.equal(verify(pairs[alg].publicKey, 'm', s, { ecdsaFormat: 'der' }), false);
      n += 2;
    }
    assert.equal(verify(pairs[alg].publicKey, 'm', 'not bytes' as unknown as Uint8Array), false);
  }
  const { privateKey, publicKey } = pairs.es256;
  const p = sign(privateKey, 'm');
  assert.equal(p.length, 64);
  const d = sign(privateKey, 'm', { ecdsaFormat: 'der' });
  assert.ok(isStrictDerEcdsa(d));
  assert.ok(verify(publicKey, 'm', d, { ecdsaFormat: 'der' }));
  assert.ok(!verify(publicKey, 'm', d), 'DER is not accepted where P1363 is expected');
  assert.ok(!verify(publicKey, 'm', p, { ecdsaFormat: 'der' }));
  // trailing garbage / non-minimal length are rejected
  assert.ok(!verify(publicKey, 'm', new Uint8Array([...d, 0]), { ecdsaFormat: 'der' }));
  // RSA: signature with a leading zero byte stripped or added
  const rs = sign(pairs.rs256.privateKey, 'm');
  assert.ok(!verify(pairs.rs256.publicKey, 'm', new Uint8Array([0, ...rs])));
  process.stdout.write(`# malformed signatures: ${n + 8}\n`);
});

test('HMAC-SHA256: RFC 4231 case 2, constant-time verify, truncation', () => {
  const mac = hmacSha256('Jefe', 'what do ya want for nothing?');
  assert.equal(toHex(mac), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  assert.ok(verifyHmacSha256('Jefe', 'what do ya want for nothing?', mac));
  assert.ok(verifyHmacSha256(hmacKeyFromSecret('Jefe'), 'what do ya want for nothing?', mac));
  assert.ok(!verifyHmacSha256('Jefe', 'what do ya want for nothing?', mac.subarray(0, 16)));
  assert.ok(verifyHmacSha256('Jefe', 'what do ya want for nothing?', mac.subarray(0, 16), { tagBytes: 16 }));
  assert.ok(!verifyHmacSha256('Jefe', 'x', mac));
  assert.throws(() => verifyHmacSha256('Jefe', 'x', mac, { tagBytes: 8 }), { code: 'INPUT_INVALID' });
  assert.throws(() => hmacKeyFromSecret(''), { code: 'KEY_INVALID' });
});

test('key id styles: ELI kid, HashMatch SPKI hex, RFC 7638 thumbprint', () => {
  const eliJwk = JSON.parse(fs.readFileSync(`${V}/eli/upstream/public_key.jwk`, 'utf8'));
  const eli = loadPublicKey(`${V}/eli/upstream/public_key.jwk`);
  assert.equal(keyId(eli, 'pem-sha256'), eliJwk.kid);
  assert.equal(keyId(eli, 'pem-sha256'), 'sha256:' + sha256Hex(publicKeyPem(eli)));
  const hm = loadPublicKey(`${V}/hashmatch/generated/keys/organizer.pub`);
  assert.ok(keyId(hm, 'spki-hex').startsWith('302a300506032b6570032100'));
  assert.equal(keyId(hm, 'spki-hex').length, 88);
  assert.equal(keyId(loadPrivateKey(`${V}/hashmatch/generated/keys/organizer.key`), 'spki-hex'), keyId(hm, 'spki-hex'));
  // RFC 7638 §3.1 example thumbprint: NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs
  const rfc = importPublicKey({
    kty: 'RSA',
    n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
    e: 'AQAB',
  });
  assert.equal(keyId(rfc, 'jwk'), 'sha256:' + Buffer.from('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs', 'base64url').toString('hex'));
  // the same key gives the same jwk-kid whichever way it was imported
  for (const alg of ALGS) {
    const k = pairs[alg];
    assert.equal(keyId(k.privateKey), keyId(k.publicKey));
    assert.match(keyId(k.publicKey), /^sha256:[0-9a-f]{64}$/);
  }
});

test('trust store: parse, resolve, revoked, expiry, not-yet-valid, findByKey, validation errors', () => {
  const ed = pairs.ed25519.publicKey;
  const es = pairs.es256.publicKey;
  const store = TrustStore.empty();
  const e1 = store.add(ed, { label: 'ed' });
  assert.equal(e1.kid, keyId(ed));
  store.add(es, { kid: 'my-es-key', notBefore: '2025-01-01T00:00:00Z', notAfter: '2025-12-31T23:59:59Z' });
  const text = store.serialize();
  const back = TrustStore.parse(text);
  assert.deepEqual(back.toJSON(), store.toJSON());
  assert.ok(back.resolve(e1.kid).key.equals(ed));
  assert.throws(() => back.resolve('nope'), { code: 'KEY_NOT_FOUND' });
  assert.ok(back.resolve('my-es-key', new Date('2025-06-01T00:00:00Z')).key.equals(es));
  assert.throws(() => back.resolve('my-es-key', new Date('2026-06-01T00:00:00Z')), { code: 'KEY_EXPIRED' });
  assert.throws(() => back.resolve('my-es-key', new Date('2024-06-01T00:00:00Z')), { code: 'KEY_NOT_YET_VALID' });
  assert.equal(back.findByKey(es)?.kid, 'my-es-key');
  assert.equal(back.findByKey(pairs.rs256.publicKey), undefined);
  assert.throws(() => back.resolveByKey(pairs.rs256.publicKey), { code: 'KEY_UNTRUSTED' });
  back.revoke(e1.kid, { at: '2025-03-01T00:00:00Z', reason: 'lost' });
  assert.ok(back.resolve(e1.kid, new Date('2025-02-01T00:00:00Z')));
  assert.throws(() => back.resolve(e1.kid, new Date('2025-03-01T00:00:00Z')), { code: 'KEY_REVOKED' });
  back.revoke(e1.kid);
  assert.throws(() => back.resolve(e1.kid, new Date('2000-01-01T00:00:00Z')), { code: 'KEY_REVOKED' });
  assert.throws(() => back.revoke('nope'), { code: 'KEY_NOT_FOUND' });
  assert.throws(() => back.add(ed, { kid: 'my-es-key' }), { code: 'TRUST_STORE_INVALID' });

  const good = JSON.parse(text);
  const bad = (mut: (o: any) => void, why: string) => {
    const o = structuredClone(good);
    mut(o);
    assert.throws(() => TrustStore.parse(JSON.stringify(o)), { code: 'TRUST_STORE_INVALID' }, why);
  };
  bad((o) => (o.version = 2), 'version');
  bad((o) => o.keys.push(structuredClone(o.keys[0])), 'duplicate kid');
  bad((o) => (o.keys[0].kid = 'sha256:' + '0'.repeat(64)), 'kid does not match the JWK');
  bad((o) => (o.keys[0].alg = 'rs256'), 'alg mismatch');
  bad((o) => (o.keys[1].notAfter = '2025-13-01T00:00:00Z'), 'month 13');
  bad((o) => (o.keys[1].notAfter = '2025-02-30T00:00:00Z'), 'Feb 30');
  bad((o) => (o.keys[1].notAfter = '2025-01-01 00:00:00'), 'no T/offset');
  bad((o) => (o.keys[1].notBefore = '2026-01-01T00:00:00Z'), 'notBefore after notAfter');
  bad((o) => (o.keys[0].revoked = 'yes'), 'revoked type');
  bad((o) => (o.keys[0].revoked = { at: 'x' }), 'revoked.at');
  bad((o) => (o.keys[0].jwk.d = 'AAAA'), 'private member');
  bad((o) => (o.keys[0].extra = 1), 'unknown member');
  bad((o) => (o.keys = {}), 'keys not array');
  assert.throws(() => TrustStore.parse('{"version":1,"keys":[],"keys":[]}'), { code: 'TRUST_STORE_INVALID' });
  assert.throws(() => TrustStore.parse('nope'), { code: 'TRUST_STORE_INVALID' });
  // ELI-style kid (sha256 of SPKI PEM) is accepted as matching the JWK
  const eli = loadPublicKey(`${V}/eli/upstream/public_key.jwk`);
  const s2 = TrustStore.empty();
  s2.add(eli, { kid: keyId(eli, 'pem-sha256') });
  assert.equal(TrustStore.parse(s2.serialize()).keys()[0]!.kid, keyId(eli, 'pem-sha256'));
  // HashMatch-style SPKI-hex kid must match too
  const s3 = TrustStore.empty();
  s3.add(ed, { kid: keyId(ed, 'spki-hex') });
  assert.throws(() => s3.add(es, { kid: keyId(ed, 'spki-hex') }), { code: 'TRUST_STORE_INVALID' });
  process.stdout.write('# trust store: 13 invalid-store cases + resolve/revoke/expiry\n');
});

test('keyfiles: load PEM/JWK/private/inline, 0600 private keys, key dir, trust store I/O', () => {
  const dir = path.join(tmp, 'kd');
  const r = writeKeyDir(dir, 'es256');
  assert.equal(fs.statSync(r.privatePath).mode & 0o777, 0o600);
  assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
  const pub = loadPublicKey(r.publicPath);
  assert.equal(keyId(pub), r.kid);
  assert.ok(loadPublicKey(r.jwkPath).equals(pub));
  assert.ok(loadPublicKey(r.privatePath).equals(pub));
  assert.ok(loadPublicKey(fs.readFileSync(r.publicPath, 'utf8')).equals(pub), 'inline PEM');
  const jwk = JSON.parse(fs.readFileSync(r.jwkPath, 'utf8'));
  assert.equal(jwk.kid, r.kid);
  assert.equal(jwk.alg, 'ES256');
  assert.equal(jwk.use, 'sig');
  const priv = loadPrivateKey(r.privatePath);
  assert.ok(verify(pub, 'x', sign(priv, 'x')));
  assert.throws(() => writeKeyDir(dir, 'es256'), { code: 'OUTPUT_EXISTS' });
  const r2 = writeKeyDir(dir, 'ed25519', { force: true });
  assert.notEqual(r2.kid, r.kid);
  const p2 = path.join(tmp, 'x.pem');
  writePrivateKeyPem(p2, pairs.ed25519.privateKey);
  assert.equal(fs.statSync(p2).mode & 0o777, 0o600);
  assert.ok(loadPrivateKey(p2).equals(pairs.ed25519.privateKey));
  assert.throws(() => loadPublicKey(path.join(tmp, 'missing.pem')), { code: 'IO_ERROR' });
  assert.throws(() => loadPublicKey(tmp), { code: 'IO_ERROR' });
  assert.throws(() => loadPrivateKey(r.publicPath), { code: 'KEY_INVALID' });
  fs.writeFileSync(path.join(tmp, 'garbage'), 'garbage');
  assert.throws(() => loadPublicKey(path.join(tmp, 'garbage')), { code: 'KEY_INVALID' });
  const ts = TrustStore.empty();
  ts.add(pub);
  const tsPath = path.join(tmp, 'trust.json');
  saveTrustStore(tsPath, ts);
  assert.deepEqual(loadTrustStore(tsPath).toJSON(), ts.toJSON());
  assert.deepEqual(fs.readdirSync(tmp).filter((f) => f.includes('.tmp-')), [], 'no temp files left');
  assert.throws(() => loadTrustStore(path.join(tmp, 'garbage')), { code: 'TRUST_STORE_INVALID' });
});

test('parseRfc3339 equals Date.parse on generated date-times (offsets, fractions, lower case, leap seconds, years < 100)', () => {
  let seed = 7;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const p2 = (n: number) => String(n).padStart(2, '0');
  for (let k = 0; k < 5000; k++) {
    const y = Math.min(9999, [0, 1, 99, 100, 1600, 1900, 1970, 2000, 2024, 9999][rnd(10)]! + (k % 3 === 0 ? rnd(50) : 0));
    const mo = 1 + rnd(12);
    const d = 1 + rnd(28);
    const frac = ['', '.5', '.123', '.9999', '.000000001', '.123456789'][rnd(6)];
    const off = ['Z', 'z', '+00:00', '-00:00', '+05:30', '-12:45', '+23:59'][rnd(7)];
    const sec = k % 50 === 0 ? 60 : rnd(60);
    const s = `${String(y).padStart(4, '0')}-${p2(mo)}-${p2(d)}${k % 7 === 0 ? 't' : 'T'}${p2(rnd(24))}:${p2(rnd(60))}:${p2(sec)}${frac}${off}`;
    const want = Date.parse(s.toUpperCase().replace(/:60(\.|Z|[+-])/, ':59$1'));
    assert.equal(parseRfc3339(s), want, s);
  }
  for (const bad of ['2024-02-30T00:00:00Z', '2023-02-29T00:00:00Z', '2024-13-01T00:00:00Z', '2024-01-01T24:00:00Z', '2024-01-01T00:00:61Z', '2024-01-01T00:00:00+24:00', '2024-01-01 00:00:00Z', '2024-01-01T00:00:00']) {
    assert.throws(() => parseRfc3339(bad, 't', 'X'), (e: any) => e.code === 'X', bad);
  }
  assert.equal(parseRfc3339('2024-02-29T00:00:00Z'), Date.UTC(2024, 1, 29));
});

test('signAsync (thread pool) gives what sign gives, with the same refusals; signDsseAsync equals signDsse', async () => {
  for (const alg of ALGS) {
    const { privateKey, publicKey } = pairs[alg];
    const a = await signAsync(privateKey, 'msg');
    assert.ok(verify(publicKey, 'msg', a), alg);
    if (alg !== 'es256') assert.deepEqual(Buffer.from(a), Buffer.from(sign(privateKey, 'msg')), `${alg} is deterministic`);
    const der = await signAsync(privateKey, new Uint8Array([1, 2, 3]), { ecdsaFormat: 'der' });
    assert.ok(verify(publicKey, new Uint8Array([1, 2, 3]), der, { ecdsaFormat: alg === 'es256' ? 'der' : undefined }), alg);
    await assert.rejects(signAsync(publicKey, 'msg'), { code: 'KEY_INVALID' });
    await assert.rejects(signAsync(privateKey, 'msg', { alg: alg === 'ed25519' ? 'rs256' : 'ed25519' }), { code: 'KEY_UNSUPPORTED' });
  }
  const { privateKey } = pairs.ed25519;
  assert.deepEqual(await signDsseAsync('application/vnd.in-toto+json', '{"a":1}', privateKey, 'k'), signDsse('application/vnd.in-toto+json', '{"a":1}', privateKey, 'k'));
  await assert.rejects(signDsseAsync(42 as unknown as string, 'x', privateKey), { code: 'DSSE_INVALID' });
});

test('writeKeyDir: processes creating the same key directory at the same moment: exactly one key is written, the others get OUTPUT_EXISTS', async () => {
  const { spawn } = await import('node:child_process');
  const keyfiles = path.resolve(import.meta.dirname, '../src/store/keyfiles.ts');
  for (let round = 0; round < 2; round++) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-keyrace-'));
    const keyDir = path.join(dir, 'log');
    const at = Date.now() + 1500; // every child spins until this moment, then creates the key directory
    const script = `
      const { writeKeyDir } = await import(${JSON.stringify(keyfiles)});
      while (Date.now() < ${at});
      try { const k = writeKeyDir(${JSON.stringify(keyDir)}, 'ed25519'); console.log('WROTE ' + k.kid); }
      catch (e) { console.log('ERR ' + e.code); }`;
    const outs = await Promise.all(
      Array.from({ length: 6 }, () => new Promise<string>((resolve, reject) => {
        const c = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
        c.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`child exited ${code}: ${out}`))));
      })),
    );
    try {
      const wrote = outs.filter((o) => o.startsWith('WROTE '));
      assert.equal(wrote.length, 1, outs.join('\n'));
      for (const o of outs) if (!o.startsWith('WROTE ')) assert.equal(o, 'ERR OUTPUT_EXISTS');
      // the files on disk are the winner's key pair, and no temp file is left
      const priv = loadPrivateKey(path.join(keyDir, 'private.pem'));
      const jwk = JSON.parse(fs.readFileSync(path.join(keyDir, 'public.jwk'), 'utf8'));
      assert.equal('WROTE ' + jwk.kid, wrote[0]);
      assert.ok(verify(loadPublicKey(path.join(keyDir, 'public.pem')), 'x', sign(priv, 'x')));
      assert.deepEqual(fs.readdirSync(keyDir).sort(), ['private.pem', 'public.jwk', 'public.pem']);
      assert.equal(fs.statSync(path.join(keyDir, 'private.pem')).mode & 0o777, 0o600);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
});
