/**
 * The browser implementation of the kernel's crypto port (see ./index.ts): the names of ./node.ts, synchronous,
 * for the argument shapes the kernel, the profiles and @sigstore/{core,verify,bundle} use. The page build
 * (scripts/build-page.mjs) resolves ./node.ts and the bare module `crypto` to this file.
 *
 * - Hashes and HMAC: @noble/hashes. Randomness: WebCrypto `getRandomValues`.
 * - Ed25519 verification follows OpenSSL's `ossl_ed25519_verify` (S < L, the public key decoded like ref10 —
 *   non-canonical y accepted mod p —, cofactorless R' = sB - hA compared byte for byte with R), built on the
 *   @noble/curves point arithmetic. ECDSA (P-256/P-384/P-521) is verified here too, on noble's points, with
 *   OpenSSL's rules: strict DER or exact-length IEEE P1363, 1 <= r, s < n, no low-S requirement, digest
 *   truncated to the order's bit length. RSASSA-PKCS1-v1_5 is BigInt modPow and a byte-for-byte comparison with
 *   the expected encoded message (so a DigestInfo without its NULL is rejected, as OpenSSL does).
 * - Keys: SPKI / PKCS#1 DER, PEM (PUBLIC KEY, RSA PUBLIC KEY, CERTIFICATE) and JWK for Ed25519, EC named curves
 *   and RSA; exports re-encode canonically exactly like node (SPKI/PKCS#1 DER and PEM, JWK member order).
 * - Not available (the page never signs): createPrivateKey, sign, generateKeyPairSync, RSASSA-PSS verification;
 *   they throw an Error with code ERR_FEATURE_UNAVAILABLE_ON_PLATFORM.
 */
import { Buffer } from 'buffer';
import { md5, sha1 } from '@noble/hashes/legacy.js';
import { sha224, sha256, sha384, sha512, sha512_224, sha512_256 } from '@noble/hashes/sha2.js';
import { sha3_224, sha3_256, sha3_384, sha3_512 } from '@noble/hashes/sha3.js';
import { hmac } from '@noble/hashes/hmac.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import type * as NodeCrypto from 'node:crypto';
import { concatBytes as concat } from '../encoding.ts';

export type { JsonWebKey, KeyObject } from 'node:crypto';

// ---------------------------------------------------------------------------------------------------------------
// errors

function codedError<E extends Error>(e: E, code: string): E {
  Object.defineProperty(e, 'code', { value: code, enumerable: false, writable: true, configurable: true });
  return e;
}
const err = (code: string, message: string): Error => codedError(new Error(message), code);
const typeErr = (code: string, message: string): TypeError => codedError(new TypeError(message), code);

function unavailable(what: string): Error {
  return err('ERR_FEATURE_UNAVAILABLE_ON_PLATFORM', `${what} is not available in the browser verifier (it only verifies)`);
}

/** The OpenSSL error messages node surfaces for undecodable keys. */
const OSSL = {
  unsupported: () => err('ERR_OSSL_UNSUPPORTED', 'error:1E08010C:DECODER routines::unsupported'),
  wrongTag: () => err('ERR_OSSL_ASN1_WRONG_TAG', 'error:068000A8:asn1 encoding routines::wrong tag'),
  tooSmall: () => err('ERR_OSSL_ASN1_TOO_SMALL', 'error:068000E0:asn1 encoding routines::too small'),
  tooLong: () => err('ERR_OSSL_ASN1_TOO_LONG', 'error:0680009B:asn1 encoding routines::too long'),
  headerTooLong: () => err('ERR_OSSL_ASN1_HEADER_TOO_LONG', 'error:0680007B:asn1 encoding routines::header too long'),
  decodeError: () => err('ERR_OSSL_EVP_DECODE_ERROR', 'error:03000072:digital envelope routines::decode error'),
  seqMismatch: () => err('ERR_OSSL_ASN1_SEQUENCE_LENGTH_MISMATCH', 'error:06800094:asn1 encoding routines::sequence length mismatch'),
  seqNotConstructed: () => err('ERR_OSSL_ASN1_SEQUENCE_NOT_CONSTRUCTED', 'error:06800095:asn1 encoding routines::sequence not constructed'),
  typeNotPrimitive: () => err('ERR_OSSL_ASN1_TYPE_NOT_PRIMITIVE', 'error:068000C3:asn1 encoding routines::type not primitive'),
  bitsLeft: () => err('ERR_OSSL_ASN1_INVALID_BIT_STRING_BITS_LEFT', 'error:068000DC:asn1 encoding routines::invalid bit string bits left'),
  noStartLine: () => err('ERR_OSSL_PEM_NO_START_LINE', 'error:0480006C:PEM routines::no start line'),
  invalidDigest: () => err('ERR_OSSL_INVALID_DIGEST', 'error:1C80007A:Provider routines::invalid digest'),
};

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'function') return `function ${(v as { name?: string }).name ?? ''}`;
  if (typeof v === 'object') {
    const name = (v as { constructor?: { name?: string } }).constructor?.name;
    return name ? `an instance of ${name}` : 'an object';
  }
  let shown = typeof v === 'string' ? `'${v.length > 25 ? v.slice(0, 25) + '...' : v}'` : String(v);
  if (typeof v === 'bigint') shown += 'n';
  return `type ${typeof v} (${shown})`;
}

function invalidArgType(name: string, expected: string, v: unknown): TypeError {
  const what = name.includes('.') ? 'property' : 'argument';
  return typeErr('ERR_INVALID_ARG_TYPE', `The "${name}" ${what} must be ${expected}. Received ${describe(v)}`);
}

function invalidArgValue(name: string, v: unknown, reason = 'is invalid'): TypeError {
  const shown = typeof v === 'string' ? `'${v}'` : v === undefined ? 'undefined' : String(v);
  return typeErr('ERR_INVALID_ARG_VALUE', `The property '${name}' ${reason}. Received ${shown}`);
}

// ---------------------------------------------------------------------------------------------------------------
// bytes

type BinaryLike = string | ArrayBufferView;
type Encoding = string;

function isView(v: unknown): v is ArrayBufferView {
  return ArrayBuffer.isView(v);
}

function viewBytes(v: ArrayBufferView): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

function dataBytes(data: unknown, enc: Encoding | undefined, name = 'data'): Uint8Array {
  if (typeof data === 'string') return viewBytes(Buffer.from(data, (enc ?? 'utf8') as BufferEncoding));
  if (isView(data)) return viewBytes(data);
  throw invalidArgType(name, 'of type string or an instance of Buffer, TypedArray, or DataView', data);
}

function sigBytes(sig: unknown): Uint8Array {
  if (isView(sig)) return viewBytes(sig);
  throw invalidArgType('signature', 'an instance of Buffer, TypedArray, or DataView', sig);
}

function toB64Url(b: Uint8Array): string {
  return Buffer.from(b).toString('base64').replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
}

/** Node's `Buffer.from(s, 'base64')`: both alphabets, whitespace and garbage skipped, padding optional. */
function fromB64Lenient(s: string): Uint8Array {
  return viewBytes(Buffer.from(s.replace(/[^A-Za-z0-9+/_-]/g, '').replace(/-/g, '+').replace(/_/g, '/'), 'base64'));
}

function outputAs(b: Uint8Array, enc: Encoding | undefined): Buffer | string {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (enc === undefined || enc === 'buffer') return buf;
  if (enc === 'base64url') return toB64Url(b);
  return buf.toString(enc as BufferEncoding);
}

function bytesToBig(b: Uint8Array): bigint {
  let hex = '';
  for (const x of b) hex += x.toString(16).padStart(2, '0');
  return hex ? BigInt('0x' + hex) : 0n;
}

function bigToBytes(n: bigint, len?: number): Uint8Array {
  let hex = n.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  if (len !== undefined) {
    if (hex.length > len * 2) throw new RangeError('integer too large');
    hex = hex.padStart(len * 2, '0');
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

function fromHex(s: string): Uint8Array {
  return bigToBytes(BigInt('0x' + s), s.length / 2);
}

// ---------------------------------------------------------------------------------------------------------------
// hashes

interface NobleHash {
  (msg: Uint8Array): Uint8Array;
  create(): { update(b: Uint8Array): unknown; digest(): Uint8Array };
  outputLen: number;
  blockLen: number;
}

interface HashAlg {
  name: string;
  fn: NobleHash;
  /** DER DigestInfo prefix (RSASSA-PKCS1-v1_5), when the hash has an OID. */
  digestInfo?: string;
}

const HASHES: Record<string, HashAlg> = {};
function addHash(names: string[], fn: unknown, digestInfo?: string): void {
  const alg: HashAlg = { name: names[0]!, fn: fn as NobleHash, ...(digestInfo ? { digestInfo } : {}) };
  for (const n of names) HASHES[n] = alg;
}
addHash(['md5', 'rsa-md5', 'ssl3-md5'], md5, '3020300c06082a864886f70d020505000410');
addHash(['sha1', 'rsa-sha1', 'sha-1', 'ssl3-sha1', 'rsa-sha1-2'], sha1, '3021300906052b0e03021a05000414');
addHash(['sha224', 'rsa-sha224', 'sha-224', 'sha2-224'], sha224, '302d300d06096086480165030402040500041c');
addHash(['sha256', 'rsa-sha256', 'sha-256', 'sha2-256'], sha256, '3031300d060960864801650304020105000420');
addHash(['sha384', 'rsa-sha384', 'sha-384', 'sha2-384'], sha384, '3041300d060960864801650304020205000430');
addHash(['sha512', 'rsa-sha512', 'sha-512', 'sha2-512'], sha512, '3051300d060960864801650304020305000440');
addHash(['sha512-224', 'rsa-sha512/224', 'sha512/224', 'sha-512/224', 'sha2-512/224'], sha512_224, '302d300d06096086480165030402050500041c');
addHash(['sha512-256', 'rsa-sha512/256', 'sha512/256', 'sha-512/256', 'sha2-512/256'], sha512_256, '3031300d060960864801650304020605000420');
addHash(['sha3-224', 'rsa-sha3-224'], sha3_224, '302d300d06096086480165030402070500041c');
addHash(['sha3-256', 'rsa-sha3-256'], sha3_256, '3031300d060960864801650304020805000420');
addHash(['sha3-384', 'rsa-sha3-384'], sha3_384, '3041300d060960864801650304020905000430');
addHash(['sha3-512', 'rsa-sha3-512'], sha3_512, '3051300d060960864801650304020a05000440');

function lookupHash(alg: unknown): HashAlg | undefined {
  return typeof alg === 'string' ? HASHES[alg.toLowerCase()] : undefined;
}

class Hash {
  #h: { update(b: Uint8Array): unknown; digest(): Uint8Array };
  #done = false;
  constructor(alg: HashAlg) {
    this.#h = alg.fn.create();
  }
  update(data: BinaryLike, enc?: Encoding): this {
    if (this.#done) throw err('ERR_CRYPTO_HASH_FINALIZED', 'Digest already called');
    this.#h.update(dataBytes(data, enc));
    return this;
  }
  digest(): Buffer;
  digest(enc: Encoding): string;
  digest(enc?: Encoding): Buffer | string {
    if (this.#done) throw err('ERR_CRYPTO_HASH_FINALIZED', 'Digest already called');
    this.#done = true;
    return outputAs(this.#h.digest(), enc);
  }
}

class Hmac {
  #h: { update(b: Uint8Array): unknown; digest(): Uint8Array };
  #done = false;
  constructor(alg: HashAlg, key: Uint8Array) {
    this.#h = hmac.create(alg.fn as never, key) as never;
  }
  update(data: BinaryLike, enc?: Encoding): this {
    if (this.#done) throw err('ERR_CRYPTO_HASH_FINALIZED', 'Digest already called');
    this.#h.update(dataBytes(data, enc));
    return this;
  }
  digest(): Buffer;
  digest(enc: Encoding): string;
  digest(enc?: Encoding): Buffer | string {
    // node returns an empty buffer (or string) for a second digest() of an Hmac
    if (this.#done) return outputAs(new Uint8Array(0), enc);
    this.#done = true;
    return outputAs(this.#h.digest(), enc);
  }
}

export function createHash(algorithm: string): Hash {
  const alg = lookupHash(algorithm);
  if (!alg) {
    if (typeof algorithm !== 'string') throw invalidArgType('algorithm', 'of type string', algorithm);
    throw new Error('Digest method not supported');
  }
  return new Hash(alg);
}

export function createHmac(algorithm: string, key: BinaryLike | NodeCrypto.KeyObject): Hmac {
  if (typeof algorithm !== 'string') throw invalidArgType('hmac', 'of type string', algorithm);
  const alg = lookupHash(algorithm);
  if (!alg) throw typeErr('ERR_CRYPTO_INVALID_DIGEST', `Invalid digest: ${algorithm}`);
  let k: Uint8Array;
  if (key instanceof KeyObjectImpl) {
    if (key.type !== 'secret') throw typeErr('ERR_CRYPTO_INVALID_KEY_OBJECT_TYPE', `Invalid key object type ${key.type}, expected secret.`);
    k = key.secretBytes();
  } else k = dataBytes(key, undefined, 'key');
  return new Hmac(alg, k);
}

/** One-shot `crypto.hash(algorithm, data, outputEncoding = 'hex')`. */
export function hash(algorithm: string, data: BinaryLike, outputEncoding: Encoding = 'hex'): string | Buffer {
  const alg = lookupHash(algorithm);
  if (!alg) {
    if (typeof algorithm !== 'string') throw invalidArgType('algorithm', 'of type string', algorithm);
    throw new Error('Digest method not supported');
  }
  return outputAs(alg.fn(dataBytes(data, undefined)), outputEncoding);
}

export function timingSafeEqual(a: ArrayBufferView | ArrayBuffer, b: ArrayBufferView | ArrayBuffer): boolean {
  const bytes = (v: unknown, name: string): Uint8Array => {
    if (v instanceof ArrayBuffer) return new Uint8Array(v);
    if (isView(v)) return viewBytes(v);
    throw invalidArgType(name, 'an instance of ArrayBuffer, Buffer, TypedArray, or DataView', v);
  };
  const x = bytes(a, 'buf1');
  const y = bytes(b, 'buf2');
  if (x.length !== y.length) throw codedError(new RangeError('Input buffers must have the same byte length'), 'ERR_CRYPTO_TIMING_SAFE_EQUAL_LENGTH');
  let d = 0;
  for (let i = 0; i < x.length; i++) d |= x[i]! ^ y[i]!;
  return d === 0;
}

export function randomBytes(size: number, callback?: (e: Error | null, buf: Buffer) => void): Buffer {
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 0 || size > 2 ** 31 - 1) {
    throw codedError(new RangeError(`The value of "size" is out of range. It must be >= 0 && <= 2147483647. Received ${String(size)}`), 'ERR_OUT_OF_RANGE');
  }
  const out = Buffer.alloc(size);
  const c = (globalThis as { crypto?: { getRandomValues(a: Uint8Array): Uint8Array } }).crypto;
  if (!c || typeof c.getRandomValues !== 'function') throw unavailable('randomBytes without WebCrypto');
  for (let o = 0; o < size; o += 65536) c.getRandomValues(new Uint8Array(out.buffer, out.byteOffset + o, Math.min(65536, size - o)));
  if (callback) {
    queueMicrotask(() => callback(null, out));
    return undefined as unknown as Buffer;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// DER

interface Tlv {
  tag: number;
  /** Content bytes. */
  body: Uint8Array;
  /** The whole element (header and content). */
  raw: Uint8Array;
  /** Offset just past the element. */
  end: number;
}

class DerError extends Error {}

/**
 * One TLV at `pos`. Single-byte tags, definite lengths (long form up to 4 bytes; non-minimal long forms are
 * accepted, as OpenSSL's decoder does; the indefinite form is not).
 */
function readTlv(b: Uint8Array, pos: number): Tlv {
  if (pos + 2 > b.length) throw new DerError(pos >= b.length ? 'too small' : 'header too long');
  const tag = b[pos]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('wrong tag');
  let len = b[pos + 1]!;
  let p = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) throw new DerError('wrong tag'); // indefinite length: BER only
    if (p + n > b.length || n > 8) throw new DerError('header too long');
    if (n > 4) throw new DerError('not enough data'); // a length beyond 4 GiB
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[p + i]!;
    p += n;
  }
  if (p + len > b.length) throw new DerError('not enough data');
  return { tag, body: b.subarray(p, p + len), raw: b.subarray(pos, p + len), end: p + len };
}

/** The elements of a constructed value's content: at most `max`, which must then consume it exactly. */
function children(body: Uint8Array, max = Infinity): Tlv[] {
  const out: Tlv[] = [];
  let p = 0;
  while (p < body.length) {
    if (out.length === max) throw new DerError('sequence length mismatch');
    const t = readTlv(body, p);
    out.push(t);
    p = t.end;
  }
  return out;
}

function expectTag(t: Tlv | undefined, tag: number): Tlv {
  if (!t || t.tag !== tag) {
    if (t && tag === 0x30 && t.tag === 0x10) throw new DerError('sequence not constructed');
    if (t && !(tag & 0x20) && t.tag === (tag | 0x20)) throw new DerError('type not primitive');
    throw new DerError('wrong tag');
  }
  return t;
}

/**
 * A non-negative INTEGER. `strict`: minimal encoding (signatures: OpenSSL re-encodes and compares); keys accept
 * leading zero bytes, as OpenSSL's key decoders do.
 */
function derUint(t: Tlv | undefined, strict = true): bigint {
  const b = expectTag(t, 0x02).body;
  if (b.length === 0) throw new DerError('too small');
  if (strict && b.length > 1 && ((b[0] === 0 && !(b[1]! & 0x80)) || (b[0] === 0xff && b[1]! & 0x80))) throw new DerError('illegal padding');
  if (b[0]! & 0x80) throw new DerError('negative integer');
  return bytesToBig(b);
}

function oidString(t: Tlv | undefined): string {
  const b = expectTag(t, 0x06).body;
  if (b.length === 0 || b[b.length - 1]! & 0x80) throw new DerError('invalid object encoding');
  const arcs: number[] = [];
  let v = 0;
  for (let i = 0; i < b.length; i++) {
    if (v === 0 && b[i] === 0x80) throw new DerError('invalid object encoding');
    v = v * 128 + (b[i]! & 0x7f);
    if (!(b[i]! & 0x80)) {
      arcs.push(v);
      v = 0;
    }
  }
  const first = arcs[0]!;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join('.');
}

function derLen(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const bytes: number[] = [];
  while (n > 0) {
    bytes.unshift(n & 0xff);
    n = Math.floor(n / 256);
  }
  return Uint8Array.from([0x80 | bytes.length, ...bytes]);
}

function der(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const body = concat(...parts);
  return concat(Uint8Array.of(tag), derLen(body.length), body);
}

function derInt(n: bigint): Uint8Array {
  let b = bigToBytes(n);
  if (b.length === 0) b = Uint8Array.of(0);
  if (b[0]! & 0x80) b = concat(Uint8Array.of(0), b);
  return der(0x02, b);
}

// ---------------------------------------------------------------------------------------------------------------
// keys

const OID_RSA = '1.2.840.113549.1.1.1';
const OID_EC = '1.2.840.10045.2.1';
const OID_ED25519 = '1.3.101.112';

interface Curve {
  name: string;
  jwk: string;
  oid: string;
  /** DER of the curve OID. */
  oidDer: string;
  ecdsa: typeof p256;
  /** Field element / scalar byte length. */
  bytes: number;
}

const CURVES: Curve[] = [
  { name: 'prime256v1', jwk: 'P-256', oid: '1.2.840.10045.3.1.7', oidDer: '06082a8648ce3d030107', ecdsa: p256, bytes: 32 },
  { name: 'secp384r1', jwk: 'P-384', oid: '1.3.132.0.34', oidDer: '06052b81040022', ecdsa: p384, bytes: 48 },
  { name: 'secp521r1', jwk: 'P-521', oid: '1.3.132.0.35', oidDer: '06052b81040023', ecdsa: p521, bytes: 66 },
];

type EcPoint = InstanceType<(typeof p256)['Point']>;
type EdPoint = InstanceType<(typeof ed25519)['Point']>;

type KeyData =
  | { kind: 'rsa'; n: bigint; e: bigint }
  | { kind: 'ec'; curve: Curve; point: EcPoint; encoded: Uint8Array }
  | { kind: 'ed25519'; raw: Uint8Array; point?: EdPoint | null }
  | { kind: 'secret'; bytes: Uint8Array };

const KEY_DATA = new WeakMap<object, KeyData>();

function pem(label: string, derBytes: Uint8Array): string {
  const b64 = Buffer.from(derBytes).toString('base64');
  let body = '';
  for (let i = 0; i < b64.length; i += 64) body += b64.slice(i, i + 64) + '\n';
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}

class KeyObjectImpl {
  readonly type: 'public' | 'secret';

  constructor(data: KeyData) {
    this.type = data.kind === 'secret' ? 'secret' : 'public';
    KEY_DATA.set(this, data);
  }

  /** @internal */
  data(): KeyData {
    return KEY_DATA.get(this)!;
  }

  /** @internal */
  secretBytes(): Uint8Array {
    const d = this.data();
    if (d.kind !== 'secret') throw typeErr('ERR_CRYPTO_INVALID_KEY_OBJECT_TYPE', `Invalid key object type ${this.type}, expected secret.`);
    return d.bytes;
  }

  get asymmetricKeyType(): string | undefined {
    const d = this.data();
    return d.kind === 'secret' ? undefined : d.kind;
  }

  get asymmetricKeyDetails(): { modulusLength?: number; publicExponent?: bigint; namedCurve?: string } | undefined {
    const d = this.data();
    switch (d.kind) {
      case 'rsa':
        return { modulusLength: bitLength(d.n), publicExponent: d.e };
      case 'ec':
        return { namedCurve: d.curve.name };
      case 'ed25519':
        return {};
      default:
        return undefined;
    }
  }

  get symmetricKeySize(): number | undefined {
    const d = this.data();
    return d.kind === 'secret' ? d.bytes.length : undefined;
  }

  export(options?: { format?: string; type?: string }): Buffer | string | NodeCrypto.JsonWebKey {
    const d = this.data();
    if (d.kind === 'secret') {
      if (options !== undefined && (options === null || typeof options !== 'object')) throw invalidArgType('options', 'of type object', options);
      if (options?.format === 'jwk') return { kty: 'oct', k: toB64Url(d.bytes) };
      if (options?.format !== undefined && options.format !== 'buffer') throw invalidArgValue('options.format', options.format);
      return Buffer.from(d.bytes);
    }
    if (options === null || typeof options !== 'object') throw invalidArgType('options', 'of type object', options);
    if (options.format === 'jwk') return jwkOf(d);
    if (options.format !== 'pem' && options.format !== 'der') throw invalidArgValue('options.format', options.format);
    let bytes: Uint8Array;
    let label: string;
    if (options.type === 'spki') {
      bytes = spkiOf(d);
      label = 'PUBLIC KEY';
    } else if (options.type === 'pkcs1') {
      if (d.kind !== 'rsa') throw err('ERR_CRYPTO_INCOMPATIBLE_KEY_OPTIONS', 'The selected key encoding pkcs1 can only be used for RSA keys.');
      bytes = der(0x30, derInt(d.n), derInt(d.e));
      label = 'RSA PUBLIC KEY';
    } else throw invalidArgValue('options.type', options.type);
    return options.format === 'pem' ? pem(label, bytes) : Buffer.from(bytes);
  }

  equals(other: unknown): boolean {
    if (!(other instanceof KeyObjectImpl)) throw invalidArgType('otherKeyObject', 'an instance of KeyObject', other);
    const a = this.data();
    const b = other.data();
    if (a.kind !== b.kind) return false;
    switch (a.kind) {
      case 'secret':
        return bytesEqual(a.bytes, (b as typeof a).bytes);
      case 'rsa':
        return a.n === (b as typeof a).n && a.e === (b as typeof a).e;
      case 'ec':
        return a.curve === (b as typeof a).curve && a.point.equals((b as typeof a).point);
      case 'ed25519':
        return bytesEqual(a.raw, (b as typeof a).raw);
    }
  }

  get [Symbol.toStringTag](): string {
    return this.type === 'secret' ? 'SecretKeyObject' : 'PublicKeyObject';
  }
}

function spkiOf(d: KeyData): Uint8Array {
  switch (d.kind) {
    case 'rsa':
      return der(0x30, fromHex('300d06092a864886f70d0101010500'), der(0x03, Uint8Array.of(0), der(0x30, derInt(d.n), derInt(d.e))));
    case 'ec':
      return der(0x30, der(0x30, fromHex('06072a8648ce3d0201'), fromHex(d.curve.oidDer)), der(0x03, Uint8Array.of(0), d.encoded));
    case 'ed25519':
      return der(0x30, fromHex('300506032b6570'), der(0x03, Uint8Array.of(0), d.raw));
    default:
      throw new Error('not an asymmetric key');
  }
}

function jwkOf(d: KeyData): NodeCrypto.JsonWebKey {
  switch (d.kind) {
    case 'rsa':
      return { kty: 'RSA', n: toB64Url(bigToBytes(d.n)), e: toB64Url(bigToBytes(d.e)) };
    case 'ec': {
      const a = d.point.toAffine();
      return { kty: 'EC', x: toB64Url(bigToBytes(a.x, d.curve.bytes)), y: toB64Url(bigToBytes(a.y, d.curve.bytes)), crv: d.curve.jwk };
    }
    case 'ed25519':
      return { crv: 'Ed25519', x: toB64Url(d.raw), kty: 'OKP' };
    default:
      throw new Error('not an asymmetric key');
  }
}

/** Keys larger than this are refused at import (node imports them, then cannot verify with them). */
const MAX_RSA_BITS = 16384;

function rsaKey(n: bigint, e: bigint): KeyData {
  if (bitLength(n) > 4 * MAX_RSA_BITS) throw unavailable(`an RSA key of ${bitLength(n)} bits`);
  return { kind: 'rsa', n, e };
}

function rsaPublicKeyDer(b: Uint8Array): KeyData {
  const seq = expectTag(readTlv(b, 0), 0x30);
  const [n, e] = children(seq.body, 2);
  if (!e) throw new DerError('missing element');
  return rsaKey(derUint(n, false), derUint(e, false));
}

function ecPoint(curve: Curve, encoded: Uint8Array): KeyData {
  let point: EcPoint;
  try {
    let plain = encoded;
    if ((encoded[0] === 6 || encoded[0] === 7) && encoded.length === 1 + 2 * curve.bytes) {
      // the hybrid form (X9.62): uncompressed, the tag also carrying y's parity
      if ((encoded[0] & 1) !== (encoded[encoded.length - 1]! & 1)) throw new Error('hybrid parity');
      plain = concat(Uint8Array.of(4), encoded.subarray(1));
    }
    point = curve.ecdsa.Point.fromBytes(plain);
    point.assertValidity();
    point.precompute(4); // lazy wNAF tables: a key verifies many signatures
  } catch {
    throw OSSL.decodeError();
  }
  return { kind: 'ec', curve, point, encoded: Uint8Array.from(encoded) };
}

/** The shape rules of the primitive universal types an ANY-typed field may hold (BOOLEAN, INTEGER, NULL, OID). */
function checkUniversal(t: Tlv): void {
  const n = t.tag & 0x1f;
  if ((t.tag & 0xc0) !== 0 || n > 6) return;
  if (t.tag & 0x20 && n !== 3 && n !== 4) throw new DerError('type not primitive');
  if ((n === 5 && t.body.length !== 0) || (n === 1 && t.body.length !== 1)) throw new DerError(n === 1 ? 'boolean is wrong length' : 'null is wrong length');
}

/** BIT STRING content; unused bits are cleared in the last byte, as OpenSSL's decoder does. */
function bitStringBytes(t: Tlv | undefined): Uint8Array {
  const b = expectTag(t, 0x03).body;
  if (b.length === 0) throw new DerError('too small');
  const unused = b[0]!;
  if (unused > 7) throw new DerError('invalid bit string bits left');
  const out = Uint8Array.from(b.subarray(1));
  if (out.length) out[out.length - 1]! &= (0xff << unused) & 0xff;
  return out;
}

function spkiKey(b: Uint8Array): KeyData {
  const seq = expectTag(readTlv(b, 0), 0x30); // trailing bytes after the SPKI are ignored, like node
  // depth first, as OpenSSL's template decoder goes, so the first error found is the same one
  const algId = expectTag(readTlv(seq.body, 0), 0x30);
  const [oid, params] = children(algId.body, 2);
  const alg = oidString(oid);
  if (params) checkUniversal(params);
  const bits = readTlv(seq.body, algId.end);
  if (bits.end !== seq.body.length) throw new DerError('sequence length mismatch');
  const key = bitStringBytes(bits);
  // from here on OpenSSL's key-type decoders report every failure as "decode error"
  try {
    if (alg === OID_RSA) return rsaPublicKeyDer(key); // parameters are not looked at
    if (alg === OID_EC) {
      const curveOid = params && params.tag === 0x06 ? oidString(params) : undefined;
      const curve = CURVES.find((c) => c.oid === curveOid);
      if (curve) return ecPoint(curve, key);
    }
    if (alg === OID_ED25519 && !params && key.length === 32) return { kind: 'ed25519', raw: key };
  } catch (e) {
    if (!(e instanceof DerError)) throw e;
  }
  throw OSSL.decodeError();
}

/** The SubjectPublicKeyInfo of a DER X.509 certificate. */
function certificateSpki(b: Uint8Array): Uint8Array {
  const cert = expectTag(readTlv(b, 0), 0x30);
  const [tbs] = children(cert.body);
  const f = children(expectTag(tbs, 0x30).body);
  let i = f[0]?.tag === 0xa0 ? 1 : 0; // [0] version
  expectTag(f[i++], 0x02); // serialNumber
  expectTag(f[i++], 0x30); // signature
  expectTag(f[i++], 0x30); // issuer
  expectTag(f[i++], 0x30); // validity
  expectTag(f[i++], 0x30); // subject
  return expectTag(f[i], 0x30).raw;
}

/** DER decoding failures in node's words (the common ones). */
function asNodeError(e: unknown): Error {
  if (!(e instanceof DerError)) return e as Error;
  switch (e.message) {
    case 'too small':
      return OSSL.tooSmall();
    case 'wrong tag':
      return OSSL.wrongTag();
    case 'header too long':
      return OSSL.headerTooLong();
    case 'not enough data':
      return OSSL.tooLong();
    case 'sequence length mismatch':
      return OSSL.seqMismatch();
    case 'sequence not constructed':
      return OSSL.seqNotConstructed();
    case 'type not primitive':
      return OSSL.typeNotPrimitive();
    case 'invalid bit string bits left':
      return OSSL.bitsLeft();
    case 'invalid object encoding':
      return err('ERR_OSSL_ASN1_INVALID_OBJECT_ENCODING', 'error:068000D8:asn1 encoding routines::invalid object encoding');
    case 'boolean is wrong length':
      return err('ERR_OSSL_ASN1_BOOLEAN_IS_WRONG_LENGTH', 'error:0680006A:asn1 encoding routines::boolean is wrong length');
    case 'null is wrong length':
      return err('ERR_OSSL_ASN1_NULL_IS_WRONG_LENGTH', 'error:0680009E:asn1 encoding routines::null is wrong length');
    default:
      return OSSL.unsupported();
  }
}

interface PemBlock {
  label: string;
  der: Uint8Array;
}

function parsePem(text: string): PemBlock {
  const m = /-----BEGIN ([^\r\n-][^\r\n]*?)-----\r?\n([\s\S]*?)-----END \1-----/.exec(text);
  if (!m) throw OSSL.unsupported();
  const body = m[2]!;
  if (/^[A-Za-z-]+:/m.test(body)) throw OSSL.unsupported(); // RFC 1421 headers (encrypted keys)
  const b64 = body.replace(/[ \t\r\n]/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 === 1) throw err('ERR_OSSL_PEM_BAD_BASE64_DECODE', 'error:04800064:PEM routines::bad base64 decode');
  return { label: m[1]!, der: viewBytes(Buffer.from(b64, 'base64')) };
}

function fromPem(text: string): KeyData {
  const block = parsePem(text);
  try {
    switch (block.label) {
      case 'PUBLIC KEY':
        return spkiKey(block.der);
      case 'RSA PUBLIC KEY':
        return rsaPublicKeyDer(block.der);
      case 'CERTIFICATE':
      case 'X509 CERTIFICATE':
      case 'TRUSTED CERTIFICATE':
        return spkiKey(certificateSpki(block.der));
      case 'PRIVATE KEY':
      case 'RSA PRIVATE KEY':
      case 'EC PRIVATE KEY':
      case 'ENCRYPTED PRIVATE KEY':
        throw unavailable('a private key');
      default:
        throw OSSL.unsupported();
    }
  } catch (e) {
    throw asNodeError(e);
  }
}

function fromDer(b: Uint8Array, type: unknown): KeyData {
  try {
    if (type === 'spki') return spkiKey(b);
    if (type === 'pkcs1') return rsaPublicKeyDer(b);
  } catch (e) {
    throw asNodeError(e);
  }
  if (type === 'pkcs8' || type === 'sec1') throw unavailable('a private key');
  throw invalidArgValue('options.type', type);
}

function jwkString(jwk: Record<string, unknown>, m: string): string {
  const v = jwk[m];
  if (typeof v !== 'string') throw invalidArgType(`key.${m}`, 'of type string', v);
  return v;
}

function fromJwk(jwk: unknown): KeyData {
  if (jwk === null || typeof jwk !== 'object') throw invalidArgType('key.key', 'of type object', jwk);
  const j = jwk as Record<string, unknown>;
  const kty = j.kty;
  if (kty === 'OKP') {
    const crv = jwkString(j, 'crv');
    if (!['Ed25519', 'Ed448', 'X25519', 'X448'].includes(crv)) {
      throw typeErr('ERR_INVALID_ARG_VALUE', `The property 'key.crv' must be one of: 'Ed25519', 'Ed448', 'X25519', 'X448'. Received '${crv}'`);
    }
    const x = fromB64Lenient(jwkString(j, 'x'));
    if (crv !== 'Ed25519') {
      if (x.length !== (crv === 'Ed448' ? 57 : crv === 'X448' ? 56 : 32)) throw typeErr('ERR_CRYPTO_INVALID_JWK', 'Invalid JWK data');
      throw unavailable(`an ${crv} key`);
    }
    if (x.length !== 32) throw typeErr('ERR_CRYPTO_INVALID_JWK', 'Invalid JWK data');
    return { kind: 'ed25519', raw: x };
  }
  if (kty === 'EC') {
    const crv = jwkString(j, 'crv');
    if (!['P-256', 'secp256k1', 'P-384', 'P-521'].includes(crv)) {
      throw typeErr('ERR_INVALID_ARG_VALUE', `The property 'key.crv' must be one of: 'P-256', 'secp256k1', 'P-384', 'P-521'. Received '${crv}'`);
    }
    const x = fromB64Lenient(jwkString(j, 'x'));
    const y = fromB64Lenient(jwkString(j, 'y'));
    const curve = CURVES.find((c) => c.jwk === crv);
    if (!curve) throw unavailable(`an EC ${crv} key`);
    if (x.length > curve.bytes || y.length > curve.bytes) throw typeErr('ERR_CRYPTO_INVALID_JWK', 'Invalid JWK EC key');
    const encoded = concat(Uint8Array.of(4), bigToBytes(bytesToBig(x), curve.bytes), bigToBytes(bytesToBig(y), curve.bytes));
    try {
      return ecPoint(curve, encoded);
    } catch {
      throw typeErr('ERR_CRYPTO_INVALID_JWK', 'Invalid JWK EC key');
    }
  }
  if (kty === 'RSA') {
    const n = fromB64Lenient(jwkString(j, 'n'));
    const e = fromB64Lenient(jwkString(j, 'e'));
    return rsaKey(bytesToBig(n), bytesToBig(e));
  }
  throw typeErr('ERR_INVALID_ARG_VALUE', `The property 'key.kty' must be one of: 'RSA', 'EC', 'OKP'. Received ${typeof kty === 'string' ? `'${kty}'` : String(kty)}`);
}

type PublicKeyInput =
  | string
  | ArrayBufferView
  | NodeCrypto.KeyObject
  | { key: string | ArrayBufferView | NodeCrypto.KeyObject | NodeCrypto.JsonWebKey; format?: string; type?: string; encoding?: string };

function keyData(input: unknown): KeyData {
  if (input instanceof KeyObjectImpl) {
    throw typeErr('ERR_CRYPTO_INVALID_KEY_OBJECT_TYPE', `Invalid key object type ${input.type}, expected private.`);
  }
  if (typeof input === 'string') return fromPem(input);
  if (isView(input)) return fromPem(Buffer.from(viewBytes(input)).toString('utf8'));
  if (input === null || typeof input !== 'object') {
    throw invalidArgType('key', 'of type string or an instance of ArrayBuffer, Buffer, TypedArray, DataView, KeyObject, or CryptoKey', input);
  }
  const o = input as { key?: unknown; format?: unknown; type?: unknown; encoding?: unknown };
  const key = o.key;
  if (key instanceof KeyObjectImpl) return keyData(key);
  const format = o.format ?? 'pem';
  if (format === 'jwk') return fromJwk(key);
  if (format === 'pem') {
    if (typeof key === 'string') return fromPem(key);
    if (isView(key)) return fromPem(Buffer.from(viewBytes(key)).toString('utf8'));
  } else if (format === 'der') {
    if (typeof key === 'string') return fromDer(viewBytes(Buffer.from(key, (o.encoding ?? 'utf8') as BufferEncoding)), o.type);
    if (isView(key)) return fromDer(viewBytes(key), o.type);
    if (key instanceof ArrayBuffer) return fromDer(new Uint8Array(key), o.type);
  } else throw invalidArgValue('options.format', format);
  throw invalidArgType('key.key', 'of type string or an instance of ArrayBuffer, Buffer, TypedArray, DataView, KeyObject, or CryptoKey', key);
}

export function createPublicKey(key: PublicKeyInput): NodeCrypto.KeyObject {
  return new KeyObjectImpl(keyData(key)) as unknown as NodeCrypto.KeyObject;
}

export function createSecretKey(key: BinaryLike | ArrayBuffer, encoding?: Encoding): NodeCrypto.KeyObject {
  const bytes = key instanceof ArrayBuffer ? new Uint8Array(key) : dataBytes(key, encoding, 'key');
  return new KeyObjectImpl({ kind: 'secret', bytes: Uint8Array.from(bytes) }) as unknown as NodeCrypto.KeyObject;
}

export function createPrivateKey(_key: unknown): NodeCrypto.KeyObject {
  throw unavailable('createPrivateKey');
}

export function generateKeyPairSync(_type: string, _options?: unknown): never {
  throw unavailable('generateKeyPairSync');
}

export function sign(_algorithm: unknown, _data: unknown, _key: unknown, _callback?: unknown): never {
  throw unavailable('sign');
}

// ---------------------------------------------------------------------------------------------------------------
// verification

function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

function modInv(a: bigint, m: bigint): bigint {
  let [r0, r1] = [mod(a, m), m];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  if (r0 !== 1n) throw new RangeError('not invertible');
  return mod(s0, m);
}

function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  let result = 1n;
  let b = mod(base, m);
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % m;
    e >>= 1n;
    if (e > 0n) b = (b * b) % m;
  }
  return result;
}

/** RSASSA-PKCS1-v1_5 verification as OpenSSL's RSA_verify: exact signature length, s < n, EM compared whole. */
function verifyRsaPkcs1(d: { n: bigint; e: bigint }, alg: HashAlg, data: Uint8Array, sig: Uint8Array): boolean {
  const bits = bitLength(d.n);
  const k = Math.ceil(bits / 8);
  if (bits > MAX_RSA_BITS) return false; // OpenSSL: modulus too large
  if (bits > 3072 && bitLength(d.e) > 64) return false; // OpenSSL: bad e value
  if ((d.n & 1n) === 0n || d.e < 1n) return false; // Montgomery needs an odd modulus
  if (sig.length !== k || !alg.digestInfo) return false;
  const s = bytesToBig(sig);
  if (s >= d.n) return false;
  const em = bigToBytes(modPow(s, d.e, d.n), k);
  const t = concat(fromHex(alg.digestInfo), alg.fn(data));
  if (k < t.length + 11) return false;
  const expected = new Uint8Array(k).fill(0xff);
  expected[0] = 0;
  expected[1] = 1;
  expected[k - t.length - 1] = 0;
  expected.set(t, k - t.length);
  return bytesEqual(em, expected);
}

/** ECDSA-Sig-Value in DER exactly as OpenSSL re-encodes it (it decodes, re-encodes and compares). */
function parseDerEcdsa(b: Uint8Array): { r: bigint; s: bigint } | undefined {
  try {
    const seq = expectTag(readTlv(b, 0), 0x30);
    if (seq.end !== b.length) return undefined;
    // minimal length encodings only
    if (!bytesEqual(seq.raw.subarray(0, seq.raw.length - seq.body.length), concat(Uint8Array.of(0x30), derLen(seq.body.length)))) return undefined;
    const parts = children(seq.body);
    if (parts.length !== 2) return undefined;
    for (const p of parts) {
      if (p.tag !== 0x02 || !bytesEqual(p.raw.subarray(0, p.raw.length - p.body.length), concat(Uint8Array.of(0x02), derLen(p.body.length)))) return undefined;
    }
    return { r: derUint(parts[0]), s: derUint(parts[1]) };
  } catch {
    return undefined;
  }
}

function verifyEcdsa(d: { curve: Curve; point: EcPoint }, alg: HashAlg, data: Uint8Array, sig: Uint8Array, dsaEncoding: string): boolean {
  const { Point } = d.curve.ecdsa;
  const n = Point.Fn.ORDER;
  let r: bigint;
  let s: bigint;
  if (dsaEncoding === 'ieee-p1363') {
    if (sig.length !== 2 * d.curve.bytes) return false;
    r = bytesToBig(sig.subarray(0, d.curve.bytes));
    s = bytesToBig(sig.subarray(d.curve.bytes));
  } else {
    const rs = parseDerEcdsa(sig);
    if (!rs) return false;
    ({ r, s } = rs);
  }
  if (r < 1n || r >= n || s < 1n || s >= n) return false;
  const digest = alg.fn(data);
  const nBits = bitLength(n);
  let dl = digest.length;
  if (8 * dl > nBits) dl = Math.ceil(nBits / 8);
  let m = bytesToBig(digest.subarray(0, dl));
  if (8 * dl > nBits) m >>= BigInt(8 - (nBits & 7));
  const w = modInv(s, n);
  const u1 = mod(m * w, n);
  const u2 = mod(r * w, n);
  const X = Point.BASE.multiplyUnsafe(u1).add(d.point.multiplyUnsafe(u2));
  if (X.is0()) return false;
  return mod(X.toAffine().x, n) === r;
}

const ED_P = 2n ** 255n - 19n;
const ED_L = 2n ** 252n + 27742317777372353535851937790883648493n;
const ED_D = mod(-121665n * modInv(121666n, ED_P), ED_P);
const ED_SQRT_M1 = modPow(2n, (ED_P - 1n) / 4n, ED_P);

/** ref10's ge_frombytes_vartime as in OpenSSL: y taken mod p (non-canonical accepted), x from the sign bit. */
function edDecode(b: Uint8Array): { x: bigint; y: bigint } | undefined {
  const le = Uint8Array.from(b).reverse();
  const sign = (le[0]! & 0x80) !== 0;
  le[0]! &= 0x7f;
  const y = mod(bytesToBig(le), ED_P);
  const u = mod(y * y - 1n, ED_P);
  const v = mod(ED_D * y * y + 1n, ED_P);
  // x = u v^3 (u v^7)^((p-5)/8)
  const v3 = mod(v * v * v, ED_P);
  let x = mod(u * v3 * modPow(mod(u * v3 * v3 * v, ED_P), (ED_P - 5n) / 8n, ED_P), ED_P);
  const vxx = mod(v * x * x, ED_P);
  if (vxx !== u) {
    if (vxx !== mod(-u, ED_P)) return undefined;
    x = mod(x * ED_SQRT_M1, ED_P);
  }
  if ((x & 1n) === 1n !== sign) x = mod(-x, ED_P);
  return { x, y };
}

function leBig(b: Uint8Array): bigint {
  return bytesToBig(Uint8Array.from(b).reverse());
}

function verifyEd25519(d: { raw: Uint8Array; point?: EdPoint | null }, data: Uint8Array, sig: Uint8Array): boolean {
  if (sig.length !== 64) return false;
  const R = sig.subarray(0, 32);
  const S = leBig(sig.subarray(32));
  if (S >= ED_L) return false;
  if (d.point === undefined) {
    // decoded once per key (node imports any 32 bytes; an undecodable key fails every verification)
    const a = edDecode(d.raw);
    d.point = a ? ed25519.Point.fromAffine(a).precompute(4) : null;
  }
  const A = d.point;
  if (!A) return false;
  const raw = d.raw;
  const h = mod(leBig(sha512(concat(R, raw, data))), ED_L);
  const check = ed25519.Point.BASE.multiplyUnsafe(S).subtract(A.multiplyUnsafe(h));
  return bytesEqual(check.toBytes(), R);
}

type VerifyKey = PublicKeyInput | { key: PublicKeyInput; dsaEncoding?: string; padding?: number; saltLength?: number };

export function verify(
  algorithm: string | null | undefined,
  data: ArrayBufferView | string,
  key: VerifyKey,
  signature: ArrayBufferView,
  callback?: (e: Error | null, ok: boolean) => void,
): boolean {
  if (callback !== undefined && typeof callback !== 'function') throw invalidArgType('callback', 'of type function', callback);
  let result: boolean;
  try {
    result = verifySync(algorithm, data, key, signature);
  } catch (e) {
    if (!callback) throw e;
    queueMicrotask(() => callback(e as Error, false));
    return undefined as unknown as boolean;
  }
  if (callback) {
    queueMicrotask(() => callback(null, result));
    return undefined as unknown as boolean;
  }
  return result;
}

function verifySync(algorithm: unknown, data: unknown, key: unknown, signature: unknown): boolean {
  if (algorithm !== null && algorithm !== undefined && typeof algorithm !== 'string') throw invalidArgType('algorithm', 'of type string', algorithm);
  const msg = dataBytes(data, undefined, 'data');
  let dsaEncoding = 'der';
  let padding: unknown;
  let k: KeyData;
  if (key instanceof KeyObjectImpl) k = key.data();
  else {
    if (key !== null && typeof key === 'object' && !isView(key)) {
      const o = key as { dsaEncoding?: unknown; padding?: unknown };
      if (o.dsaEncoding !== undefined) {
        if (o.dsaEncoding !== 'der' && o.dsaEncoding !== 'ieee-p1363') throw invalidArgValue('options.dsaEncoding', o.dsaEncoding);
        dsaEncoding = o.dsaEncoding;
      }
      padding = o.padding;
    }
    const inner = key !== null && typeof key === 'object' && !isView(key) ? (key as { key?: unknown }).key : undefined;
    k = inner instanceof KeyObjectImpl ? inner.data() : keyData(key);
  }
  if (k.kind === 'secret') throw typeErr('ERR_CRYPTO_INVALID_KEY_OBJECT_TYPE', 'Invalid key object type secret, expected private or public.');
  const sig = sigBytes(signature);
  let alg: HashAlg | undefined;
  if (algorithm !== null && algorithm !== undefined) {
    alg = lookupHash(algorithm);
    if (!alg) throw typeErr('ERR_CRYPTO_INVALID_DIGEST', `Invalid digest: ${algorithm as string}`);
  }
  switch (k.kind) {
    case 'ed25519':
      if (alg) throw OSSL.invalidDigest();
      return verifyEd25519(k, msg, sig);
    case 'ec':
      return verifyEcdsa(k, alg ?? HASHES.sha256!, msg, sig, dsaEncoding);
    case 'rsa':
      if (padding !== undefined && padding !== constants.RSA_PKCS1_PADDING) {
        if (padding === constants.RSA_PKCS1_PSS_PADDING) throw unavailable('RSASSA-PSS verification');
        throw err('ERR_OSSL_RSA_UNKNOWN_PADDING_TYPE', 'error:1C8000A5:Provider routines::illegal or unsupported padding mode');
      }
      return verifyRsaPkcs1(k, alg ?? HASHES.sha256!, msg, sig);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// X.509

export class X509Certificate {
  readonly raw: Buffer;
  readonly publicKey: NodeCrypto.KeyObject;

  constructor(buffer: string | ArrayBufferView) {
    let derBytes: Uint8Array;
    if (typeof buffer === 'string' || (isView(buffer) && viewBytes(buffer)[0] !== 0x30)) {
      const text = typeof buffer === 'string' ? buffer : Buffer.from(viewBytes(buffer)).toString('utf8');
      const m = /-----BEGIN CERTIFICATE-----/.test(text) ? parsePem(text) : undefined;
      if (!m || m.label !== 'CERTIFICATE') throw OSSL.noStartLine();
      derBytes = m.der;
    } else if (isView(buffer)) derBytes = viewBytes(buffer);
    else throw invalidArgType('buffer', 'of type string or an instance of ArrayBuffer, Buffer, TypedArray, or DataView', buffer);
    let spki: Uint8Array;
    try {
      const outer = readTlv(derBytes, 0);
      derBytes = outer.raw;
      spki = certificateSpki(derBytes);
    } catch (e) {
      if (e instanceof DerError) throw OSSL.noStartLine(); // node falls back to PEM and reports that
      throw e;
    }
    this.raw = Buffer.from(derBytes);
    try {
      this.publicKey = new KeyObjectImpl(spkiKey(spki)) as unknown as NodeCrypto.KeyObject;
    } catch (e) {
      throw asNodeError(e);
    }
  }

  toString(): string {
    return pem('CERTIFICATE', this.raw);
  }
}

// ---------------------------------------------------------------------------------------------------------------

/** node's crypto.constants (the RSA and point-conversion subset). */
export const constants = Object.freeze({
  RSA_PKCS1_PADDING: 1,
  RSA_NO_PADDING: 3,
  RSA_PKCS1_OAEP_PADDING: 4,
  RSA_X931_PADDING: 5,
  RSA_PKCS1_PSS_PADDING: 6,
  RSA_PSS_SALTLEN_DIGEST: -1,
  RSA_PSS_SALTLEN_MAX_SIGN: -2,
  RSA_PSS_SALTLEN_AUTO: -2,
  POINT_CONVERSION_COMPRESSED: 2,
  POINT_CONVERSION_UNCOMPRESSED: 4,
  POINT_CONVERSION_HYBRID: 6,
});

export default {
  X509Certificate,
  constants,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  timingSafeEqual,
  verify,
  hash,
};
