/**
 * Trust store model (pure, no I/O; files are read/written by `store/keyfiles.ts`).
 *
 * Format (JSON):
 *   {"version": 1, "keys": [{"kid", "alg", "jwk", "notBefore"?, "notAfter"?,
 *                            "revoked"?: true | false | {"at": RFC3339, "reason"?}, "label"?}]}
 *
 * - `kid` is unique. When it looks like a key id we compute ("sha256:" + 64 hex, or the SPKI hex of
 *   `keyId(..., 'spki-hex')`) it must match the JWK: "sha256:…" must equal the RFC 7638 thumbprint id or the
 *   ELI-style PEM id; other kids are free labels bound to the JWK by the store itself.
 * - `alg` is ed25519 | rs256 | es256 (JOSE names EdDSA/RS256/ES256 are accepted and normalised) and must match
 *   the JWK's key type.
 * - Times are RFC 3339 with an explicit offset (Z or ±hh:mm).
 *
 * Errors, and how surfaces map them (DEVELOPERS.md exit codes):
 * - TRUST_STORE_INVALID (malformed store) → exit 4 (key problem: no usable trust).
 * - KEY_NOT_FOUND / KEY_UNTRUSTED (kid or key not in the store) → exit 4.
 * - KEY_REVOKED / KEY_EXPIRED / KEY_NOT_YET_VALID → policy, exit 1: the key is known, the signature can be
 *   checked, but the policy refuses it. Reports should record them with category `policy`.
 *
 * Revocation: `revoked: true` revokes the key for every time; `revoked: {"at": T}` revokes it for times >= T.
 * The `at` argument of `resolve` must be a trusted time (verification time, or a time proven by a log/TSA), never
 * a time claimed by the artifact being verified.
 */
import type { JsonWebKey, KeyObject } from 'node:crypto';
import { EvidentError } from './errors.ts';
import { parseRfc3339 } from './time.ts';
import { parseJson, toPlain, type JsonValue } from './json/index.ts';
import { algOfKey, importPublicKey, keyId, publicKeyJwk, sigAlgFromName, spkiDer, toPublicKey, type SigAlg } from './keys.ts';
import { toHex } from './encoding.ts';
import { isDigest } from './digest.ts';

export const TRUST_STORE_VERSION = 1;
const MAX_KEYS = 10_000;
const MAX_LABEL = 1024;

export interface TrustRevocation {
  at: string;
  reason?: string;
}

export interface TrustEntry {
  kid: string;
  alg: SigAlg;
  jwk: JsonWebKey;
  notBefore?: string;
  notAfter?: string;
  revoked?: boolean | TrustRevocation;
  label?: string;
}

export type KeyStatus = 'valid' | 'revoked' | 'expired' | 'not-yet-valid';

export interface TrustAddMeta {
  kid?: string;
  label?: string;
  notBefore?: string | Date;
  notAfter?: string | Date;
}

/** A time inside a trust store: RFC 3339, or the store is invalid (TRUST_STORE_INVALID). */
function storeTime(s: unknown, what = 'time'): number {
  return parseRfc3339(s, what, 'TRUST_STORE_INVALID');
}

function toTimeString(t: string | Date, what: string): string {
  if (t instanceof Date) {
    if (Number.isNaN(t.getTime())) throw new EvidentError('INPUT_INVALID', `${what} is not a valid time`);
    return t.toISOString();
  }
  parseRfc3339(t, what);
  return t;
}

const SPKI_HEX = /^30[0-9a-f]{40,}$/;

function invalid(msg: string): never {
  throw new EvidentError('TRUST_STORE_INVALID', msg);
}

interface Slot {
  entry: TrustEntry;
  key: KeyObject;
  spki: string;
}

export class TrustStore {
  private readonly slots = new Map<string, Slot>();

  /** Parse and validate a trust store (JSON text/bytes, or an already parsed value). Throws TRUST_STORE_INVALID. */
  static parse(input: string | Uint8Array | JsonValue | Record<string, unknown>): TrustStore {
    let v: unknown;
    if (typeof input === 'string' || input instanceof Uint8Array) {
      try {
        v = toPlain(parseJson(input, { maxBytes: 16 * 1024 * 1024 }));
      } catch (e) {
        throw new EvidentError('TRUST_STORE_INVALID', `trust store is not valid JSON: ${(e as Error).message}`, { cause: e });
      }
    } else {
      v = toPlain(input as JsonValue);
    }
    if (!v || typeof v !== 'object' || Array.isArray(v)) invalid('trust store must be a JSON object');
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) if (k !== 'version' && k !== 'keys') invalid(`unknown trust store member ${JSON.stringify(k)}`);
    if (o.version !== TRUST_STORE_VERSION) invalid(`trust store version must be ${TRUST_STORE_VERSION}`);
    if (!Array.isArray(o.keys)) invalid('trust store "keys" must be an array');
    if (o.keys.length > MAX_KEYS) invalid(`trust store has more than ${MAX_KEYS} keys`);
    const ts = new TrustStore();
    o.keys.forEach((e, i) => ts.insert(parseEntry(e, i)));
    return ts;
  }

  /** An empty store. */
  static empty(): TrustStore {
    return new TrustStore();
  }

  private insert(slot: Slot): void {
    if (this.slots.has(slot.entry.kid)) invalid(`duplicate kid ${JSON.stringify(slot.entry.kid)}`);
    if (this.slots.size >= MAX_KEYS) invalid(`trust store has more than ${MAX_KEYS} keys`);
    this.slots.set(slot.entry.kid, slot);
  }

  /** All entries, in insertion order (copies). */
  keys(): TrustEntry[] {
    return [...this.slots.values()].map((s) => structuredClone(s.entry));
  }

  get size(): number {
    return this.slots.size;
  }

  has(kid: string): boolean {
    return this.slots.has(kid);
  }

  /** Entry by kid, regardless of status. */
  get(kid: string): TrustEntry | undefined {
    const s = this.slots.get(kid);
    return s ? structuredClone(s.entry) : undefined;
  }

  /** Status of an entry at a time (default now). */
  static status(entry: TrustEntry, at: Date = new Date()): KeyStatus {
    const t = at.getTime();
    if (entry.revoked === true) return 'revoked';
    if (entry.revoked && typeof entry.revoked === 'object' && t >= storeTime(entry.revoked.at)) return 'revoked';
    if (entry.notBefore !== undefined && t < storeTime(entry.notBefore)) return 'not-yet-valid';
    if (entry.notAfter !== undefined && t > storeTime(entry.notAfter)) return 'expired';
    return 'valid';
  }

  private check(slot: Slot, at: Date | undefined): { key: KeyObject; entry: TrustEntry } {
    const st = TrustStore.status(slot.entry, at);
    const kid = JSON.stringify(slot.entry.kid);
    if (st === 'revoked') {
      const r = slot.entry.revoked;
      const why = r && typeof r === 'object' ? ` at ${r.at}${r.reason ? ` (${r.reason})` : ''}` : '';
      throw new EvidentError('KEY_REVOKED', `key ${kid} is revoked${why}`);
    }
    if (st === 'expired') throw new EvidentError('KEY_EXPIRED', `key ${kid} expired at ${slot.entry.notAfter}`);
    if (st === 'not-yet-valid') throw new EvidentError('KEY_NOT_YET_VALID', `key ${kid} is not valid before ${slot.entry.notBefore}`);
    return { key: slot.key, entry: structuredClone(slot.entry) };
  }

  /**
   * The trusted key for a kid at time `at` (default now). Throws KEY_NOT_FOUND (exit 4), or KEY_REVOKED /
   * KEY_EXPIRED / KEY_NOT_YET_VALID (policy, exit 1).
   */
  resolve(kid: string, at?: Date): { key: KeyObject; entry: TrustEntry } {
    const slot = typeof kid === 'string' ? this.slots.get(kid) : undefined;
    if (!slot) throw new EvidentError('KEY_NOT_FOUND', `no key with kid ${JSON.stringify(kid)} in the trust store`);
    return this.check(slot, at);
  }

  /** The key object for a kid WITHOUT status checks (for reporting; use {@link resolve} to trust it). */
  resolveKeyUnchecked(kid: string): KeyObject {
    const slot = this.slots.get(kid);
    if (!slot) throw new EvidentError('KEY_NOT_FOUND', `no key with kid ${JSON.stringify(kid)} in the trust store`);
    return slot.key;
  }

  /**
   * The entry holding this public key (compared by SPKI bytes), or undefined. Status is not checked; when
   * several entries hold the key, one that is valid at `at` (default now) is preferred.
   */
  findByKey(key: KeyObject, at?: Date): TrustEntry | undefined {
    const s = this.findSlot(key, at);
    return s ? structuredClone(s.entry) : undefined;
  }

  /** Like {@link resolve} but by key: KEY_UNTRUSTED when the key is not in the store, else status errors. */
  resolveByKey(key: KeyObject, at?: Date): { key: KeyObject; entry: TrustEntry } {
    const s = this.findSlot(key, at);
    if (!s) throw new EvidentError('KEY_UNTRUSTED', 'the key is not in the trust store');
    return this.check(s, at);
  }

  private findSlot(key: KeyObject, at?: Date): Slot | undefined {
    let spki: string;
    try {
      spki = toHex(spkiDer(key));
    } catch {
      return undefined;
    }
    let first: Slot | undefined;
    for (const s of this.slots.values()) {
      if (s.spki !== spki) continue;
      if (TrustStore.status(s.entry, at) === 'valid') return s;
      first ??= s;
    }
    return first;
  }

  /** Add a public key. Default kid: the RFC 7638 "sha256:" id. Throws TRUST_STORE_INVALID on a duplicate kid. */
  add(key: KeyObject, meta: TrustAddMeta = {}): TrustEntry {
    const pub = toPublicKey(key);
    const alg = algOfKey(pub);
    const entry: TrustEntry = { kid: meta.kid ?? keyId(pub, 'jwk'), alg, jwk: publicKeyJwk(pub) };
    if (meta.notBefore !== undefined) entry.notBefore = toTimeString(meta.notBefore, 'notBefore');
    if (meta.notAfter !== undefined) entry.notAfter = toTimeString(meta.notAfter, 'notAfter');
    if (meta.label !== undefined) entry.label = meta.label;
    const slot = parseEntry(entry, this.slots.size);
    this.insert(slot);
    return structuredClone(slot.entry);
  }

  /** Mark a key revoked from `at` (default: for all times; with only a reason, `at` is the epoch). Throws KEY_NOT_FOUND. */
  revoke(kid: string, opts: { at?: string | Date; reason?: string } = {}): TrustEntry {
    const s = this.slots.get(kid);
    if (!s) throw new EvidentError('KEY_NOT_FOUND', `no key with kid ${JSON.stringify(kid)} in the trust store`);
    if (opts.at === undefined && opts.reason === undefined) s.entry.revoked = true;
    else {
      // a reason without a time still revokes for all times (the epoch as "at")
      const r: TrustRevocation = { at: opts.at === undefined ? '1970-01-01T00:00:00Z' : toTimeString(opts.at, 'revocation time') };
      if (opts.reason !== undefined) r.reason = opts.reason;
      s.entry.revoked = r;
    }
    return structuredClone(s.entry);
  }

  /** Remove a key; returns whether it was present. */
  remove(kid: string): boolean {
    return this.slots.delete(kid);
  }

  toJSON(): { version: number; keys: TrustEntry[] } {
    return { version: TRUST_STORE_VERSION, keys: this.keys() };
  }

  /** Pretty JSON text with a trailing newline, as written to disk. */
  serialize(): string {
    return JSON.stringify(this.toJSON(), null, 2) + '\n';
  }
}

const ENTRY_MEMBERS = new Set(['kid', 'alg', 'jwk', 'notBefore', 'notAfter', 'revoked', 'label']);

function parseEntry(e: unknown, i: number): Slot {
  const where = `keys[${i}]`;
  if (!e || typeof e !== 'object' || Array.isArray(e)) invalid(`${where} must be an object`);
  const o = e as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!ENTRY_MEMBERS.has(k)) invalid(`${where}: unknown member ${JSON.stringify(k)}`);
  if (typeof o.kid !== 'string' || o.kid.length === 0 || o.kid.length > MAX_LABEL) invalid(`${where}.kid must be a non-empty string`);
  const kid = o.kid;
  if (typeof o.alg !== 'string') invalid(`${where}.alg must be a string`);
  const alg = sigAlgFromName(o.alg);
  if (!alg) invalid(`${where}.alg ${JSON.stringify(o.alg)} is not ed25519, rs256 or es256`);
  if (!o.jwk || typeof o.jwk !== 'object' || Array.isArray(o.jwk)) invalid(`${where}.jwk must be an object`);
  if ('d' in (o.jwk as object)) invalid(`${where}.jwk contains a private key member "d"`);
  let key: KeyObject;
  try {
    key = importPublicKey(o.jwk as JsonWebKey);
  } catch (err) {
    invalid(`${where}.jwk: ${(err as Error).message}`);
  }
  const keyAlg = algOfKey(key);
  if (keyAlg !== alg) invalid(`${where}: alg ${alg} does not match the ${keyAlg} key`);
  if (isDigest(kid)) {
    if (kid !== keyId(key, 'jwk') && kid !== keyId(key, 'pem-sha256')) {
      invalid(`${where}: kid ${kid} does not match the JWK (neither its RFC 7638 thumbprint nor its SPKI PEM sha256)`);
    }
  } else if (SPKI_HEX.test(kid) && kid !== keyId(key, 'spki-hex')) {
    invalid(`${where}: kid looks like an SPKI hex key id but does not match the JWK`);
  }
  const entry: TrustEntry = { kid, alg, jwk: publicKeyJwk(key) };
  const jwkIn = o.jwk as Record<string, unknown>;
  for (const m of ['kid', 'alg', 'use'] as const) {
    if (typeof jwkIn[m] === 'string') (entry.jwk as Record<string, unknown>)[m] = jwkIn[m];
  }
  if (o.notBefore !== undefined) {
    storeTime(o.notBefore, `${where}.notBefore`);
    entry.notBefore = o.notBefore as string;
  }
  if (o.notAfter !== undefined) {
    storeTime(o.notAfter, `${where}.notAfter`);
    entry.notAfter = o.notAfter as string;
  }
  if (entry.notBefore && entry.notAfter && storeTime(entry.notBefore) > storeTime(entry.notAfter)) {
    invalid(`${where}: notBefore is after notAfter`);
  }
  if (o.revoked !== undefined) {
    if (typeof o.revoked === 'boolean') {
      if (o.revoked) entry.revoked = true;
    } else if (o.revoked && typeof o.revoked === 'object' && !Array.isArray(o.revoked)) {
      const r = o.revoked as Record<string, unknown>;
      for (const k of Object.keys(r)) if (k !== 'at' && k !== 'reason') invalid(`${where}.revoked: unknown member ${JSON.stringify(k)}`);
      storeTime(r.at, `${where}.revoked.at`);
      const rev: TrustRevocation = { at: r.at as string };
      if (r.reason !== undefined) {
        if (typeof r.reason !== 'string' || r.reason.length > MAX_LABEL) invalid(`${where}.revoked.reason must be a string`);
        rev.reason = r.reason;
      }
      entry.revoked = rev;
    } else invalid(`${where}.revoked must be a boolean or {"at", "reason"?}`);
  }
  if (o.label !== undefined) {
    if (typeof o.label !== 'string' || o.label.length > MAX_LABEL) invalid(`${where}.label must be a string`);
    entry.label = o.label;
  }
  return { entry, key, spki: toHex(spkiDer(key)) };
}
