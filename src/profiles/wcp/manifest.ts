/**
 * WCP manifest, schema `awp.v1` (spec wcp-eli-cphar.md §A.2).
 *
 * - HMAC-SHA256 (key = UTF-8 secret) over the Python `json.dumps(sort_keys=True, separators=(",",":"))` form
 *   (ensure_ascii=True) of exactly 7 members; a missing member is `null`.
 * - File form: `json.dumps(indent=2, sort_keys=True)` + `\n`, ASCII-escaped.
 * - Trust statement: `Package attested by namespace <ns> at <built_at>; package hash sha256:<hash>.` with the
 *   namespace derived from worker_id (`x.<name>.…` → `x.<name>`, `org.<name>.…` → `org.<name>`).
 * - Evident extension (strict): optional `signature_ed25519` (base64) + `signature_ed25519_kid` over the Python
 *   ensure_ascii canonical form of the whole manifest minus every `signature_*` member, so the fields upstream
 *   leaves unsigned (`attested_at_utc`, `trust_statement`) are authenticated too. Upstream verifiers ignore them.
 */
import type { KeyObject } from 'node:crypto';
import { EvidentError } from '../../kernel/errors.ts';
import { canonicalizePython, isJsonObject, type JsonObject, type JsonValue } from '../../kernel/json/index.ts';
import { hmacSha256, sign, verify, verifyHmacSha256 } from '../../kernel/sign.ts';
import { toHex, toBase64, parseBase64, parseHex } from '../../kernel/encoding.ts';
import { keyId } from '../../kernel/keys.ts';

export const SCHEMA_VERSION = 'awp.v1';
export const MANIFEST_FILE = 'manifest.json';
export const DEFAULT_HMAC_ENV = 'WCP_ATTEST_HMAC_KEY';
export const SIGNED_FIELDS = ['schema_version', 'worker_id', 'worker_species_id', 'worker_version', 'package_hash', 'built_at_utc', 'build_source'] as const;

export interface ManifestInputs {
  workerId: string;
  species: string;
  version: string;
  packageHash: string;
  /** Build time; rendered `YYYY-MM-DDTHH:MM:SSZ`. */
  builtAt: Date | string;
  buildSource?: string;
  secret: string | Uint8Array;
  /** Optional Ed25519 private key for the strict whole-manifest signature. */
  ed25519?: KeyObject;
}

/** `YYYY-MM-DDTHH:MM:SSZ` (UTC, second precision). */
export function formatUtcSeconds(d: Date): string {
  if (Number.isNaN(d.getTime())) throw new EvidentError('INPUT_INVALID', 'invalid time');
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Namespace from worker_id (`x.<name>` / `org.<name>`); throws ATTEST_NAMESPACE_INVALID otherwise. */
export function deriveNamespace(workerId: unknown): string {
  if (typeof workerId === 'string') {
    const parts = workerId.split('.');
    if ((parts[0] === 'x' || parts[0] === 'org') && parts.length >= 2 && parts[1] !== '') return `${parts[0]}.${parts[1]}`;
  }
  throw new EvidentError('ATTEST_NAMESPACE_INVALID', `cannot derive tenant namespace from worker_id ${JSON.stringify(workerId)}: worker ids must start with x.<name>. or org.<name>.`);
}

export function trustStatement(namespace: string, builtAt: string, packageHash: string): string {
  return `Package attested by namespace ${namespace} at ${builtAt}; package hash sha256:${packageHash}.`;
}

/** The exact HMAC input (string; UTF-8 encode to sign). */
export function signingPayload(manifest: Record<string, unknown> | JsonObject): string {
  const o: Record<string, unknown> = {};
  for (const k of SIGNED_FIELDS) o[k] = Object.prototype.hasOwnProperty.call(manifest, k) ? (manifest as Record<string, unknown>)[k] : null;
  return canonicalizePython(o, { ensureAscii: true });
}

export function hmacHex(secret: string | Uint8Array, payload: string): string {
  return toHex(hmacSha256(secret, payload));
}

const LOWER_HEX_64 = /^[0-9a-f]{64}$/;

/**
 * True when `signature_hmac_sha256` is exactly 64 lowercase hex and the HMAC-SHA256 of the signing payload under
 * `secret` (UTF-8) equals it, compared in constant time. A malformed value still costs one HMAC (no timing hint).
 */
export function verifyManifestHmac(manifest: Record<string, unknown> | JsonObject, secret: string): boolean {
  const sig = (manifest as Record<string, unknown>).signature_hmac_sha256;
  const payload = signingPayload(manifest);
  if (typeof sig !== 'string' || !LOWER_HEX_64.test(sig)) {
    verifyHmacSha256(secret, payload, new Uint8Array(0));
    return false;
  }
  return verifyHmacSha256(secret, payload, parseHex(sig));
}

/** On-disk form: Python `json.dumps(indent=2, sort_keys=True)` + newline (ensure_ascii). */
export function manifestFileText(manifest: unknown): string {
  return canonicalizePython(manifest, { ensureAscii: true, indent: 2 }) + '\n';
}

/** Bytes covered by `signature_ed25519`: the canonical manifest without any `signature_*` member. */
export function ed25519Payload(manifest: Record<string, unknown> | JsonObject): string {
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(manifest)) if (!k.startsWith('signature_')) o[k] = v;
  return canonicalizePython(o, { ensureAscii: true });
}

export function signEd25519(manifest: Record<string, unknown>, key: KeyObject): Record<string, unknown> {
  const sig = sign(key, ed25519Payload(manifest));
  return { ...manifest, signature_ed25519: toBase64(sig), signature_ed25519_kid: keyId(key) };
}

export function verifyEd25519(manifest: JsonObject, key: KeyObject): boolean {
  const s = manifest.signature_ed25519;
  if (typeof s !== 'string') return false;
  let sig: Uint8Array;
  try {
    sig = parseBase64(s);
  } catch {
    return false;
  }
  return verify(key, ed25519Payload(manifest), sig);
}

/** `build_manifest`: the manifest object (field order as upstream builds it). */
export function buildManifest(inp: ManifestInputs): Record<string, unknown> {
  for (const [k, v] of Object.entries({ workerId: inp.workerId, species: inp.species, version: inp.version })) {
    if (typeof v !== 'string' || v === '') throw new EvidentError('INPUT_INVALID', `${k} is required`);
  }
  if (!/^[0-9a-f]{64}$/.test(inp.packageHash)) throw new EvidentError('INPUT_INVALID', 'package hash must be 64 lowercase hex');
  const ns = deriveNamespace(inp.workerId);
  const built = typeof inp.builtAt === 'string' ? inp.builtAt : formatUtcSeconds(inp.builtAt);
  const m: Record<string, unknown> = {
    schema_version: SCHEMA_VERSION,
    worker_id: inp.workerId,
    worker_species_id: inp.species,
    worker_version: inp.version,
    package_hash: inp.packageHash,
    built_at_utc: built,
    attested_at_utc: built,
    build_source: inp.buildSource ?? 'local',
    trust_statement: trustStatement(ns, built, inp.packageHash),
  };
  m.signature_hmac_sha256 = hmacHex(inp.secret, signingPayload(m));
  return inp.ed25519 ? signEd25519(m, inp.ed25519) : m;
}

export function asManifestObject(v: JsonValue): JsonObject | undefined {
  return isJsonObject(v) ? v : undefined;
}
