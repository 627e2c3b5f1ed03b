/**
 * WCP package verification (`PackageAttestationVerifier.verify()`, spec §A.3) with the upstream deny order:
 *
 * 1. manifest missing / unreadable / not a JSON object → ATTEST_MANIFEST_MISSING (input, exit 10)
 * 2. worker_id / worker_species_id ≠ expected          → ATTEST_MANIFEST_ID_MISMATCH (policy, exit 1)
 * 3. recomputed package hash ≠ package_hash            → ATTEST_HASH_MISMATCH (integrity, exit 2)
 * 4. signature empty                                    → ATTEST_SIGNATURE_MISSING (signature, exit 3)
 *    HMAC secret not available                          → ATTEST_SIGNATURE_MISSING (key, exit 4)
 * 5. HMAC mismatch (exact lowercase hex, constant time) → ATTEST_SIG_INVALID (signature, exit 3)
 * 6. worker_id has no x./org. namespace                 → ATTEST_NAMESPACE_INVALID (policy; Python raises here)
 * 7. package hash on the ban list                       → ATTEST_BANNED_HASH (policy, ours)
 * Strict mode refuses, right after the hash matched, a tree the hash cannot vouch for: code it excludes but Python
 * runs (`*.pyc`, `__pycache__/` → WCP_UNHASHED_CODE) and names with control characters (→ WCP_NAME_INVALID), both
 * integrity (exit 2); compat keeps the upstream verdict and warns.
 * The first deny stops the upstream checks (one deny code, as upstream). Strict mode then adds: the optional
 * `signature_ed25519` over the whole manifest (pinned --key / --trust), and a consistency check of the
 * unsigned `trust_statement`; without an Ed25519 signature `attested_at_utc`/`trust_statement` are reported as
 * unauthenticated.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { KeyObject } from 'node:crypto';
import { EvidentError } from '../../kernel/errors.ts';
import { isJsonObject, parseJson, toPlain, type JsonObject } from '../../kernel/json/index.ts';
import { algOfKey, keyId } from '../../kernel/keys.ts';
import { TrustStore } from '../../kernel/truststore.ts';
import { loadPublicKey, loadTrustStore } from '../../store/keyfiles.ts';
import { Report, type Mode } from '../../verify/report.ts';
import { canonicalPackageHash, type PackageHashOptions, type PackageHazard, type PackageOrder } from './package-hash.ts';
import { DEFAULT_HMAC_ENV, MANIFEST_FILE, deriveNamespace, trustStatement, verifyEd25519, verifyManifestHmac } from './manifest.ts';

export const FORMAT = 'wcp.package';
export const MAX_MANIFEST_BYTES = 1024 * 1024;
export const MAX_BAN_LIST_BYTES = 16 * 1024 * 1024;

export interface WcpVerifyOptions {
  mode: Mode;
  workerId?: string;
  species?: string;
  /** HMAC secret; undefined = not configured (→ ATTEST_SIGNATURE_MISSING). */
  secret?: string;
  order?: PackageOrder;
  /** Banned package hashes (64 lowercase hex). */
  banned?: ReadonlySet<string>;
  /** Pinned Ed25519 public key files / inline PEM, and/or a trust store file. */
  keys?: string[];
  trust?: string;
  now?: Date;
  onProgress?: PackageHashOptions['onProgress'];
}

function errCode(e: unknown, fallback: string): string {
  return (e as { code?: string })?.code ?? fallback;
}

/** Parse a ban list: a JSON array of hashes (hex or `sha256:`hex) or of registry entries `{sha256, …}`, or an
 * object holding such an array under `ban_list`, `items` or `banned`. Returns normalised 64-hex strings. */
export function parseBanList(bytes: Uint8Array | string): Set<string> {
  const v = toPlain(parseJson(bytes, { maxBytes: MAX_BAN_LIST_BYTES, maxDepth: 16 }));
  let arr: unknown = v;
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    arr = o.ban_list ?? o.items ?? o.banned;
  }
  if (!Array.isArray(arr)) throw new EvidentError('INPUT_INVALID', 'ban list must be a JSON array (or an object with ban_list/items/banned)');
  const out = new Set<string>();
  for (const e of arr) {
    const raw = typeof e === 'string' ? e : e && typeof e === 'object' ? (e as Record<string, unknown>).sha256 ?? (e as Record<string, unknown>).hash : undefined;
    if (typeof raw !== 'string') throw new EvidentError('INPUT_INVALID', 'ban list entries must be hash strings or objects with "sha256"');
    const h = raw.startsWith('sha256:') ? raw.slice(7) : raw;
    if (!/^[0-9a-fA-F]{64}$/.test(h)) throw new EvidentError('INPUT_INVALID', `ban list entry is not a SHA-256 hash: ${JSON.stringify(raw).slice(0, 80)}`);
    out.add(h.toLowerCase());
  }
  return out;
}

export function loadBanList(file: string): Set<string> {
  let bytes: Buffer;
  try {
    const st = fs.statSync(file);
    if (st.size > MAX_BAN_LIST_BYTES) throw new EvidentError('INPUT_INVALID', `ban list larger than ${MAX_BAN_LIST_BYTES} bytes`);
    bytes = fs.readFileSync(file);
  } catch (e) {
    if (e instanceof EvidentError) throw e;
    throw new EvidentError('IO_ERROR', `cannot read ban list ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseBanList(bytes);
}

/** Read and parse `manifest.json`; undefined + reason when missing/unreadable/not an object. */
export function readManifest(root: string, mode: Mode): { manifest?: JsonObject; error?: string } {
  const file = path.join(root, MANIFEST_FILE);
  let bytes: Buffer;
  try {
    const st = fs.lstatSync(file);
    if (!st.isFile()) return { error: `${MANIFEST_FILE} is not a regular file` };
    if (st.size > MAX_MANIFEST_BYTES) return { error: `${MANIFEST_FILE} larger than ${MAX_MANIFEST_BYTES} bytes` };
    bytes = fs.readFileSync(file);
  } catch (e) {
    return { error: `cannot read ${MANIFEST_FILE}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
  }
  try {
    const v = parseJson(bytes, { duplicateKeys: mode === 'strict' ? 'reject' : 'last-wins', maxBytes: MAX_MANIFEST_BYTES, maxDepth: 32 });
    if (!isJsonObject(v)) return { error: `${MANIFEST_FILE} is not a JSON object` };
    return { manifest: v };
  } catch (e) {
    return { error: `${MANIFEST_FILE} is not valid JSON (${errCode(e, 'JSON_SYNTAX')}): ${(e as Error).message}` };
  }
}

/** Verify a WCP package directory. Never throws for bad input; returns the report. */
export async function verifyPackage(root: string, opts: WcpVerifyOptions): Promise<Report> {
  const report = new Report(FORMAT, opts.mode);
  const strict = opts.mode === 'strict';

  // 1. manifest
  const { manifest: m, error } = readManifest(root, opts.mode);
  if (!m) return report.fail('manifest', 'input', 'ATTEST_MANIFEST_MISSING', error ?? 'manifest missing');
  report.pass('manifest', `${MANIFEST_FILE} read`);

  // 2. identity
  let workerId = opts.workerId;
  let species = opts.species;
  if (workerId === undefined || species === undefined || workerId === '' || species === '') {
    if (strict) return report.fail('identity', 'input', 'WCP_IDENTITY_REQUIRED', 'the expected --worker-id and --species must be given (never taken from the manifest itself)');
    // compat: the deleted upstream `hall attest verify` filled missing identity from the manifest
    workerId ||= typeof m.worker_id === 'string' ? m.worker_id : '';
    species ||= typeof m.worker_species_id === 'string' ? m.worker_species_id : '';
    report.warn('identity.source', 'WCP_IDENTITY_FROM_MANIFEST', 'expected identity taken from the manifest itself (compat): the identity check proves nothing');
  }
  if (m.worker_id !== workerId || m.worker_species_id !== species) {
    return report.fail('identity', 'policy', 'ATTEST_MANIFEST_ID_MISMATCH', 'manifest worker_id / worker_species_id do not match the expected identity', {
      expected: `${workerId} / ${species}`,
      actual: `${String(toPlain(m.worker_id ?? null))} / ${String(toPlain(m.worker_species_id ?? null))}`,
    });
  }
  report.pass('identity', 'worker identity matches', { actual: `${workerId} / ${species}` });

  // 3. package hash
  const claimed = m.package_hash;
  let actual: string;
  let hazards: PackageHazard[];
  try {
    ({ hash: actual, hazards } = await canonicalPackageHash(root, { order: opts.order ?? 'python', symlinks: strict ? 'reject' : 'follow-inside', onProgress: opts.onProgress }));
  } catch (e) {
    const code = errCode(e, 'IO_ERROR');
    const cat = code === 'WCP_FILE_CHANGED' ? 'integrity' : 'input';
    return report.fail('package_hash', cat, code, (e as Error).message);
  }
  if (typeof claimed !== 'string' || claimed === '' || claimed !== actual) {
    return report.fail('package_hash', 'integrity', 'ATTEST_HASH_MISMATCH', 'package hash does not match the manifest', {
      expected: typeof claimed === 'string' ? claimed : String(toPlain(claimed ?? null)),
      actual,
    });
  }
  report.pass('package_hash', 'package hash matches', { actual });
  // 3b. what the hash cannot vouch for: strict refuses it, compat keeps upstream's verdict and warns
  if (treeChecks(report, hazards, strict)) return report;

  // 4./5. HMAC
  const sig = m.signature_hmac_sha256;
  if (typeof sig !== 'string' || sig === '') return report.fail('signature_hmac_sha256', 'signature', 'ATTEST_SIGNATURE_MISSING', 'manifest has no signature_hmac_sha256');
  if (opts.secret === undefined || opts.secret === '') {
    return report.fail('signature_hmac_sha256', 'key', 'ATTEST_SIGNATURE_MISSING', 'no HMAC secret configured (set the secret environment variable)');
  }
  if (!verifyManifestHmac(m, opts.secret)) return report.fail('signature_hmac_sha256', 'signature', 'ATTEST_SIG_INVALID', 'HMAC-SHA256 signature does not verify (exact lowercase hex required)');
  report.pass('signature_hmac_sha256', 'HMAC-SHA256 over the 7 signed fields verifies');

  // 6. namespace
  let ns: string;
  try {
    ns = deriveNamespace(m.worker_id);
  } catch (e) {
    return report.fail('namespace', 'policy', 'ATTEST_NAMESPACE_INVALID', (e as Error).message);
  }
  report.pass('namespace', `namespace ${ns}`, { actual: ns });

  // 7. ban list
  if (opts.banned) {
    if (opts.banned.has(actual)) return report.fail('ban_list', 'policy', 'ATTEST_BANNED_HASH', 'package hash is on the ban list', { actual });
    report.pass('ban_list', `package hash not on the ban list (${opts.banned.size} entries)`);
  }

  if (strict) strictExtras(report, m, ns, opts);
  return report;
}

/**
 * Package-tree hazards (package-hash.ts PackageHazard): code the hash excludes but Python runs (`*.pyc`,
 * `__pycache__/`) → WCP_UNHASHED_CODE (integrity, exit 2); names with control characters, which make the hash input
 * ambiguous → WCP_NAME_INVALID (integrity, exit 2). Strict: failures (returns true); compat: warnings.
 */
function treeChecks(report: Report, hazards: PackageHazard[], strict: boolean): boolean {
  const code = hazards.filter((h) => h.kind === 'unhashed-code').map((h) => h.rel);
  const names = hazards.filter((h) => h.kind === 'control-name').map((h) => h.rel);
  const list = (a: string[]) => a.slice(0, 5).join(', ') + (a.length > 5 ? ', …' : '');
  const findings: Array<[string, string, string]> = [];
  if (code.length) findings.push(['package_tree.unhashed_code', 'WCP_UNHASHED_CODE', `the package holds code the package hash does not cover but Python would run (${list(code)}): remove *.pyc and __pycache__/ before signing`]);
  if (names.length) findings.push(['package_tree.names', 'WCP_NAME_INVALID', `file or directory names with control characters make the package hash ambiguous (another tree can share it): ${list(names)}`]);
  for (const [id, c, msg] of findings) {
    if (strict) report.fail(id, 'integrity', c, msg);
    else report.warn(id, c, `${msg} (compat keeps the upstream verdict)`);
  }
  if (!findings.length) report.pass('package_tree', 'no unhashed code (*.pyc, __pycache__/) and no control characters in names');
  return strict && findings.length > 0;
}

function loadEdKeys(report: Report, opts: WcpVerifyOptions): { keys: KeyObject[]; store?: TrustStore; ok: boolean } {
  const keys: KeyObject[] = [];
  let store: TrustStore | undefined;
  let ok = true;
  for (const k of opts.keys ?? []) {
    try {
      keys.push(loadPublicKey(k, 'ed25519'));
    } catch (e) {
      ok = false;
      report.fail('key.load', 'key', errCode(e, 'KEY_INVALID'), (e as Error).message);
    }
  }
  if (opts.trust) {
    try {
      store = loadTrustStore(opts.trust);
      for (const e of store.keys()) keys.push(store.resolveKeyUnchecked(e.kid));
    } catch (e) {
      ok = false;
      report.fail('key.trust', 'key', errCode(e, 'TRUST_STORE_INVALID'), (e as Error).message);
    }
  }
  return { keys: keys.filter((k) => algOfKey(k) === 'ed25519'), store, ok };
}

function strictExtras(report: Report, m: JsonObject, ns: string, opts: WcpVerifyOptions): void {
  const hasEd = m.signature_ed25519 !== undefined;
  const wantKey = (opts.keys?.length ?? 0) > 0 || opts.trust !== undefined;
  if (hasEd || wantKey) {
    const { keys, store, ok } = loadEdKeys(report, opts);
    if (!ok) return;
    if (!hasEd) {
      report.fail('signature_ed25519', 'signature', 'WCP_ED25519_MISSING', 'a key was pinned but the manifest has no signature_ed25519');
      return;
    }
    if (keys.length === 0) {
      report.fail('signature_ed25519', 'key', 'KEY_MISSING', 'manifest has signature_ed25519 but no Ed25519 key was given (--key or --trust)');
      return;
    }
    const good = keys.find((k) => verifyEd25519(m, k));
    if (!good) {
      report.fail('signature_ed25519', 'signature', 'WCP_ED25519_INVALID', 'signature_ed25519 does not verify: the manifest (including attested_at_utc / trust_statement) was changed or signed by another key');
      return;
    }
    report.pass('signature_ed25519', `Ed25519 signature over the whole manifest verifies (key ${keyId(good)})`);
    if (store) {
      const entry = store.findByKey(good, opts.now);
      if (entry) {
        const st = TrustStore.status(entry, opts.now);
        if (st !== 'valid') report.fail('signature_ed25519.policy', 'policy', st === 'revoked' ? 'KEY_REVOKED' : st === 'expired' ? 'KEY_EXPIRED' : 'KEY_NOT_YET_VALID', `key ${entry.kid} is ${st} in the trust store`);
      }
    }
  } else {
    report.warn('unsigned_fields', 'WCP_UNSIGNED_FIELDS', 'attested_at_utc and trust_statement are not covered by the HMAC (no signature_ed25519): treat them as unauthenticated');
  }
  const expectTs = typeof m.built_at_utc === 'string' && typeof m.package_hash === 'string' ? trustStatement(ns, m.built_at_utc, m.package_hash) : undefined;
  if (expectTs !== undefined && m.trust_statement === expectTs) report.pass('trust_statement', 'trust statement consistent with the signed fields');
  else report.fail('trust_statement', 'integrity', 'WCP_TRUST_STATEMENT_MISMATCH', 'trust_statement does not match the signed fields (unsigned field edited)', { expected: expectTs, actual: typeof m.trust_statement === 'string' ? m.trust_statement : undefined });
}

/** Secret from an environment variable (default WCP_ATTEST_HMAC_KEY); undefined when unset or empty. */
export function secretFromEnv(name: string = DEFAULT_HMAC_ENV): string | undefined {
  const v = process.env[name];
  return v === undefined || v === '' ? undefined : v;
}
