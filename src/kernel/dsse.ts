/**
 * DSSE v1 (Dead Simple Signing Envelope, secure-systems-lab/dsse v1.0.2).
 *
 * PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, LEN = ASCII decimal byte length.
 * Signatures are over PAE(payloadType, payload bytes), never over the base64 text.
 *
 * Envelope: {"payloadType": string, "payload": base64, "signatures": [{"keyid"?: string, "sig": base64}]}.
 * Parsing rules:
 * - `payload` and `sig` accept standard or URL-safe base64 (the spec requires verifiers to accept both), each
 *   parsed strictly: one alphabet per value, canonical trailing bits, padding optional; anything else is
 *   DSSE_INVALID.
 * - Unknown envelope members are ignored (spec); duplicate JSON keys are rejected by the strict JSON parser.
 * - `keyid` is an unauthenticated hint: it selects candidate keys, it is never trusted by itself.
 * - ES256 signatures are accepted as IEEE P1363 r||s (spec example) or DER (sigstore), both strictly encoded.
 * - At most 100 signatures per envelope; the verified payload bytes are returned to the caller, who must use those
 *   bytes and never re-parse the envelope.
 */
import type { KeyObject } from 'node:crypto';
import { EvidentError } from './errors.ts';
import { parseBase64, toBase64, utf8, concatBytes } from './encoding.ts';
import { parseJson, toPlain } from './json/index.ts';
import { algOfKey, spkiDer, toPublicKey } from './keys.ts';
import { sign, signAsync, verify } from './sign.ts';
import { toHex } from './encoding.ts';

export const DSSE_MAX_SIGNATURES = 100;
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

export interface DsseSignature {
  keyid?: string;
  sig: string;
}

export interface DsseEnvelope {
  payloadType: string;
  payload: string;
  signatures: DsseSignature[];
}

export interface ParsedDsse {
  payloadType: string;
  payload: Uint8Array;
  signatures: Array<{ keyid?: string; sig: Uint8Array }>;
}

/** Pre-Authentication Encoding. */
export function pae(payloadType: string, payload: Uint8Array | string): Uint8Array {
  const t = utf8(payloadType);
  const b = typeof payload === 'string' ? utf8(payload) : payload;
  return concatBytes(utf8(`DSSEv1 ${t.length} `), t, utf8(` ${b.length} `), b);
}

/** ES256 DSSE signatures are written as DER (what Sigstore and cosign expect); verification accepts DER and P1363. */
const DSSE_SIGN = { ecdsaFormat: 'der' } as const;

/** Sign a payload into a one-signature envelope (payload in standard base64 with padding). */
export function signDsse(payloadType: string, payload: Uint8Array | string, privateKey: KeyObject, keyid?: string): DsseEnvelope {
  const body = dsseBody(payloadType, payload);
  return oneSignatureEnvelope(payloadType, body, sign(privateKey, pae(payloadType, body), DSSE_SIGN), keyid);
}

/** {@link signDsse} with the signature computed on the thread pool ({@link signAsync}). */
export async function signDsseAsync(payloadType: string, payload: Uint8Array | string, privateKey: KeyObject, keyid?: string): Promise<DsseEnvelope> {
  const body = dsseBody(payloadType, payload);
  return oneSignatureEnvelope(payloadType, body, await signAsync(privateKey, pae(payloadType, body), DSSE_SIGN), keyid);
}

function dsseBody(payloadType: string, payload: Uint8Array | string): Uint8Array {
  if (typeof payloadType !== 'string') throw new EvidentError('DSSE_INVALID', 'payloadType must be a string');
  return typeof payload === 'string' ? utf8(payload) : payload;
}

function oneSignatureEnvelope(payloadType: string, body: Uint8Array, sig: Uint8Array, keyid: string | undefined): DsseEnvelope {
  const s: DsseSignature = keyid === undefined ? { sig: toBase64(sig) } : { keyid, sig: toBase64(sig) };
  return { payloadType, payload: toBase64(body), signatures: [s] };
}

/** Add a signature to an existing envelope (returns a new envelope; the payload is re-checked). */
export function addDsseSignature(env: DsseEnvelope | unknown, privateKey: KeyObject, keyid?: string): DsseEnvelope {
  const p = parseDsse(env);
  const sig = toBase64(sign(privateKey, pae(p.payloadType, p.payload), DSSE_SIGN));
  const e = env as DsseEnvelope;
  const s: DsseSignature = keyid === undefined ? { sig } : { keyid, sig };
  if (p.signatures.length >= DSSE_MAX_SIGNATURES) throw new EvidentError('DSSE_INVALID', `more than ${DSSE_MAX_SIGNATURES} signatures`);
  return { payloadType: e.payloadType, payload: e.payload, signatures: [...e.signatures, s] };
}

function decodeB64(s: unknown, what: string): Uint8Array {
  if (typeof s !== 'string') throw new EvidentError('DSSE_INVALID', `${what} must be a base64 string`);
  const url = /[-_]/.test(s);
  try {
    return parseBase64(s, { alphabet: url ? 'url' : 'std', padding: 'optional' });
  } catch (e) {
    throw new EvidentError('DSSE_INVALID', `${what} is not valid base64: ${(e as Error).message}`, { cause: e });
  }
}

/** Is this value shaped like a DSSE envelope (payloadType, payload, signatures members)? */
export function looksLikeDsse(v: unknown): boolean {
  return (
    !!v &&
    typeof v === 'object' &&
    !Array.isArray(v) &&
    'payloadType' in v &&
    'payload' in v &&
    'signatures' in v
  );
}

/** Strictly parse an envelope (object, JSON text or bytes). Throws DSSE_INVALID (or a JSON_* code for bad JSON). */
export function parseDsse(input: unknown): ParsedDsse {
  let v: unknown = input;
  if (typeof input === 'string' || input instanceof Uint8Array) v = toPlain(parseJson(input));
  else if (v && typeof v === 'object') v = toPlain(v as never);
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new EvidentError('DSSE_INVALID', 'envelope must be a JSON object');
  const o = v as Record<string, unknown>;
  if (typeof o.payloadType !== 'string') throw new EvidentError('DSSE_INVALID', 'payloadType must be a string');
  const payload = decodeB64(o.payload, 'payload');
  if (!Array.isArray(o.signatures)) throw new EvidentError('DSSE_INVALID', 'signatures must be an array');
  if (o.signatures.length === 0) throw new EvidentError('SIGNATURE_MISSING', 'envelope has no signatures');
  if (o.signatures.length > DSSE_MAX_SIGNATURES) throw new EvidentError('DSSE_INVALID', `more than ${DSSE_MAX_SIGNATURES} signatures`);
  const signatures = o.signatures.map((s, i) => {
    if (!s || typeof s !== 'object' || Array.isArray(s)) throw new EvidentError('DSSE_INVALID', `signatures[${i}] must be an object`);
    const so = s as Record<string, unknown>;
    if (so.keyid !== undefined && typeof so.keyid !== 'string') throw new EvidentError('DSSE_INVALID', `signatures[${i}].keyid must be a string`);
    const sig = decodeB64(so.sig, `signatures[${i}].sig`);
    if (sig.length === 0) throw new EvidentError('DSSE_INVALID', `signatures[${i}].sig is empty`);
    return so.keyid === undefined ? { sig } : { keyid: so.keyid as string, sig };
  });
  return { payloadType: o.payloadType, payload, signatures };
}

/** Candidate keys for a signature (keyid is the unauthenticated hint, possibly undefined). */
export type DsseKeyResolver = (keyid: string | undefined) => KeyObject | KeyObject[] | undefined;

export interface DsseSignatureResult {
  index: number;
  keyid?: string;
  /** `verified`, `bad` (candidate keys existed, none verified), `no-key` (no candidate key). */
  status: 'verified' | 'bad' | 'no-key';
  key?: KeyObject;
}

export interface DsseVerification {
  payloadType: string;
  payload: Uint8Array;
  results: DsseSignatureResult[];
  /** Distinct keys (by SPKI) that verified. */
  verifiedKeys: KeyObject[];
}

/** Check one signature against candidate keys. ES256: P1363 or DER. Never throws for bad signatures. */
function checkSig(key: KeyObject, msg: Uint8Array, sig: Uint8Array): boolean {
  let alg;
  try {
    alg = algOfKey(key);
  } catch {
    return false;
  }
  if (alg === 'es256') {
    return sig.length === 64 ? verify(key, msg, sig) : verify(key, msg, sig, { ecdsaFormat: 'der' });
  }
  return verify(key, msg, sig);
}

/**
 * Evaluate every signature without throwing on verdicts (for reports). Throws only on a malformed envelope.
 */
export function checkDsse(envelope: unknown, resolveKeys: DsseKeyResolver): DsseVerification {
  const p = parseDsse(envelope);
  const msg = pae(p.payloadType, p.payload);
  const results: DsseSignatureResult[] = [];
  const seen = new Map<string, KeyObject>();
  p.signatures.forEach((s, index) => {
    const r = resolveKeys(s.keyid);
    const cands = r === undefined ? [] : Array.isArray(r) ? r : [r];
    const base: DsseSignatureResult = { index, status: cands.length ? 'bad' : 'no-key' };
    if (s.keyid !== undefined) base.keyid = s.keyid;
    for (const k of cands) {
      if (checkSig(k, msg, s.sig)) {
        base.status = 'verified';
        base.key = toPublicKey(k);
        seen.set(toHex(spkiDer(k)), base.key);
        break;
      }
    }
    results.push(base);
  });
  return { payloadType: p.payloadType, payload: p.payload, results, verifiedKeys: [...seen.values()] };
}

/**
 * Verify an envelope: at least `threshold` (default 1) distinct keys must verify. Returns the payload bytes to use.
 * Throws DSSE_INVALID (malformed), SIGNATURE_MISSING (no signatures), KEY_NOT_FOUND (no candidate key for any
 * signature) or SIGNATURE_INVALID (keys were found but too few verified).
 */
export function verifyDsse(envelope: unknown, resolveKeys: DsseKeyResolver, opts: { threshold?: number } = {}): DsseVerification {
  const threshold = opts.threshold ?? 1;
  if (!Number.isInteger(threshold) || threshold < 1) throw new EvidentError('INPUT_INVALID', 'threshold must be a positive integer');
  const v = checkDsse(envelope, resolveKeys);
  if (v.verifiedKeys.length >= threshold) return v;
  if (v.results.every((r) => r.status === 'no-key')) {
    throw new EvidentError('KEY_NOT_FOUND', 'no trusted key for any signature of the envelope');
  }
  throw new EvidentError(
    'SIGNATURE_INVALID',
    `${v.verifiedKeys.length} of ${threshold} required signature(s) verified (${v.results.length} present)`,
  );
}
