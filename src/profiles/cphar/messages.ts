/**
 * CPHAR seal challenge-response messages, profile `evident-cphar-0.1` (see docs/cphar.md).
 *
 * - Canonical form: RFC 8785 JCS (kernel canonicalizeJcs), UTF-8.
 * - challenge_hash = "sha256:" + lowercase hex SHA-256 of JCS(complete SealChallenge, all six members).
 * - signed bytes   = JCS(SealAttestation without the `signature` member) — so `firmware_measurement` is signed.
 * - signature      = Ed25519 (64 bytes) or ES256 (P-256/SHA-256, IEEE P1363 r||s, 64 bytes), base64url, no padding.
 */
import { randomBytes, type KeyObject } from '../../kernel/crypto/index.ts';
import { canonicalizeJcs, parseJson, toPlain } from '../../kernel/json/index.ts';
import { isDigest, sha256Digest } from '../../kernel/digest.ts';
import { parseBase64, toBase64Url, utf8 } from '../../kernel/encoding.ts';
import { sign, verify } from '../../kernel/sign.ts';
import { algOfKey } from '../../kernel/keys.ts';
import { EvidentError } from '../../kernel/errors.ts';
import { parseRfc3339 } from '../../kernel/time.ts';

export const CHALLENGE_TYPE = 'cphar.seal.challenge';
export const ATTESTATION_TYPE = 'cphar.seal.attestation';
export const VERSION = '0.1';
export const DEFAULT_DOMAIN = 'cphar.org';
/** Nonce: 32 CSPRNG bytes, base64url without padding (43 chars). At least 16 bytes (128 bits) are accepted. */
export const NONCE_BYTES = 32;
export const MIN_NONCE_BYTES = 16;
export const MAX_NONCE_BYTES = 64;
/** Upper bound on a message file (bytes) — messages are six short strings. */
export const MAX_MESSAGE_BYTES = 16 * 1024;

export type SealAlg = 'Ed25519' | 'ES256';
export const SEAL_ALGS: readonly SealAlg[] = ['Ed25519', 'ES256'];

export interface SealChallenge {
  type: typeof CHALLENGE_TYPE;
  version: typeof VERSION;
  seal_id: string;
  nonce: string;
  timestamp: string;
  domain: string;
}

export interface SealAttestation {
  type: typeof ATTESTATION_TYPE;
  version: typeof VERSION;
  seal_id: string;
  challenge_hash: string;
  signature: string;
  firmware_measurement: string;
}

const CHALLENGE_KEYS = ['type', 'version', 'seal_id', 'nonce', 'timestamp', 'domain'] as const;
const ATTESTATION_KEYS = ['type', 'version', 'seal_id', 'challenge_hash', 'signature', 'firmware_measurement'] as const;
const SEAL_ID_RE = /^[A-Za-z0-9_.:-]{1,128}$/;
const DOMAIN_RE = /^[a-z0-9.-]{1,253}$/;

export function isSealId(s: unknown): s is string {
  return typeof s === 'string' && SEAL_ID_RE.test(s);
}
export function isMeasurement(s: unknown): s is string {
  return isDigest(s);
}

/** RFC 3339 UTC with millisecond precision trimmed when zero: `2026-05-16T12:00:00Z`. */
export function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

function asObject(v: unknown, what: string): Record<string, unknown> {
  if (v instanceof Uint8Array || typeof v === 'string') {
    if (v.length > MAX_MESSAGE_BYTES) throw new EvidentError('INPUT_INVALID', `${what} larger than ${MAX_MESSAGE_BYTES} bytes`);
    v = toPlain(parseJson(v, { duplicateKeys: 'reject', maxDepth: 4, maxBytes: MAX_MESSAGE_BYTES }));
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new EvidentError('INPUT_INVALID', `${what} is not a JSON object`);
  return v as Record<string, unknown>;
}

function exactMembers(o: Record<string, unknown>, keys: readonly string[], what: string): void {
  for (const k of keys) {
    if (typeof o[k] !== 'string') throw new EvidentError('INPUT_INVALID', `${what}.${k} must be a string`);
  }
  const extra = Object.keys(o).filter((k) => !keys.includes(k));
  if (extra.length) throw new EvidentError('INPUT_INVALID', `${what} has unknown member(s): ${extra.join(', ')}`);
}

/** Parse and validate a SealChallenge (object, JSON text or bytes). Throws EvidentError(INPUT_INVALID). */
export function parseChallenge(input: unknown): SealChallenge {
  const o = asObject(input, 'challenge');
  exactMembers(o, CHALLENGE_KEYS, 'challenge');
  if (o.type !== CHALLENGE_TYPE) throw new EvidentError('INPUT_INVALID', `challenge.type must be ${CHALLENGE_TYPE}`);
  if (o.version !== VERSION) throw new EvidentError('INPUT_INVALID', `unsupported challenge.version ${JSON.stringify(o.version)}`);
  if (!isSealId(o.seal_id)) throw new EvidentError('INPUT_INVALID', 'challenge.seal_id is not a valid seal id');
  if (!DOMAIN_RE.test(o.domain as string)) throw new EvidentError('INPUT_INVALID', 'challenge.domain is not a valid domain');
  let n: Uint8Array;
  try {
    n = parseBase64(o.nonce as string, { alphabet: 'url', padding: 'forbidden' });
  } catch (e) {
    throw new EvidentError('INPUT_INVALID', `challenge.nonce: ${(e as Error).message}`, { cause: e });
  }
  if (n.length < MIN_NONCE_BYTES || n.length > MAX_NONCE_BYTES) {
    throw new EvidentError('INPUT_INVALID', `challenge.nonce must encode ${MIN_NONCE_BYTES}..${MAX_NONCE_BYTES} bytes, got ${n.length}`);
  }
  parseRfc3339(o.timestamp, 'challenge.timestamp');
  return o as unknown as SealChallenge;
}

/** Parse and validate a SealAttestation (object, JSON text or bytes). Throws EvidentError(INPUT_INVALID). */
export function parseAttestation(input: unknown): SealAttestation {
  const o = asObject(input, 'attestation');
  exactMembers(o, ATTESTATION_KEYS, 'attestation');
  if (o.type !== ATTESTATION_TYPE) throw new EvidentError('INPUT_INVALID', `attestation.type must be ${ATTESTATION_TYPE}`);
  if (o.version !== VERSION) throw new EvidentError('INPUT_INVALID', `unsupported attestation.version ${JSON.stringify(o.version)}`);
  if (!isSealId(o.seal_id)) throw new EvidentError('INPUT_INVALID', 'attestation.seal_id is not a valid seal id');
  if (!isMeasurement(o.challenge_hash)) throw new EvidentError('INPUT_INVALID', 'attestation.challenge_hash must be sha256:<64 lowercase hex>');
  if (!isMeasurement(o.firmware_measurement)) {
    throw new EvidentError('INPUT_INVALID', 'attestation.firmware_measurement must be sha256:<64 lowercase hex>');
  }
  if (typeof o.signature !== 'string' || o.signature.length > 200) throw new EvidentError('INPUT_INVALID', 'attestation.signature malformed');
  // §1: base64url without padding of a 64-byte signature; any other encoding is a message-rule violation
  // (MESSAGE_INVALID), never a signature that "does not verify"
  try {
    parseBase64(o.signature, { alphabet: 'url', padding: 'forbidden', length: 64 });
  } catch (e) {
    throw new EvidentError('INPUT_INVALID', `attestation.signature must be base64url without padding of 64 bytes: ${(e as Error).message}`, { cause: e });
  }
  return o as unknown as SealAttestation;
}

/** Canonical bytes of a challenge (JCS). */
export function challengeBytes(c: SealChallenge): Uint8Array {
  return utf8(canonicalizeJcs({ type: c.type, version: c.version, seal_id: c.seal_id, nonce: c.nonce, timestamp: c.timestamp, domain: c.domain }));
}

/** `sha256:` + hex over JCS of the complete challenge. */
export function challengeHash(c: SealChallenge): string {
  return sha256Digest(challengeBytes(c));
}

/** The bytes a seal signs: JCS of the attestation without `signature`. */
export function attestationSignedBytes(a: Omit<SealAttestation, 'signature'> & { signature?: string }): Uint8Array {
  return utf8(
    canonicalizeJcs({
      type: a.type,
      version: a.version,
      seal_id: a.seal_id,
      challenge_hash: a.challenge_hash,
      firmware_measurement: a.firmware_measurement,
    }),
  );
}

export function newNonce(bytes = NONCE_BYTES): string {
  if (bytes < MIN_NONCE_BYTES || bytes > MAX_NONCE_BYTES) throw new EvidentError('INPUT_INVALID', `nonce size must be ${MIN_NONCE_BYTES}..${MAX_NONCE_BYTES} bytes`);
  return toBase64Url(randomBytes(bytes));
}

/** Build a fresh challenge (nonce from crypto.randomBytes). */
export function makeChallenge(sealId: string, opts: { now?: number; domain?: string; nonce?: string } = {}): SealChallenge {
  const c: SealChallenge = {
    type: CHALLENGE_TYPE,
    version: VERSION,
    seal_id: sealId,
    nonce: opts.nonce ?? newNonce(),
    timestamp: formatTime(opts.now ?? Date.now()),
    domain: opts.domain ?? DEFAULT_DOMAIN,
  };
  return parseChallenge(c);
}

export function sealAlgOfKey(key: KeyObject): SealAlg {
  const a = algOfKey(key);
  if (a === 'ed25519') return 'Ed25519';
  if (a === 'es256') return 'ES256';
  throw new EvidentError('KEY_UNSUPPORTED', `seal keys must be Ed25519 or ES256 (P-256), not ${a}`);
}

/** Answer a challenge: the seal's side. */
export function signAttestation(challenge: SealChallenge, privateKey: KeyObject, firmwareMeasurement: string): SealAttestation {
  if (!isMeasurement(firmwareMeasurement)) throw new EvidentError('INPUT_INVALID', 'firmware measurement must be sha256:<64 lowercase hex>');
  sealAlgOfKey(privateKey);
  const body = {
    type: ATTESTATION_TYPE,
    version: VERSION,
    seal_id: challenge.seal_id,
    challenge_hash: challengeHash(challenge),
    firmware_measurement: firmwareMeasurement,
  } as const;
  const sig = sign(privateKey, attestationSignedBytes(body), { ecdsaFormat: 'p1363' });
  return { type: body.type, version: body.version, seal_id: body.seal_id, challenge_hash: body.challenge_hash, signature: toBase64Url(sig), firmware_measurement: body.firmware_measurement };
}

/** Verify only the signature of an attestation with a seal public key (never throws on bad signatures). */
export function verifyAttestationSignature(a: SealAttestation, publicKey: KeyObject, alg: SealAlg): boolean {
  let sig: Uint8Array;
  try {
    sig = parseBase64(a.signature, { alphabet: 'url', padding: 'forbidden', length: 64 });
  } catch {
    return false;
  }
  try {
    return verify(publicKey, attestationSignedBytes(a), sig, { alg: alg === 'Ed25519' ? 'ed25519' : 'es256', ecdsaFormat: 'p1363' });
  } catch {
    return false;
  }
}
