/**
 * CPHAR attestation verifier (profile evident-cphar-0.1, docs/cphar.md).
 *
 * Checks run in a fixed order and stop at the first failure, whose code is the `reason`:
 *   SEAL_UNKNOWN → SEAL_NOT_ACTIVE (SEAL_REVOKED / SEAL_BROKEN / SEAL_RETIRED) → SEAL_ID_MISMATCH → DOMAIN_MISMATCH
 *   → CHALLENGE_HASH_MISMATCH → SIGNATURE_INVALID → FIRMWARE_MISMATCH → TIMESTAMP_IN_FUTURE → STALE
 *   → RESPONSE_TOO_SLOW → nonce (NONCE_UNKNOWN / NONCE_EXPIRED / REPLAY).
 * The nonce is consumed only after every other check passed, so forged responses cannot burn a legitimate nonce.
 */
import { timingSafeEqualString } from '../../kernel/digest.ts';
import { parseRfc3339 } from '../../kernel/time.ts';
import { Report, type FailureCategory, type Mode } from '../../verify/report.ts';
import {
  challengeHash,
  DEFAULT_DOMAIN,
  parseAttestation,
  parseChallenge,
  verifyAttestationSignature,
  type SealAttestation,
  type SealChallenge,
} from './messages.ts';
import { ACTIVE_STATES, type SealLookup, type SealResolver } from './registry.ts';
import { DEFAULT_NONCE_TTL_MS, type NonceStore } from './nonces.ts';

export type ReasonCode =
  | 'MESSAGE_INVALID'
  | 'SEAL_UNKNOWN'
  | 'SEAL_NOT_ACTIVE'
  | 'SEAL_REVOKED'
  | 'SEAL_BROKEN'
  | 'SEAL_RETIRED'
  | 'SEAL_ID_MISMATCH'
  | 'DOMAIN_MISMATCH'
  | 'CHALLENGE_HASH_MISMATCH'
  | 'SIGNATURE_INVALID'
  | 'FIRMWARE_MISMATCH'
  | 'TIMESTAMP_IN_FUTURE'
  | 'STALE'
  | 'RESPONSE_TOO_SLOW'
  | 'NONCE_UNKNOWN'
  | 'NONCE_EXPIRED'
  | 'REPLAY';

/** Report category (→ exit code) of every reason: input 10, integrity 2, key 4, signature 3, policy 1. */
export const REASON_CATEGORY: Record<ReasonCode, FailureCategory> = {
  MESSAGE_INVALID: 'input',
  SEAL_UNKNOWN: 'key',
  SEAL_NOT_ACTIVE: 'key',
  SEAL_REVOKED: 'key',
  SEAL_BROKEN: 'key',
  SEAL_RETIRED: 'key',
  SEAL_ID_MISMATCH: 'integrity',
  DOMAIN_MISMATCH: 'policy',
  CHALLENGE_HASH_MISMATCH: 'integrity',
  SIGNATURE_INVALID: 'signature',
  FIRMWARE_MISMATCH: 'policy',
  TIMESTAMP_IN_FUTURE: 'policy',
  STALE: 'policy',
  RESPONSE_TOO_SLOW: 'policy',
  NONCE_UNKNOWN: 'policy',
  NONCE_EXPIRED: 'policy',
  REPLAY: 'policy',
};

/**
 * The proposed-profile vectors use one status reason, SEAL_NOT_ACTIVE; Evident reports the specific status.
 * This maps a reason to the vectors' vocabulary.
 */
export function vectorReason(r: ReasonCode): string {
  return r === 'SEAL_REVOKED' || r === 'SEAL_BROKEN' || r === 'SEAL_RETIRED' ? 'SEAL_NOT_ACTIVE' : r;
}

export interface FreshnessWindows {
  /** Max age of challenge.timestamp at verification time (default 60 000 ms). */
  maxTimestampAgeMs: number;
  /** Max time between challenge issue and response receipt (default 30 000 ms). */
  maxResponseMs: number;
  /** Allowed clock skew for a challenge timestamp in the future (default 5 000 ms). */
  clockSkewMs: number;
}
export const DEFAULT_WINDOWS: FreshnessWindows = { maxTimestampAgeMs: 60_000, maxResponseMs: 30_000, clockSkewMs: 5_000 };

export interface VerifyContext {
  seals: SealResolver;
  /** Verification time (ms since epoch); default Date.now(). */
  now?: number;
  /** When the response was received (ms); default `now`. */
  receivedAt?: number;
  /** When the challenge was issued (ms); default the nonce store's issue time, else challenge.timestamp. */
  issuedAt?: number;
  expectedDomain?: string;
  windows?: Partial<FreshnessWindows>;
  /** Single-use nonce store; without it replay is NOT checked (reported as a warning). */
  nonces?: NonceStore;
  /** Require the nonce to have been issued by `nonces` (strict verifiers that issued the challenge). */
  requireIssuedNonce?: boolean;
  nonceTtlMs?: number;
}

export interface VerifyResult {
  ok: boolean;
  reason?: ReasonCode;
  message: string;
  seal?: SealLookup;
}

function fail(reason: ReasonCode, message: string, seal?: SealLookup): VerifyResult {
  return { ok: false, reason, message, seal };
}

function statusReason(status: string): ReasonCode | undefined {
  if (status === 'active' || (ACTIVE_STATES as readonly string[]).includes(status)) return undefined;
  const s = status.toLowerCase();
  if (s === 'revoked') return 'SEAL_REVOKED';
  if (s === 'broken') return 'SEAL_BROKEN';
  if (s === 'retired') return 'SEAL_RETIRED';
  return 'SEAL_NOT_ACTIVE';
}

/** Verify already-parsed messages. Never throws for verdicts; DB errors propagate. */
export async function verifyAttestation(challenge: SealChallenge, att: SealAttestation, ctx: VerifyContext): Promise<VerifyResult> {
  const w: FreshnessWindows = { ...DEFAULT_WINDOWS, ...ctx.windows };
  const now = ctx.now ?? Date.now();
  const seal = await ctx.seals.lookup(challenge.seal_id);
  if (!seal) return fail('SEAL_UNKNOWN', `seal ${challenge.seal_id} is not in the registry`);
  const st = statusReason(String(seal.status));
  if (st) return fail(st, `seal ${seal.seal_id} is ${seal.status}, not active`, seal);
  if (att.seal_id !== challenge.seal_id) return fail('SEAL_ID_MISMATCH', `attestation is for ${att.seal_id}, challenge for ${challenge.seal_id}`, seal);
  const domain = ctx.expectedDomain ?? DEFAULT_DOMAIN;
  if (challenge.domain !== domain) return fail('DOMAIN_MISMATCH', `challenge domain ${challenge.domain} ≠ expected ${domain}`, seal);
  if (!timingSafeEqualString(att.challenge_hash, challengeHash(challenge))) {
    return fail('CHALLENGE_HASH_MISMATCH', 'challenge_hash does not digest this challenge', seal);
  }
  if (!verifyAttestationSignature(att, seal.publicKey, seal.alg)) return fail('SIGNATURE_INVALID', `signature does not verify with the ${seal.alg} key of ${seal.seal_id}`, seal);
  if (!seal.firmware_measurements.includes(att.firmware_measurement)) {
    return fail('FIRMWARE_MISMATCH', `firmware ${att.firmware_measurement} is not a registered measurement of ${seal.seal_id}`, seal);
  }
  const ts = parseRfc3339(challenge.timestamp, 'challenge.timestamp');
  if (ts - now > w.clockSkewMs) return fail('TIMESTAMP_IN_FUTURE', `challenge timestamp is ${(ts - now) / 1000} s in the future (skew allowance ${w.clockSkewMs / 1000} s)`, seal);
  if (now - ts > w.maxTimestampAgeMs) return fail('STALE', `challenge timestamp is ${(now - ts) / 1000} s old (max ${w.maxTimestampAgeMs / 1000} s)`, seal);
  // nonce: consume last (atomic) but take the issue time recorded by the store into account
  let issuedAt = ctx.issuedAt ?? ts;
  const receivedAt = ctx.receivedAt ?? now;
  if (receivedAt - issuedAt > w.maxResponseMs) {
    return fail('RESPONSE_TOO_SLOW', `response came ${(receivedAt - issuedAt) / 1000} s after the challenge (max ${w.maxResponseMs / 1000} s)`, seal);
  }
  if (ctx.nonces) {
    const r = await ctx.nonces.consume(challenge.nonce, now, { requireIssued: ctx.requireIssuedNonce, ttlMs: ctx.nonceTtlMs ?? DEFAULT_NONCE_TTL_MS });
    if (r.status === 'REPLAY') return fail('REPLAY', 'nonce already used (replayed response)', seal);
    if (r.status === 'NONCE_UNKNOWN') return fail('NONCE_UNKNOWN', 'nonce was not issued by this verifier', seal);
    if (r.status === 'NONCE_EXPIRED') return fail('NONCE_EXPIRED', 'nonce expired before use', seal);
    if (r.sealId && r.sealId !== challenge.seal_id) return fail('SEAL_ID_MISMATCH', `nonce was issued for seal ${r.sealId}`, seal);
    if (r.issuedAt !== undefined && ctx.issuedAt === undefined) {
      issuedAt = r.issuedAt;
      if (receivedAt - issuedAt > w.maxResponseMs) {
        return fail('RESPONSE_TOO_SLOW', `response came ${(receivedAt - issuedAt) / 1000} s after issue (max ${w.maxResponseMs / 1000} s)`, seal);
      }
    }
  }
  return { ok: true, message: `seal ${seal.seal_id} attested (${seal.alg})`, seal };
}

/** Parse raw messages and verify, returning a Report (format `cphar.attestation`). */
export async function verifyToReport(challengeInput: unknown, attestationInput: unknown, ctx: VerifyContext, mode: Mode = 'strict'): Promise<{ report: Report; result: VerifyResult }> {
  const report = new Report('cphar.attestation', mode);
  let c: SealChallenge;
  let a: SealAttestation;
  try {
    c = parseChallenge(challengeInput);
  } catch (e) {
    const result = fail('MESSAGE_INVALID', (e as Error).message);
    report.fail('challenge', 'input', 'MESSAGE_INVALID', `challenge: ${(e as Error).message}`);
    return { report, result };
  }
  try {
    a = parseAttestation(attestationInput);
  } catch (e) {
    const result = fail('MESSAGE_INVALID', (e as Error).message);
    report.fail('attestation', 'input', 'MESSAGE_INVALID', `attestation: ${(e as Error).message}`);
    return { report, result };
  }
  report.pass('messages', 'challenge and attestation are well-formed cphar v0.1 messages');
  const result = await verifyAttestation(c, a, ctx);
  if (result.ok) {
    report.pass('attestation', result.message, { actual: a.seal_id });
    if (!ctx.nonces) report.warn('nonce', 'REPLAY_NOT_CHECKED', 'no nonce store (--db) given: single use of the nonce was not enforced');
  } else {
    report.fail('attestation', REASON_CATEGORY[result.reason!], result.reason!, result.message);
  }
  return { report, result };
}
