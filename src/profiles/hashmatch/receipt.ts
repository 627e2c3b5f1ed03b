/**
 * HashMatch Ed25519 receipts (spec §A.3): payload signed as stable JSON (no newline), signature lowercase hex,
 * publicKey = lowercase hex of the SPKI DER; file = stableStringify(envelope) + "\n".
 */
import type { KeyObject } from 'node:crypto';
import { EvidentError } from '../../kernel/errors.ts';
import { sign, verify } from '../../kernel/sign.ts';
import { spkiDer, algOfKey, toPublicKey, importPublicKey } from '../../kernel/keys.ts';
import { stableStringify, stableFile } from './stable.ts';

export interface Receipt {
  version: number;
  algorithm: string;
  payload: Record<string, unknown>;
  signature: string;
  publicKey: string;
  signedAt?: string;
  [k: string]: unknown;
}

export interface MatchPayload {
  matchId: string;
  logHash: string;
  manifestHash: string;
  runnerVersion: string;
  issuedBy: string;
}

export interface TournamentPayload {
  tournamentId: string;
  truthBundleHash: string;
  matchCount: number;
  issuedBy: string;
}

export function signingInput(payload: unknown): Uint8Array {
  return new Uint8Array(Buffer.from(stableStringify(payload), 'utf8'));
}

export function spkiHex(key: KeyObject): string {
  return Buffer.from(spkiDer(toPublicKey(key))).toString('hex');
}

/** Sign a payload with an Ed25519 private key; returns the envelope (upstream member set, no signedAt). */
export function signReceipt(payload: object, privateKey: KeyObject): Receipt {
  if (algOfKey(privateKey) !== 'ed25519') throw new EvidentError('KEY_UNSUPPORTED', 'HashMatch receipts are Ed25519 only');
  const sig = sign(privateKey, signingInput(payload));
  return {
    version: 1,
    algorithm: 'ed25519',
    payload: payload as Record<string, unknown>,
    signature: Buffer.from(sig).toString('hex'),
    publicKey: spkiHex(privateKey),
  };
}

/** Exact receipt file bytes as upstream writes them. */
export function receiptFileText(r: Receipt): string {
  return stableFile(r);
}

const HEX_RE = /^(?:[0-9a-f]{2})*$/;

export type ReceiptShape = { ok: true; receipt: Receipt } | { ok: false; reason: string };

/** Structural check of a parsed receipt (strict: lowercase even-length hex, known members). */
export function checkReceiptShape(v: unknown): ReceiptShape {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return { ok: false, reason: 'receipt is not a JSON object' };
  const r = v as Record<string, unknown>;
  if (r.version !== 1) return { ok: false, reason: `unsupported receipt version ${JSON.stringify(r.version)}` };
  if (r.algorithm !== 'ed25519') return { ok: false, reason: `unsupported algorithm ${JSON.stringify(r.algorithm)}` };
  if (r.payload === null || typeof r.payload !== 'object' || Array.isArray(r.payload)) return { ok: false, reason: 'payload is not an object' };
  if (typeof r.signature !== 'string' || typeof r.publicKey !== 'string') return { ok: false, reason: 'signature/publicKey must be strings' };
  return { ok: true, receipt: r as Receipt };
}

/** Upstream-style hex parse: Buffer.from(hex) stops at the first non-hex pair. */
function lenientHex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'hex'));
}

export function strictHex(s: string): Uint8Array | undefined {
  return HEX_RE.test(s) ? new Uint8Array(Buffer.from(s, 'hex')) : undefined;
}

/** Verify the signature of a receipt with a given public key; `lenient` reproduces upstream hex parsing. */
export function verifyReceiptWith(r: Receipt, key: KeyObject, lenient = false): boolean {
  const sig = lenient ? lenientHex(r.signature) : strictHex(r.signature);
  if (!sig || sig.length !== 64) return false;
  try {
    return verify(key, signingInput(r.payload), sig);
  } catch {
    return false;
  }
}

/** The embedded key (SPKI DER hex) as a KeyObject, or undefined when unparsable. */
export function embeddedKey(r: Receipt, lenient = false): KeyObject | undefined {
  const der = lenient ? lenientHex(r.publicKey) : strictHex(r.publicKey);
  if (!der || der.length === 0) return undefined;
  try {
    const k = importPublicKey(der);
    return algOfKey(k) === 'ed25519' ? k : undefined;
  } catch {
    return undefined;
  }
}
