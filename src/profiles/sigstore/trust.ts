/**
 * Trust for Sigstore verification: a Sigstore `TrustedRoot` (protobuf-specs `dev.sigstore.trustroot.v1`, JSON) and
 * pinned public keys (`--key`, managed-key bundles). Nothing here comes from the bundle or the network.
 *
 * The root is validated before use, stricter than `@sigstore/verify`'s `toTrustMaterial` (which treats a missing
 * `validFor` bound as "beginning of time"): every tlog / CT log key, CA and TSA needs `validFor.start` (RFC 3339);
 * `end` is optional (open) and inclusive; key and certificate bytes must be base64 and parse. Failures throw
 * {@link TrustRootError} (key category, exit 4).
 */
import { createPublicKey, type JsonWebKey, type KeyObject } from '../../kernel/crypto/index.ts';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { X509Certificate } from '@sigstore/core';
import { toTrustMaterial, type TrustMaterial } from '@sigstore/verify';
import { parseRfc3339 } from '../../kernel/time.ts';
import { readKeyText } from '../../store/keyfiles.ts';

export const TRUSTED_ROOT_MEDIA_TYPE_PREFIX = 'application/vnd.dev.sigstore.trustedroot';
const MAX_ROOT_BYTES = 4 * 1024 * 1024;
const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;

export class TrustRootError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'TrustRootError';
  }
}

export interface SigstoreTrust {
  root: TrustedRoot;
  material: TrustMaterial;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function bad(msg: string): never {
  throw new TrustRootError('TRUST_ROOT_INVALID', msg);
}

function checkRange(v: unknown, where: string): void {
  if (!isObj(v)) bad(`${where}.validFor is missing (a trust-root validity window needs a start)`);
  if (v.start === undefined || v.start === null) bad(`${where}.validFor.start is missing`);
  const start = parseRange(v.start, `${where}.validFor.start`);
  if (v.end !== undefined && v.end !== null && parseRange(v.end, `${where}.validFor.end`) < start) bad(`${where}.validFor ends before it starts`);
}

function parseRange(s: unknown, where: string): number {
  try {
    return parseRfc3339(s, where, 'TRUST_ROOT_INVALID');
  } catch (e) {
    return bad((e as Error).message);
  }
}

function checkBytes(v: unknown, where: string): Buffer {
  if (typeof v !== 'string' || v.length === 0 || !B64.test(v)) bad(`${where} is not base64`);
  return Buffer.from(v, 'base64');
}

function checkTlog(t: unknown, where: string): void {
  if (!isObj(t)) bad(`${where} must be an object`);
  if (typeof t.baseUrl !== 'string') bad(`${where}.baseUrl is missing`);
  const pk = t.publicKey;
  if (!isObj(pk)) bad(`${where}.publicKey is missing`);
  checkBytes(pk.rawBytes, `${where}.publicKey.rawBytes`);
  checkRange(pk.validFor, `${where}.publicKey`);
  if (!isObj(t.logId)) bad(`${where}.logId is missing`);
  checkBytes(t.logId.keyId, `${where}.logId.keyId`);
}

function checkCa(c: unknown, where: string): void {
  if (!isObj(c)) bad(`${where} must be an object`);
  const chain = c.certChain;
  if (!isObj(chain) || !Array.isArray(chain.certificates) || chain.certificates.length === 0) bad(`${where}.certChain.certificates is empty`);
  chain.certificates.forEach((x, i) => {
    const der = checkBytes(isObj(x) ? x.rawBytes : undefined, `${where}.certChain.certificates[${i}].rawBytes`);
    try {
      X509Certificate.parse(der as Buffer<ArrayBuffer>);
    } catch (e) {
      bad(`${where}.certChain.certificates[${i}] is not a DER certificate: ${(e as Error).message}`);
    }
  });
  checkRange(c.validFor, where);
}

/** Validate a TrustedRoot JSON object and build the trust material. Throws {@link TrustRootError}. */
export function trustFromJson(json: unknown): SigstoreTrust {
  if (!isObj(json)) bad('a trusted root is a JSON object');
  if (typeof json.mediaType !== 'string' || !json.mediaType.startsWith(TRUSTED_ROOT_MEDIA_TYPE_PREFIX)) {
    bad(`trusted root mediaType must start with ${TRUSTED_ROOT_MEDIA_TYPE_PREFIX}`);
  }
  for (const k of ['tlogs', 'ctlogs', 'certificateAuthorities', 'timestampAuthorities'] as const) {
    if (json[k] !== undefined && !Array.isArray(json[k])) bad(`${k} must be an array`);
  }
  ((json.tlogs as unknown[]) ?? []).forEach((t, i) => checkTlog(t, `tlogs[${i}]`));
  ((json.ctlogs as unknown[]) ?? []).forEach((t, i) => checkTlog(t, `ctlogs[${i}]`));
  ((json.certificateAuthorities as unknown[]) ?? []).forEach((c, i) => checkCa(c, `certificateAuthorities[${i}]`));
  ((json.timestampAuthorities as unknown[]) ?? []).forEach((c, i) => checkCa(c, `timestampAuthorities[${i}]`));
  try {
    const root = TrustedRoot.fromJSON(json);
    return { root, material: toTrustMaterial(root) };
  } catch (e) {
    return bad(`trusted root: ${(e as Error).message}`);
  }
}

/**
 * Validated roots by content (JSON text) and by object: a service or a batch verifying many bundles against the
 * same root validates and parses its certificates once. Content-keyed, so a changed file is a new entry.
 */
const byText = new Map<string, SigstoreTrust>();
const byObject = new WeakMap<object, SigstoreTrust>();
const MAX_CACHED = 16;

function cachedText(text: string): SigstoreTrust {
  const hit = byText.get(text);
  if (hit) return hit;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    bad(`trusted root is not JSON: ${(e as Error).message}`);
  }
  const t = trustFromJson(json);
  if (byText.size >= MAX_CACHED) byText.delete(byText.keys().next().value!);
  byText.set(text, t);
  return t;
}

/** Load a trusted root from a file path, a JSON string or an already parsed object. */
export function loadTrust(spec: unknown): SigstoreTrust {
  if (typeof spec === 'string') {
    if (spec.trimStart().startsWith('{')) return cachedText(spec);
    let text: string;
    try {
      text = readKeyText(spec, 'trusted root', MAX_ROOT_BYTES);
    } catch (e) {
      throw new TrustRootError('TRUST_ROOT_UNREADABLE', (e as Error).message);
    }
    return cachedText(text);
  }
  if (typeof spec === 'object' && spec !== null) {
    const hit = byObject.get(spec);
    if (hit) return hit;
    const t = trustFromJson(spec);
    byObject.set(spec, t);
    return t;
  }
  return trustFromJson(spec);
}

/** Load a pinned public key (file path, inline PEM or JWK). Any key type Node reads (ECDSA P-256/384, RSA, Ed25519). */
export function loadSigstoreKey(spec: string): KeyObject {
  const text = spec.includes('-----BEGIN ') || spec.trimStart().startsWith('{') ? spec : readKeyText(spec);
  if (text.trimStart().startsWith('{')) return createPublicKey({ key: JSON.parse(text) as JsonWebKey, format: 'jwk' });
  return createPublicKey(text);
}
