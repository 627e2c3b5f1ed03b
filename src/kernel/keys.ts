/**
 * Key import/export and key identifiers. Pure: no I/O (files live in `store/keyfiles.ts`).
 *
 * Supported signature algorithms: Ed25519 (pure), RS256 (RSASSA-PKCS1-v1_5 SHA-256, modulus >= 2048 bits) and
 * ES256 (ECDSA P-256 SHA-256). Every expected failure throws `EvidentError` with KEY_INVALID (unparsable) or
 * KEY_UNSUPPORTED (parsable but of a type/size we refuse).
 */
import {
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  generateKeyPairSync,
  type JsonWebKey,
  type KeyObject,
} from './crypto/index.ts';
import { EvidentError } from './errors.ts';
import { sha256Hex } from './digest.ts';
import { bufferView, toHex } from './encoding.ts';
import { parseJson, toPlain } from './json/index.ts';

export type SigAlg = 'ed25519' | 'rs256' | 'es256';
export const SIG_ALGS: readonly SigAlg[] = ['ed25519', 'rs256', 'es256'];

export type KeyIdStyle = 'jwk' | 'spki-hex' | 'pem-sha256';
export const KEY_ID_STYLES: readonly KeyIdStyle[] = ['jwk', 'spki-hex', 'pem-sha256'];

/** JOSE `alg` names for our algorithms. */
export const JOSE_ALG: Record<SigAlg, string> = { ed25519: 'EdDSA', rs256: 'RS256', es256: 'ES256' };

/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): SEQUENCE{SEQUENCE{OID 1.3.101.112} BIT STRING(33)}. */
const ED25519_SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);

const MAX_KEY_INPUT = 64 * 1024;

export function isSigAlg(s: unknown): s is SigAlg {
  return typeof s === 'string' && (SIG_ALGS as readonly string[]).includes(s);
}

/** Map a JOSE alg name or one of ours (any case) to a SigAlg; undefined when unknown. */
export function sigAlgFromName(s: string): SigAlg | undefined {
  const l = s.toLowerCase();
  if (l === 'ed25519' || l === 'eddsa') return 'ed25519';
  if (l === 'rs256') return 'rs256';
  if (l === 'es256') return 'es256';
  return undefined;
}

/**
 * The signature algorithm a key (public or private) is used with. Throws KEY_UNSUPPORTED for anything else.
 * KeyObjects are immutable, so the verdict is cached per object (reading `asymmetricKeyDetails` allocates).
 */
export function algOfKey(key: KeyObject): SigAlg {
  const cached = algCache.get(key);
  if (cached !== undefined) return cached;
  const alg = classifyKey(key);
  algCache.set(key, alg);
  return alg;
}

const algCache = new WeakMap<KeyObject, SigAlg>();
const rsaBytesCache = new WeakMap<KeyObject, number>();

/** Byte length of an RSA key's modulus (0 for other keys), cached per KeyObject. */
export function rsaModulusBytes(key: KeyObject): number {
  let n = rsaBytesCache.get(key);
  if (n === undefined) {
    n = key.asymmetricKeyType === 'rsa' ? Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8) : 0;
    rsaBytesCache.set(key, n);
  }
  return n;
}

function classifyKey(key: KeyObject): SigAlg {
  if (key.type === 'secret') throw new EvidentError('KEY_UNSUPPORTED', 'a secret (HMAC) key is not a signature key');
  const t = key.asymmetricKeyType;
  const d = key.asymmetricKeyDetails ?? {};
  if (t === 'ed25519') return 'ed25519';
  if (t === 'rsa') {
    const bits = d.modulusLength ?? 0;
    if (bits < 2048) throw new EvidentError('KEY_UNSUPPORTED', `RSA key of ${bits} bits is too small (minimum 2048)`);
    if (bits > 16384) throw new EvidentError('KEY_UNSUPPORTED', `RSA key of ${bits} bits is too large (maximum 16384)`);
    const e = d.publicExponent;
    if (e !== undefined && (e < 3n || e % 2n === 0n)) throw new EvidentError('KEY_UNSUPPORTED', `RSA public exponent ${e} is not allowed`);
    return 'rs256';
  }
  if (t === 'ec') {
    if (d.namedCurve === 'prime256v1' || d.namedCurve === 'P-256') return 'es256';
    throw new EvidentError('KEY_UNSUPPORTED', `EC curve ${d.namedCurve ?? '?'} is not supported (only P-256)`);
  }
  throw new EvidentError('KEY_UNSUPPORTED', `key type ${t ?? '?'} is not supported (ed25519, RSA >= 2048, EC P-256)`);
}

function checkHint(key: KeyObject, hint: SigAlg | undefined): KeyObject {
  const alg = algOfKey(key);
  if (hint && hint !== alg) throw new EvidentError('KEY_UNSUPPORTED', `expected a ${hint} key, got ${alg}`);
  return key;
}

/** Bytes that are PEM or JSON text (start with "-----BEGIN" or "{" after whitespace). */
function looksLikeText(b: Uint8Array): boolean {
  let i = 0;
  while (i < b.length && (b[i] === 0x20 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x09)) i++;
  return b[i] === 0x7b || (b[i] === 0x2d && Buffer.from(b.subarray(i, i + 10)).toString('latin1') === '-----BEGIN');
}

function looksLikeJson(s: string): boolean {
  return s.trimStart().startsWith('{');
}

function parseJwkText(s: string): JsonWebKey {
  let v: unknown;
  try {
    v = toPlain(parseJson(s, { maxDepth: 8 }));
  } catch (e) {
    throw new EvidentError('KEY_INVALID', `key text looks like JSON but does not parse: ${(e as Error).message}`, { cause: e });
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new EvidentError('KEY_INVALID', 'JWK must be a JSON object');
  return v as JsonWebKey;
}

const B64URL_RE = /^[A-Za-z0-9_-]*$/;

/** Strict JWK member checks node does not do (it accepts padding/std alphabet silently). */
function checkJwk(jwk: JsonWebKey, requirePrivate: boolean): void {
  if (!jwk || typeof jwk !== 'object') throw new EvidentError('KEY_INVALID', 'JWK must be an object');
  const kty = jwk.kty;
  const need: string[] =
    kty === 'OKP' ? ['crv', 'x'] : kty === 'RSA' ? ['n', 'e'] : kty === 'EC' ? ['crv', 'x', 'y'] : [];
  if (need.length === 0) {
    throw new EvidentError(kty === 'oct' ? 'KEY_UNSUPPORTED' : 'KEY_INVALID', `unsupported JWK kty ${JSON.stringify(kty)}`);
  }
  if (requirePrivate) need.push('d');
  for (const m of need) {
    const v = (jwk as Record<string, unknown>)[m];
    if (typeof v !== 'string' || v.length === 0) throw new EvidentError('KEY_INVALID', `JWK member "${m}" missing or not a string`);
    if (m !== 'crv' && !B64URL_RE.test(v)) throw new EvidentError('KEY_INVALID', `JWK member "${m}" is not unpadded base64url`);
  }
  if (kty === 'OKP' && jwk.crv !== 'Ed25519') throw new EvidentError('KEY_UNSUPPORTED', `OKP curve ${JSON.stringify(jwk.crv)} not supported`);
  if (kty === 'EC' && jwk.crv !== 'P-256') throw new EvidentError('KEY_UNSUPPORTED', `EC curve ${JSON.stringify(jwk.crv)} not supported`);
}

/** A JWK's optional "use" / "alg" members must agree with how we use the key. */
function checkJwkUse(jwk: JsonWebKey, key: KeyObject): KeyObject {
  if (jwk.use !== undefined && jwk.use !== 'sig') throw new EvidentError('KEY_UNSUPPORTED', `JWK "use" is ${JSON.stringify(jwk.use)}, not "sig"`);
  if (jwk.alg !== undefined) {
    const want = typeof jwk.alg === 'string' ? sigAlgFromName(jwk.alg) : undefined;
    if (!want || want !== algOfKey(key)) throw new EvidentError('KEY_UNSUPPORTED', `JWK "alg" ${JSON.stringify(jwk.alg)} does not match the ${algOfKey(key)} key`);
  }
  return key;
}

function fromJwkPublic(jwk: JsonWebKey): KeyObject {
  checkJwk(jwk, false);
  const pub: JsonWebKey = { kty: jwk.kty };
  for (const m of ['crv', 'x', 'y', 'n', 'e'] as const) if (jwk[m] !== undefined) pub[m] = jwk[m];
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pub, format: 'jwk' });
  } catch (e) {
    throw new EvidentError('KEY_INVALID', `invalid JWK: ${(e as Error).message}`, { cause: e });
  }
  return checkJwkUse(jwk, key);
}

function rawEd25519(raw: Uint8Array): KeyObject {
  try {
    return createPublicKey({ key: bufferView(concatPrefix(raw)), format: 'der', type: 'spki' });
  } catch (e) {
    throw new EvidentError('KEY_INVALID', `invalid raw Ed25519 public key: ${(e as Error).message}`, { cause: e });
  }
}

function concatPrefix(raw: Uint8Array): Uint8Array {
  const out = new Uint8Array(ED25519_SPKI_PREFIX.length + raw.length);
  out.set(ED25519_SPKI_PREFIX, 0);
  out.set(raw, ED25519_SPKI_PREFIX.length);
  return out;
}

/** Build an Ed25519 public key from its 32 raw bytes. */
export function ed25519PublicKeyFromRaw(raw: Uint8Array): KeyObject {
  if (!(raw instanceof Uint8Array) || raw.length !== 32) throw new EvidentError('KEY_INVALID', 'raw Ed25519 public key must be 32 bytes');
  return rawEd25519(raw);
}

/** Build an Ed25519 private key from its 32-byte seed (RFC 8032 secret key). */
export function ed25519PrivateKeyFromSeed(seed: Uint8Array): KeyObject {
  if (!(seed instanceof Uint8Array) || seed.length !== 32) throw new EvidentError('KEY_INVALID', 'Ed25519 seed must be 32 bytes');
  // PKCS#8: SEQUENCE{INTEGER 0, SEQUENCE{OID 1.3.101.112}, OCTET STRING{OCTET STRING(32)}}
  const prefix = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);
  const der = new Uint8Array(48);
  der.set(prefix, 0);
  der.set(seed, 16);
  try {
    return createPrivateKey({ key: bufferView(der), format: 'der', type: 'pkcs8' });
  } catch (e) {
    throw new EvidentError('KEY_INVALID', `invalid Ed25519 seed: ${(e as Error).message}`, { cause: e });
  }
}

/** The 32-byte seed of an Ed25519 private key. */
export function ed25519Seed(key: KeyObject): Uint8Array {
  if (key.type !== 'private' || key.asymmetricKeyType !== 'ed25519') throw new EvidentError('KEY_UNSUPPORTED', 'not an Ed25519 private key');
  const der = key.export({ format: 'der', type: 'pkcs8' });
  return new Uint8Array(der.subarray(der.length - 32));
}

/**
 * Import a public key from: SPKI PEM ("PUBLIC KEY"), PKCS#1 RSA public PEM, a private key PEM (its public half),
 * a JWK object or JWK JSON text (private members are ignored), SPKI DER bytes, or 32 raw Ed25519 bytes.
 * With `hint`, the key must be of that algorithm. Throws KEY_INVALID / KEY_UNSUPPORTED.
 */
export function importPublicKey(input: string | Uint8Array | JsonWebKey, hint?: SigAlg): KeyObject {
  let key: KeyObject;
  if (typeof input === 'string') {
    if (input.length > MAX_KEY_INPUT) throw new EvidentError('KEY_INVALID', 'key text too large');
    if (looksLikeJson(input)) return checkHint(fromJwkPublic(parseJwkText(input)), hint);
    if (!input.includes('-----BEGIN ')) throw new EvidentError('KEY_INVALID', 'not a PEM key (no "-----BEGIN" line) nor a JWK');
    if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(input)) {
      throw new EvidentError('KEY_UNSUPPORTED', 'encrypted private keys are not supported');
    }
    try {
      key = createPublicKey({ key: input, format: 'pem' });
    } catch (e) {
      throw new EvidentError('KEY_INVALID', `invalid PEM key: ${(e as Error).message}`, { cause: e });
    }
  } else if (input instanceof Uint8Array) {
    if (input.length > MAX_KEY_INPUT) throw new EvidentError('KEY_INVALID', 'key bytes too large');
    if (looksLikeText(input)) return importPublicKey(Buffer.from(input).toString('utf8'), hint);
    if (input.length === 32 && (hint === undefined || hint === 'ed25519')) {
      key = rawEd25519(input);
    } else {
      try {
        key = createPublicKey({ key: bufferView(input), format: 'der', type: 'spki' });
      } catch (e) {
        throw new EvidentError('KEY_INVALID', `invalid SPKI DER public key: ${(e as Error).message}`, { cause: e });
      }
    }
  } else if (input && typeof input === 'object') {
    key = fromJwkPublic(input);
  } else {
    throw new EvidentError('KEY_INVALID', 'unsupported key input');
  }
  return checkHint(key, hint);
}

/** Import a private key: PKCS#8 / PKCS#1 / SEC1 PEM, a JWK (object or JSON text) with `d`, or PKCS#8 DER bytes. */
export function importPrivateKey(pemOrJwk: string | JsonWebKey | Uint8Array, hint?: SigAlg): KeyObject {
  let key: KeyObject;
  if (pemOrJwk instanceof Uint8Array) {
    if (pemOrJwk.length > MAX_KEY_INPUT) throw new EvidentError('KEY_INVALID', 'key bytes too large');
    if (looksLikeText(pemOrJwk)) return importPrivateKey(Buffer.from(pemOrJwk).toString('utf8'), hint);
    try {
      key = createPrivateKey({ key: bufferView(pemOrJwk), format: 'der', type: 'pkcs8' });
    } catch (e) {
      throw new EvidentError('KEY_INVALID', `invalid PKCS#8 DER private key: ${(e as Error).message}`, { cause: e });
    }
    return checkHint(key, hint);
  }
  if (typeof pemOrJwk === 'string' && !looksLikeJson(pemOrJwk)) {
    if (pemOrJwk.length > MAX_KEY_INPUT) throw new EvidentError('KEY_INVALID', 'key text too large');
    if (!/-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/.test(pemOrJwk)) {
      throw new EvidentError('KEY_INVALID', 'not a private key PEM (expected "-----BEGIN PRIVATE KEY-----")');
    }
    if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(pemOrJwk)) {
      throw new EvidentError('KEY_UNSUPPORTED', 'encrypted private keys are not supported');
    }
    try {
      key = createPrivateKey({ key: pemOrJwk, format: 'pem' });
    } catch (e) {
      throw new EvidentError('KEY_INVALID', `invalid private key PEM: ${(e as Error).message}`, { cause: e });
    }
  } else {
    const jwk = typeof pemOrJwk === 'string' ? parseJwkText(pemOrJwk) : pemOrJwk;
    checkJwk(jwk, true);
    try {
      key = createPrivateKey({ key: jwk, format: 'jwk' });
    } catch (e) {
      throw new EvidentError('KEY_INVALID', `invalid private JWK: ${(e as Error).message}`, { cause: e });
    }
    checkJwkUse(jwk, key);
  }
  return checkHint(key, hint);
}

/**
 * Node 20's generateKeyPairSync returns KeyObjects that share a lock with their key-generation job, and a JWK
 * export holds that lock while it allocates: if the garbage collector finalises the job just then, the process
 * deadlocks (seen as `evident keys generate` hanging in about 1 run of 20 under load; generate + JWK export in a
 * loop hangs within seconds). So a generated key is re-imported from its PKCS#8 DER (DER export takes no such path)
 * and the public key derived from the copy: objects that share nothing with the job.
 */
function detached(privateKey: KeyObject): { privateKey: KeyObject; publicKey: KeyObject } {
  const copy = createPrivateKey({ key: privateKey.export({ format: 'der', type: 'pkcs8' }), format: 'der', type: 'pkcs8' });
  return { privateKey: copy, publicKey: createPublicKey(copy) };
}

/** Generate a fresh key pair. RS256 keys are 3072 bits. */
export function generateKeyPair(alg: SigAlg): { privateKey: KeyObject; publicKey: KeyObject } {
  switch (alg) {
    case 'ed25519':
      return detached(generateKeyPairSync('ed25519').privateKey);
    case 'rs256':
      return detached(generateKeyPairSync('rsa', { modulusLength: 3072, publicExponent: 0x10001 }).privateKey);
    case 'es256':
      return detached(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
    default:
      throw new EvidentError('KEY_UNSUPPORTED', `unknown algorithm ${JSON.stringify(alg)} (ed25519, rs256, es256)`);
  }
}

/** The public half of a key (identity for public keys). */
export function toPublicKey(key: KeyObject): KeyObject {
  if (key.type === 'public') return key;
  if (key.type === 'private') return createPublicKey(key);
  throw new EvidentError('KEY_UNSUPPORTED', 'secret keys have no public half');
}

/** SPKI PEM exactly as node exports it (64-column base64, trailing newline). */
export function publicKeyPem(key: KeyObject): string {
  return toPublicKey(key).export({ type: 'spki', format: 'pem' }) as string;
}

/** PKCS#8 PEM of a private key. */
export function privateKeyPem(key: KeyObject): string {
  if (key.type !== 'private') throw new EvidentError('KEY_INVALID', 'not a private key');
  return key.export({ type: 'pkcs8', format: 'pem' }) as string;
}

/** Public JWK (unpadded base64url members, no private members), plus optional kid/alg/use. */
export function publicKeyJwk(key: KeyObject, extra?: { kid?: string; alg?: string; use?: string }): JsonWebKey {
  const jwk = toPublicKey(key).export({ format: 'jwk' });
  const out: JsonWebKey = { ...jwk };
  if (extra?.kid !== undefined) out.kid = extra.kid;
  if (extra?.alg !== undefined) out.alg = extra.alg;
  if (extra?.use !== undefined) out.use = extra.use;
  return out;
}

/** DER SubjectPublicKeyInfo bytes. */
export function spkiDer(key: KeyObject): Uint8Array {
  return new Uint8Array(toPublicKey(key).export({ type: 'spki', format: 'der' }));
}

/** The 32 raw bytes of an Ed25519 public key. */
export function rawPublicKey(key: KeyObject): Uint8Array {
  const pub = toPublicKey(key);
  if (pub.asymmetricKeyType !== 'ed25519') throw new EvidentError('KEY_UNSUPPORTED', 'raw public key bytes exist only for Ed25519');
  const der = spkiDer(pub);
  return der.subarray(der.length - 32);
}

/** RFC 7638 JWK thumbprint input: required members in lexicographic order, no whitespace. */
export function jwkThumbprintInput(jwk: JsonWebKey): string {
  switch (jwk.kty) {
    case 'OKP':
      return JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x });
    case 'EC':
      return JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
    case 'RSA':
      return JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n });
    default:
      throw new EvidentError('KEY_UNSUPPORTED', `no thumbprint for kty ${JSON.stringify(jwk.kty)}`);
  }
}

/**
 * Key identifier.
 * - `jwk` (default): "sha256:" + hex(SHA-256(RFC 7638 thumbprint input)).
 * - `spki-hex`: lowercase hex of the SPKI DER (HashMatch receipts' `publicKey`).
 * - `pem-sha256`: "sha256:" + hex(SHA-256(SPKI PEM text)) (ELI-Sentinel `kid`).
 */
export function keyId(key: KeyObject, style: KeyIdStyle = 'jwk'): string {
  switch (style) {
    case 'jwk':
      return 'sha256:' + sha256Hex(jwkThumbprintInput(publicKeyJwk(key)));
    case 'spki-hex':
      return toHex(spkiDer(key));
    case 'pem-sha256':
      return 'sha256:' + sha256Hex(publicKeyPem(key));
    default:
      throw new EvidentError('INPUT_INVALID', `unknown key id style ${JSON.stringify(style)}`);
  }
}

/** True when two keys have the same public half (SPKI bytes equal). */
export function samePublicKey(a: KeyObject, b: KeyObject): boolean {
  return toPublicKey(a).equals(toPublicKey(b));
}

/**
 * HMAC key from a shared secret: strings are taken as UTF-8 bytes. Empty secrets are refused (KEY_INVALID).
 */
export function hmacKeyFromSecret(secret: string | Uint8Array): KeyObject {
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : bufferView(secret);
  if (bytes.length === 0) throw new EvidentError('KEY_INVALID', 'HMAC secret is empty');
  return createSecretKey(Buffer.from(bytes));
}
