/**
 * Signatures: Ed25519 (pure, RFC 8032), RS256 (RSASSA-PKCS1-v1_5 with SHA-256) and ES256 (ECDSA P-256 SHA-256,
 * IEEE P1363 r||s by default, DER on request), plus HMAC-SHA256. Everything runs on node:crypto (OpenSSL).
 *
 * `verify` never throws on malformed signatures: wrong lengths, bad DER, out-of-range scalars all yield `false`.
 * Non-canonical forms are rejected (Ed25519 S >= L, non-DER ECDSA encodings, RSA signatures whose length is not
 * the modulus length), matching the Wycheproof expectations (see test/kernel-crypto-vectors.test.ts).
 */
import {
  createHmac,
  sign as nodeSign,
  verify as nodeVerify,
  constants,
  type KeyObject,
} from './crypto/index.ts';
import { EvidentError } from './errors.ts';
import { algOfKey, rsaModulusBytes, type SigAlg } from './keys.ts';
import { timingSafeEqualBytes } from './digest.ts';
import { bufferView } from './encoding.ts';

export interface SignOptions {
  /** Expected algorithm; must match the key (defaults to the key's own). */
  alg?: SigAlg;
  /** ES256 only: `p1363` (default, 64 bytes r||s) or `der` (ASN.1 SEQUENCE of two INTEGERs). */
  ecdsaFormat?: 'der' | 'p1363';
}

function algFor(key: KeyObject, want: SigAlg | undefined): SigAlg {
  const alg = algOfKey(key);
  if (want && want !== alg) throw new EvidentError('KEY_UNSUPPORTED', `key is ${alg}, not ${want}`);
  return alg;
}

/** Sign `data` with a private key. Throws KEY_INVALID/KEY_UNSUPPORTED for unusable keys. */
export function sign(privateKey: KeyObject, data: Uint8Array | string, opts: SignOptions = {}): Uint8Array {
  if (privateKey.type !== 'private') throw new EvidentError('KEY_INVALID', 'signing needs a private key');
  const alg = algFor(privateKey, opts.alg);
  const msg = typeof data === 'string' ? Buffer.from(data, 'utf8') : bufferView(data);
  switch (alg) {
    case 'ed25519':
      return new Uint8Array(nodeSign(null, msg, privateKey));
    case 'rs256':
      return new Uint8Array(nodeSign('sha256', msg, { key: privateKey, padding: constants.RSA_PKCS1_PADDING }));
    case 'es256':
      return new Uint8Array(
        nodeSign('sha256', msg, { key: privateKey, dsaEncoding: opts.ecdsaFormat === 'der' ? 'der' : 'ieee-p1363' }),
      );
  }
}

/**
 * {@link sign} on libuv's thread pool: the calling thread only queues the job and takes the result, so a server
 * signing many small messages keeps its event loop free for requests. Same checks, same (deterministic for
 * Ed25519 and RS256) output.
 */
export function signAsync(privateKey: KeyObject, data: Uint8Array | string, opts: SignOptions = {}): Promise<Uint8Array> {
  if (privateKey.type !== 'private') return Promise.reject(new EvidentError('KEY_INVALID', 'signing needs a private key'));
  let alg: SigAlg;
  try {
    alg = algFor(privateKey, opts.alg);
  } catch (e) {
    return Promise.reject(e);
  }
  const msg = typeof data === 'string' ? Buffer.from(data, 'utf8') : bufferView(data);
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, sig: Buffer): void => (err ? reject(err) : resolve(new Uint8Array(sig.buffer, sig.byteOffset, sig.byteLength)));
    if (alg === 'ed25519') nodeSign(null, msg, privateKey, done);
    else if (alg === 'rs256') nodeSign('sha256', msg, { key: privateKey, padding: constants.RSA_PKCS1_PADDING }, done);
    else nodeSign('sha256', msg, { key: privateKey, dsaEncoding: opts.ecdsaFormat === 'der' ? 'der' : 'ieee-p1363' }, done);
  });
}

/**
 * Verify a signature. Returns false (never throws) for any malformed signature. A private key is accepted and
 * its public half used. Throws only when the key itself is unusable for the requested algorithm
 * (KEY_UNSUPPORTED), since that is a key problem rather than a signature verdict.
 */
export function verify(publicKey: KeyObject, data: Uint8Array | string, sig: Uint8Array, opts: SignOptions = {}): boolean {
  const alg = algFor(publicKey, opts.alg);
  if (!(sig instanceof Uint8Array)) return false;
  const msg = typeof data === 'string' ? Buffer.from(data, 'utf8') : bufferView(data);
  const s = bufferView(sig);
  try {
    switch (alg) {
      case 'ed25519':
        if (s.length !== 64) return false;
        return nodeVerify(null, msg, publicKey, s);
      case 'rs256': {
        if (s.length !== rsaModulusBytes(publicKey)) return false;
        return nodeVerify('sha256', msg, { key: publicKey, padding: constants.RSA_PKCS1_PADDING }, s);
      }
      case 'es256': {
        if (opts.ecdsaFormat === 'der') {
          if (!isStrictDerEcdsa(s)) return false;
          return nodeVerify('sha256', msg, { key: publicKey, dsaEncoding: 'der' }, s);
        }
        if (s.length !== 64) return false;
        return nodeVerify('sha256', msg, { key: publicKey, dsaEncoding: 'ieee-p1363' }, s);
      }
    }
  } catch {
    return false;
  }
}

/**
 * Strict DER check of an ECDSA-Sig-Value: SEQUENCE { INTEGER r, INTEGER s } with definite minimal lengths,
 * minimal positive integers and no trailing bytes. (OpenSSL also re-encodes and compares; this is belt and braces
 * and keeps the rule independent of the OpenSSL version.)
 */
export function isStrictDerEcdsa(b: Uint8Array): boolean {
  let p = 0;
  const readLen = (): number => {
    if (p >= b.length) return -1;
    const first = b[p++]!;
    if (first < 0x80) return first;
    if (first !== 0x81) return -1; // ECDSA P-256 signatures never need more than one length byte
    if (p >= b.length) return -1;
    const l = b[p++]!;
    return l < 0x80 ? -1 : l; // minimal encoding
  };
  const readInt = (): boolean => {
    if (b[p++] !== 0x02) return false;
    const l = readLen();
    if (l <= 0 || p + l > b.length) return false;
    const first = b[p]!;
    if (first & 0x80) return false; // negative
    if (first === 0 && (l === 1 || !(b[p + 1]! & 0x80))) return false; // zero value or non-minimal
    p += l;
    return true;
  };
  if (b.length < 8 || b[p++] !== 0x30) return false;
  const seqLen = readLen();
  if (seqLen < 0 || p + seqLen !== b.length) return false;
  return readInt() && readInt() && p === b.length;
}

type HmacKey = KeyObject | Uint8Array | string;

function hmacKeyInput(key: HmacKey): KeyObject | Buffer {
  if (typeof key === 'string') return Buffer.from(key, 'utf8');
  if (key instanceof Uint8Array) return bufferView(key);
  if (key.type !== 'secret') throw new EvidentError('KEY_UNSUPPORTED', 'HMAC needs a secret key');
  return key;
}

/** HMAC-SHA256 (32 bytes). String keys/data are UTF-8. */
export function hmacSha256(key: HmacKey, data: Uint8Array | string): Uint8Array {
  const h = createHmac('sha256', hmacKeyInput(key));
  h.update(typeof data === 'string' ? Buffer.from(data, 'utf8') : bufferView(data));
  return new Uint8Array(h.digest());
}

/**
 * Constant-time HMAC-SHA256 check. By default the MAC must be the full 32 bytes; `tagBytes` (16..32) expects a
 * truncated tag of exactly that many leading bytes (RFC 2104 §5). Any other length is rejected.
 */
export function verifyHmacSha256(key: HmacKey, data: Uint8Array | string, mac: Uint8Array, opts: { tagBytes?: number } = {}): boolean {
  const want = opts.tagBytes ?? 32;
  if (!Number.isInteger(want) || want < 16 || want > 32) throw new EvidentError('INPUT_INVALID', 'HMAC tag length must be 16..32 bytes');
  if (!(mac instanceof Uint8Array)) return false;
  const full = hmacSha256(key, data);
  if (mac.length !== want) {
    timingSafeEqualBytes(full, full);
    return false;
  }
  return timingSafeEqualBytes(full.subarray(0, want), mac);
}
