/**
 * HarmonyØ4 runtime attestation (specs/hashmatch-h4.md §B.3).
 *
 * compat: upstream `attest()` — {engine_id, fingerprint, timestamp_unix, attestation_hash, sealed, engine} with
 *   attestation_hash = hex SHA-256(UTF-8 `engine_id|fingerprint|timestamp_unix`). We compute AND check the hash,
 *   and always report it as unsigned: anyone can mint one (upstream's verify_attestation checks neither).
 * strict: a signed, nonce-bound attestation `evident.h4.attestation.v1` — Ed25519 over the RFC 8785 (JCS) form
 *   of every member except `sig`; verified with a pinned/trusted key, freshness (issued_at ≤ now + skew,
 *   now < expires_at, lifetime ≤ max) and a single-use nonce (NonceStore.consume).
 */
import type { KeyObject } from 'node:crypto';
import { Report, type Mode } from '../../verify/report.ts';
import { EvidentError } from '../../kernel/errors.ts';
import { sha256Hex, timingSafeEqualString } from '../../kernel/digest.ts';
import { canonicalizeJcs } from '../../kernel/json/index.ts';
import { toBase64, parseBase64 } from '../../kernel/encoding.ts';
import { sign } from '../../kernel/sign.ts';
import { keyId, toPublicKey, algOfKey } from '../../kernel/keys.ts';
import { parseRfc3339 } from '../../kernel/time.ts';
import { loadVerifierKeys, verifyWithKeys, keyPolicy } from './verify.ts';
import type { EngineInfo } from './engines.ts';

export const ATTESTATION_TYPE = 'evident.h4.attestation.v1' as const;
export const DEFAULT_TTL_SECONDS = 300;
export const MAX_TTL_SECONDS = 3600;
export const CLOCK_SKEW_SECONDS = 60;
const NONCE_RE = /^[A-Za-z0-9._~+/=-]{16,256}$/;

// ------------------------------------------------------------------------------------------ nonce store

/** Single-use nonces. `consume` returns true the first time a nonce is seen, false after (kept at least until expiresAt). */
export interface NonceStore {
  consume(nonce: string, expiresAt: Date): Promise<boolean>;
}

/** In-process NonceStore (bounded; expired nonces are pruned). A DB-backed store implements the same interface. */
export class MemoryNonceStore implements NonceStore {
  private readonly seen = new Map<string, number>();
  constructor(
    private readonly maxEntries = 100_000,
    private readonly clock: () => number = () => Date.now(),
  ) {}

  async consume(nonce: string, expiresAt: Date): Promise<boolean> {
    // A nonce seen before is refused even past its expiry (expired entries are only dropped to make room, and an
    // expired attestation already fails freshness): conservative when the verifier's clock differs from ours.
    if (this.seen.has(nonce)) return false;
    const now = this.clock();
    if (this.seen.size >= this.maxEntries) {
      for (const [k, exp] of this.seen) if (exp <= now) this.seen.delete(k);
      if (this.seen.size >= this.maxEntries) throw new EvidentError('NONCE_STORE_FULL', `nonce store holds ${this.maxEntries} live nonces`);
    }
    this.seen.set(nonce, expiresAt.getTime());
    return true;
  }

  get size(): number {
    return this.seen.size;
  }
}

/** Structural shape of the CPHAR nonce store (src/profiles/cphar/nonces.ts), memory or database backed. */
export interface CpharLikeNonceStore {
  consume(nonce: string, now: number, opts?: { requireIssued?: boolean; ttlMs?: number }): Promise<{ status: string }>;
}

/**
 * Adapt a CPHAR-style store (shared with the CPHAR verifier, e.g. DB-backed) to NonceStore. H4 nonces are
 * namespaced (`h4-attest:`) so they never collide with seal challenges in the same table.
 */
export function nonceStoreFrom(store: CpharLikeNonceStore, clock: () => number = () => Date.now()): NonceStore {
  return {
    async consume(nonce: string, expiresAt: Date): Promise<boolean> {
      const now = clock();
      const r = await store.consume(`h4-attest:${nonce}`, now, { ttlMs: Math.max(1000, expiresAt.getTime() - now) });
      return r.status === 'OK';
    },
  };
}

// ------------------------------------------------------------------------------------------ compat

export interface CompatAttestation {
  engine_id: string;
  fingerprint: string;
  timestamp_unix: number;
  attestation_hash: string;
  sealed: boolean;
  engine: string;
}

/** Upstream's attestation_hash: hex SHA-256 of `engine_id|fingerprint|timestamp_unix`. */
export function attestationHash(engineId: string, fingerprint: string, timestampUnix: number | bigint | string): string {
  return sha256Hex(`${engineId}|${fingerprint}|${String(timestampUnix)}`);
}

/** Upstream `attest()` for an engine info dict (missing values → "unknown", sealed → false). */
export function compatAttestation(info: Partial<Pick<EngineInfo, 'engine' | 'engine_id' | 'fingerprint' | 'sealed'>>, nowMs = Date.now()): CompatAttestation {
  const engine_id = info.engine_id ?? 'unknown';
  const fingerprint = info.fingerprint ?? 'unknown';
  const timestamp_unix = Math.floor(nowMs / 1000);
  return {
    engine_id,
    fingerprint,
    timestamp_unix,
    attestation_hash: attestationHash(engine_id, fingerprint, timestamp_unix),
    sealed: info.sealed ?? false,
    engine: info.engine ?? 'unknown',
  };
}

export function looksLikeCompatAttestation(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && 'attestation_hash' in v && 'engine_id' in v && 'timestamp_unix' in v;
}

/** Check an upstream attestation: fields present, hash recomputed. Always reported as unsigned. */
export function checkCompatAttestation(a: unknown, mode: Mode = 'compat', expect?: Pick<EngineInfo, 'engine_id' | 'fingerprint'>): Report {
  const r = new Report('h4.attestation', mode);
  if (typeof a !== 'object' || a === null || Array.isArray(a)) return r.fail('schema', 'input', 'ATTEST_INVALID', 'attestation must be a JSON object');
  const o = a as Record<string, unknown>;
  const missing = ['engine_id', 'fingerprint', 'timestamp_unix', 'attestation_hash'].filter((k) => !(k in o));
  if (missing.length) return r.fail('schema', 'input', 'ATTEST_INVALID', `missing ${missing.join(', ')}`);
  const ts = o.timestamp_unix;
  const tsOk = (typeof ts === 'number' && Number.isSafeInteger(ts)) || typeof ts === 'bigint';
  if (typeof o.engine_id !== 'string' || typeof o.fingerprint !== 'string' || typeof o.attestation_hash !== 'string' || !tsOk) {
    return r.fail('schema', 'input', 'ATTEST_INVALID', 'engine_id, fingerprint, attestation_hash must be strings and timestamp_unix an integer');
  }
  r.pass('schema', 'upstream attestation fields present');
  const want = attestationHash(o.engine_id, o.fingerprint, ts as number);
  if (timingSafeEqualString(want, o.attestation_hash)) r.pass('attestation_hash', 'attestation_hash = SHA-256(engine_id|fingerprint|timestamp_unix)', { expected: want, actual: o.attestation_hash });
  else r.fail('attestation_hash', 'integrity', 'ATTEST_HASH_MISMATCH', 'attestation_hash does not match engine_id|fingerprint|timestamp_unix', { expected: want, actual: o.attestation_hash });
  if (expect) {
    if (o.engine_id !== expect.engine_id || o.fingerprint !== expect.fingerprint) {
      r.fail('engine', 'policy', 'ENGINE_MISMATCH', 'attested engine differs from the expected engine', {
        expected: `${expect.engine_id}|${expect.fingerprint}`,
        actual: `${o.engine_id}|${o.fingerprint}`,
      });
    } else r.pass('engine', 'attested engine is the expected engine');
  }
  if (mode === 'strict') r.fail('signature', 'signature', 'SIGNATURE_MISSING', 'upstream attestation is unsigned and not nonce-bound: anyone can mint one');
  else r.warn('signature', 'ATTEST_UNSIGNED', 'unsigned: attestation_hash is a plain digest (no key, no nonce) — anyone can mint one');
  return r;
}

// ------------------------------------------------------------------------------------------ strict

export interface SignedAttestation {
  type: typeof ATTESTATION_TYPE;
  engine: string;
  engine_id: string;
  fingerprint: string;
  sealed: boolean;
  nonce: string;
  issued_at: string;
  expires_at: string;
  alg: 'ed25519';
  kid: string;
  sig: string;
}

const iso = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

export function checkNonce(nonce: string): void {
  if (!NONCE_RE.test(nonce)) throw new EvidentError('NONCE_INVALID', 'nonce must be 16–256 characters of [A-Za-z0-9._~+/=-]');
}

/** Issue a signed, nonce-bound attestation of the running engine with the service's Ed25519 key. */
export function signAttestation(o: { info: EngineInfo; nonce: string; key: KeyObject; now?: Date; ttlSeconds?: number }): SignedAttestation {
  checkNonce(o.nonce);
  if (o.key.type !== 'private' || algOfKey(o.key) !== 'ed25519') throw new EvidentError('KEY_UNSUPPORTED', 'attestation key must be an Ed25519 private key');
  const ttl = o.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl <= 0 || ttl > MAX_TTL_SECONDS) throw new EvidentError('INPUT_INVALID', `ttl must be 1..${MAX_TTL_SECONDS} seconds`);
  const now = (o.now ?? new Date()).getTime();
  const body = {
    type: ATTESTATION_TYPE as typeof ATTESTATION_TYPE,
    engine: o.info.engine,
    engine_id: o.info.engine_id,
    fingerprint: o.info.fingerprint,
    sealed: o.info.sealed,
    nonce: o.nonce,
    issued_at: iso(now),
    expires_at: iso(now + ttl * 1000),
    alg: 'ed25519' as const,
    kid: keyId(toPublicKey(o.key), 'jwk'),
  };
  const sig = sign(o.key, canonicalizeJcs(body), { alg: 'ed25519' });
  return { ...body, sig: toBase64(sig) };
}

export function looksLikeSignedAttestation(v: unknown): boolean {
  return typeof v === 'object' && v !== null && (v as { type?: unknown }).type === ATTESTATION_TYPE;
}

export interface AttestationVerifyOptions {
  keys?: string[];
  trust?: string;
  nonceStore: NonceStore;
  /** The nonce the verifier issued; when given the attestation must carry exactly it. */
  expectedNonce?: string;
  now?: Date;
  maxTtlSeconds?: number;
  /** Expected engine identity (e.g. the pins the verifier holds). */
  expect?: Pick<EngineInfo, 'engine_id' | 'fingerprint'>;
}

const STRICT_FIELDS = ['type', 'engine', 'engine_id', 'fingerprint', 'sealed', 'nonce', 'issued_at', 'expires_at', 'alg', 'kid', 'sig'];

/** Verify a strict attestation: schema → key → signature → policy (engine, freshness, nonce binding, single use). */
export async function verifySignedAttestation(a: unknown, o: AttestationVerifyOptions): Promise<Report> {
  const r = new Report('h4.attestation', 'strict');
  if (!looksLikeSignedAttestation(a)) return r.fail('schema', 'input', 'ATTEST_INVALID', `not an ${ATTESTATION_TYPE} object`);
  const x = a as Record<string, unknown>;
  const extra = Object.keys(x).filter((k) => !STRICT_FIELDS.includes(k));
  const missing = STRICT_FIELDS.filter((k) => !(k in x));
  if (extra.length || missing.length) return r.fail('schema', 'input', 'ATTEST_INVALID', `members: missing [${missing.join(', ')}], unknown [${extra.join(', ')}]`);
  for (const k of STRICT_FIELDS) {
    if (k === 'sealed' ? typeof x[k] !== 'boolean' : typeof x[k] !== 'string') return r.fail('schema', 'input', 'ATTEST_INVALID', `member ${k} has the wrong type`);
  }
  const s = a as SignedAttestation;
  if (s.alg !== 'ed25519') return r.fail('schema', 'input', 'ATTEST_INVALID', `alg must be ed25519`);
  let issued: number, expires: number, sig: Uint8Array;
  try {
    checkNonce(s.nonce);
    issued = parseRfc3339(s.issued_at, 'issued_at', 'ATTEST_INVALID');
    expires = parseRfc3339(s.expires_at, 'expires_at', 'ATTEST_INVALID');
    sig = parseBase64(s.sig);
  } catch (e) {
    return r.fail('schema', 'input', (e as { code?: string }).code ?? 'ATTEST_INVALID', (e as Error).message);
  }
  r.pass('schema', `${ATTESTATION_TYPE} for engine ${s.engine} (${s.engine_id})`);
  const keys = loadVerifierKeys(r, o.keys, o.trust);
  if (!keys) return r;
  const { sig: _sig, ...body } = s;
  const hit = verifyWithKeys(keys, s.kid, new TextEncoder().encode(canonicalizeJcs(body)), sig);
  if (!hit) return r.fail('signature', 'signature', 'SIGNATURE_INVALID', 'attestation signature does not verify under any pinned or trusted key');
  r.pass('signature', `Ed25519 signature verifies (kid ${s.kid})`);
  keyPolicy(r, 'signature', hit.entry, o.now);
  const now = (o.now ?? new Date()).getTime();
  const maxTtl = (o.maxTtlSeconds ?? MAX_TTL_SECONDS) * 1000;
  if (expires <= issued || expires - issued > maxTtl) r.fail('freshness', 'policy', 'ATTEST_TTL_INVALID', `lifetime ${(expires - issued) / 1000}s is not within (0, ${maxTtl / 1000}s]`);
  else if (issued > now + CLOCK_SKEW_SECONDS * 1000) r.fail('freshness', 'policy', 'ATTEST_NOT_YET_VALID', `issued_at ${s.issued_at} is in the future`);
  else if (now >= expires) r.fail('freshness', 'policy', 'ATTEST_STALE', `attestation expired at ${s.expires_at}`);
  else r.pass('freshness', `fresh (issued ${s.issued_at}, expires ${s.expires_at})`);
  if (o.expectedNonce !== undefined) {
    if (timingSafeEqualString(o.expectedNonce, s.nonce)) r.pass('nonce.binding', 'nonce is the one issued');
    else r.fail('nonce.binding', 'policy', 'NONCE_MISMATCH', 'attestation answers a different nonce');
  }
  if (o.expect) {
    if (s.engine_id === o.expect.engine_id && s.fingerprint === o.expect.fingerprint) r.pass('engine', 'attested engine is the expected engine');
    else r.fail('engine', 'policy', 'ENGINE_MISMATCH', 'attested engine differs from the expected engine', { expected: `${o.expect.engine_id}|${o.expect.fingerprint}`, actual: `${s.engine_id}|${s.fingerprint}` });
  }
  if (!s.sealed) r.warn('sealed', 'ENGINE_UNSEALED', 'the attested engine is not sealed (no pinned module fingerprint)');
  // Burn the nonce only for an attestation that is otherwise acceptable.
  if (r.valid) {
    if (await o.nonceStore.consume(s.nonce, new Date(expires))) r.pass('nonce.single_use', 'nonce first use');
    else r.fail('nonce.single_use', 'policy', 'NONCE_REPLAYED', 'nonce already used: replayed attestation');
  }
  return r;
}
