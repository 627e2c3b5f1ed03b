/**
 * ELI-Sentinel packet verification (spec §B.5), in two modes:
 *
 * - `compat`: the verdicts and exit codes of upstream `tools/eli_verify.py` — schema (exit 10) → HALO (2, wins over
 *   a bad signature) → signature (3); key problems 4. The key is the one given (`--jwk`) or fetched from
 *   `--keys-url` by the packet's own key_id (no pinning, as upstream). Python `json.loads` semantics (duplicate
 *   keys: last wins). The upstream `--json` object is reproduced in {@link EliVerification.upstream}.
 * - `strict` (default): keys only from --jwk / --key / the trust store, or from --keys-url when the kid is pinned
 *   (`pinKids`) and the fetched key hashes to it; alg must be RS256; strict base64; duplicate keys rejected;
 *   RFC 3339 timestamps; `sha256:no_policy` reported as "no policy"; top-level fields covered by neither HALO nor
 *   the signature reported as unauthenticated.
 *
 * Strict mode unwraps a `POST /v1/ai/call` response `{…, "receipt": packet}` by default; compat does not (upstream
 * exits 10 on it) unless `unwrap: true` is passed. Compat parses as Python's `json.load` does (NaN, Infinity, lone
 * surrogate escapes; see kernel/json/pyjson.ts) and decodes `signature_b64` as `base64.b64decode` does. The clinical variant (CDIL: `halo.blocks[]`, ECDSA P-256) is verified by
 * {@link verifyCdilPacket}.
 */
import type { KeyObject } from 'node:crypto';
import { EvidentError } from '../../kernel/errors.ts';
import { isJsonObject, type JsonObject, type JsonValue } from '../../kernel/json/index.ts';
import { algOfKey, importPublicKey } from '../../kernel/keys.ts';
import { verify as verifySig } from '../../kernel/sign.ts';
import { parseBase64 } from '../../kernel/encoding.ts';
import { isDigest } from '../../kernel/digest.ts';
import { TrustStore, type TrustEntry } from '../../kernel/truststore.ts';
import { parseRfc3339 } from '../../kernel/time.ts';
import { loadPublicKey, loadTrustStore, readKeyText } from '../../store/keyfiles.ts';
import { Report, type Mode } from '../../verify/report.ts';
import { parseEliJson, c14nHash, jsonC14nV1Bytes, hasNoEscapes, ELI_MAX_BYTES, ELI_MAX_DEPTH } from './c14n.ts';
import { parsePythonJsonFast } from '../../kernel/json/pyjson.ts';
import { PythonError, pythonB64decode, pythonC14nError } from './pycompat.ts';
import { HALO_BLOCKS, HALO_BLOCK_FIELDS, HALO_FIELDS, checkHaloChain, getField } from './halo.ts';
import { ELI_SIG_ALG, eliKeyId, signedMessage, signedMessageBytes } from './sign.ts';
import { NO_POLICY_HASH } from './issue.ts';

export const ELI_FORMAT = 'eli.packet';
export const CDIL_FORMAT = 'eli.cdil';

/** Required top-level members (upstream schema check, in upstream order). */
export const REQUIRED_FIELDS = ['transaction_id', 'gateway_timestamp_utc', 'environment', 'client_id', 'halo_chain'] as const;

/** Members authenticated by HALO or the signature, plus the two structural ones. */
const COVERED = new Set<string>([...HALO_FIELDS, 'transaction_id', 'gateway_timestamp_utc', 'client_key_fingerprint', 'halo_chain', 'verification']);

const HALO_CHECK_IDS = HALO_BLOCKS.map((b) => `halo.${b}`);
const HALO_MATCH_MESSAGES = HALO_BLOCKS.map((b) => `${b} matches`);
/** Fields that must be `sha256:` digests when present (strict form check). */
const DIGEST_FIELDS = ['prompt_hash', 'rag_hash', 'multimodal_hash', 'output_hash'] as const;

const MAX_KEY_RESPONSE = 64 * 1024;
const FETCH_TIMEOUT_MS = 10_000;

export interface EliVerifyOptions {
  mode: Mode;
  /** Do not check the signature (upstream `--skip-signature`). Strict mode reports it as a warning. */
  skipSignature?: boolean;
  /** Public JWK files (`--jwk`), pinned. */
  jwkFiles?: string[];
  /** Other pinned public key files / inline PEM/JWK (`--key`). */
  keyFiles?: string[];
  /** Already-loaded pinned public keys (library use; parse once). */
  publicKeys?: KeyObject[];
  /** Trust store file (`--trust`) or parsed store. */
  trust?: string | TrustStore;
  /** Key server base URL: the key is fetched from `<url>/<key_id>`. */
  keysUrl?: string;
  /** Strict: kids a --keys-url key may have. */
  pinKids?: string[];
  /** Unwrap `{…, "receipt": packet}` (default: true in strict mode, false in compat mode as upstream). */
  unwrap?: boolean;
  /** Verification time for trust-store status (default now). */
  now?: Date;
  /** Custom key fetcher (tests); default global fetch with a timeout and size bound. */
  fetchJwk?: (url: string) => Promise<unknown>;
}

/** The object upstream `eli_verify.py --json` prints (null when it prints an error instead). */
export interface UpstreamResult {
  valid: boolean;
  failures: string[];
  schema_valid: boolean;
  halo_valid?: boolean;
  signature_valid?: boolean;
}

export interface EliVerification {
  report: Report;
  /** What upstream would print with --json (compat reproduction; null for CLI-level key errors). */
  upstream: UpstreamResult | null;
  /** The exit code upstream would return. */
  upstreamExit: number;
}

interface ResolvedKey {
  key: KeyObject;
  source: string;
  entry?: TrustEntry;
}

interface KeyPlan {
  pinned: ResolvedKey[];
  store?: TrustStore;
  keysUrl?: string;
  /** Key problem found before looking at the packet (no source, bad --jwk file…): upstream exits 4 at once. */
  preflight?: { code: string; message: string };
}

function errCode(e: unknown, fallback: string): string {
  return (e as { code?: string })?.code ?? fallback;
}

function loadKeyPlan(opts: EliVerifyOptions): KeyPlan {
  const plan: KeyPlan = { pinned: [] };
  for (const k of opts.publicKeys ?? []) plan.pinned.push({ key: k, source: 'pinned key' });
  try {
    for (const f of opts.jwkFiles ?? []) {
      let text: string;
      try {
        text = readKeyText(f, 'JWK file');
      } catch (e) {
        throw new EvidentError('KEY_NOT_FOUND', `JWK file not found: ${f}`, { cause: e });
      }
      try {
        plan.pinned.push({ key: importPublicKey(text), source: `--jwk ${f}` });
      } catch (e) {
        throw new EvidentError(errCode(e, 'KEY_INVALID'), `invalid JWK file ${f}: ${(e as Error).message}`, { cause: e });
      }
    }
    for (const f of opts.keyFiles ?? []) plan.pinned.push({ key: loadPublicKey(f), source: `--key ${f.includes('-----BEGIN') ? '(inline)' : f}` });
    if (opts.trust !== undefined) plan.store = typeof opts.trust === 'string' ? loadTrustStore(opts.trust) : opts.trust;
  } catch (e) {
    plan.preflight = { code: errCode(e, 'KEY_INVALID'), message: (e as Error).message };
    return plan;
  }
  if (opts.keysUrl !== undefined) {
    if (!/^https?:\/\//i.test(opts.keysUrl)) {
      plan.preflight = { code: 'KEY_SOURCE_INVALID', message: `--keys-url must be an http(s) URL: ${opts.keysUrl}` };
      return plan;
    }
    plan.keysUrl = opts.keysUrl;
  }
  if (!opts.skipSignature && plan.pinned.length === 0 && !plan.store && plan.keysUrl === undefined) {
    plan.preflight = {
      code: 'KEY_MISSING',
      message: opts.mode === 'compat'
        ? 'Must provide either --jwk or --keys-url for signature verification (or use --skip-signature to skip signature verification)'
        : 'no verification key: give --jwk FILE, --key FILE, --trust STORE, or --keys-url URL with --pin-kid (keys named by the packet are never trusted on their own)',
    };
  }
  return plan;
}

async function defaultFetchJwk(url: string): Promise<unknown> {
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(), FETCH_TIMEOUT_MS);
  try {
    const res = await fetch(url, { signal: ac.signal, redirect: 'error', headers: { accept: 'application/json' } });
    if (res.status !== 200) throw new EvidentError('KEY_FETCH_FAILED', `key fetch ${url}: HTTP ${res.status}`);
    const buf = new Uint8Array(await res.arrayBuffer());
    if (buf.length > MAX_KEY_RESPONSE) throw new EvidentError('KEY_FETCH_FAILED', `key fetch ${url}: response too large`);
    return parseEliJson(buf, { duplicateKeys: 'reject' });
  } catch (e) {
    if (e instanceof EvidentError && e.code === 'KEY_FETCH_FAILED') throw e;
    throw new EvidentError('KEY_FETCH_FAILED', `key fetch ${url} failed: ${(e as Error).message}`, { cause: e });
  } finally {
    clearTimeout(t);
  }
}

function keyUrl(base: string, kid: string): string {
  return base.replace(/\/+$/, '') + '/' + kid;
}

async function fetchKey(plan: KeyPlan, kid: string, opts: EliVerifyOptions): Promise<KeyObject> {
  const url = keyUrl(plan.keysUrl!, kid);
  const body = await (opts.fetchJwk ?? defaultFetchJwk)(url);
  try {
    const jwk = isJsonObject(body as JsonValue) ? JSON.parse(JSON.stringify(body)) : body;
    return importPublicKey(jwk as JsonWebKey);
  } catch (e) {
    throw new EvidentError('KEY_FETCH_FAILED', `key fetched from ${url} is not a usable public JWK: ${(e as Error).message}`, { cause: e });
  }
}
type JsonWebKey = import('node:crypto').JsonWebKey;

/** What the `--keys-url` fetch gave: the key, or why there is none. */
type Fetched = { key: KeyObject } | { code: string; message: string };

/** The core stopped where a `--keys-url` key must be fetched (only the async entry points can). */
interface NeedsFetch {
  fetchKid: string;
}

/** Options of the synchronous entry points: every key is known up front (no `--keys-url` fetch). */
export type EliVerifySyncOptions = Omit<EliVerifyOptions, 'keysUrl' | 'pinKids' | 'fetchJwk'>;

/**
 * Parse + verify packet bytes. Never throws for bad input. Keys from `--keys-url` are fetched here; everything
 * else is {@link verifyEliBytesSync}.
 */
export async function verifyEliBytes(bytes: Uint8Array, opts: EliVerifyOptions): Promise<EliVerification> {
  const plan = loadKeyPlan(opts);
  const parsed = parsePacket(bytes, opts, plan);
  if (!('value' in parsed)) return parsed;
  return withFetch(parsed.value, opts, hasNoEscapes(bytes), plan);
}

/**
 * Synchronous {@link verifyEliBytes} for keys known up front (pinned KeyObjects, `--jwk`, `--key`, a trust store):
 * the offline verification path, with no promise per packet. A `keysUrl` passed anyway is reported as a key
 * failure (exit 4), never fetched.
 */
export function verifyEliBytesSync(bytes: Uint8Array, opts: EliVerifySyncOptions): EliVerification {
  const plan = loadKeyPlan(opts);
  const parsed = parsePacket(bytes, opts, plan);
  if (!('value' in parsed)) return parsed;
  return withoutFetch(parsed.value, opts, hasNoEscapes(bytes), plan);
}

function parsePacket(bytes: Uint8Array, opts: EliVerifyOptions, plan: KeyPlan): { value: JsonValue } | EliVerification {
  try {
    if (opts.mode === 'compat') return { value: parsePythonJsonFast(bytes, { source: 'text', maxBytes: ELI_MAX_BYTES, maxDepth: ELI_MAX_DEPTH }) };
    return { value: parseEliJson(bytes, { duplicateKeys: 'reject' }) };
  } catch (e) {
    if (opts.mode === 'compat') {
      // upstream reads the packet before its key: json.JSONDecodeError -> exit 10 (message on stderr, no --json
      // object); bytes that are not UTF-8 raise UnicodeDecodeError, which it does not catch (traceback, exit 1)
      const badUtf8 = errCode(e, '') === 'JSON_BAD_UTF8';
      const report = new Report(ELI_FORMAT, opts.mode).fail('input', 'input', errCode(e, 'JSON_SYNTAX'), `${badUtf8 ? 'packet is not UTF-8' : 'Invalid JSON in packet file'}: ${(e as Error).message}`);
      report.exitOverride = badUtf8 ? 1 : 10;
      return { report, upstream: null, upstreamExit: report.exitOverride };
    }
    const report = new Report(ELI_FORMAT, opts.mode).fail('input', 'input', errCode(e, 'JSON_SYNTAX'), `packet is not valid JSON: ${(e as Error).message}`);
    return finish(report, opts, { valid: false, failures: [`Invalid JSON: ${(e as Error).message}`], schema_valid: false }, 10, plan);
  }
}

async function withFetch(value: JsonValue, opts: EliVerifyOptions, plainStrings: boolean, plan: KeyPlan): Promise<EliVerification> {
  const first = verifyCore(value, opts, plainStrings, plan, undefined);
  if (!('fetchKid' in first)) return first;
  let fetched: Fetched;
  try {
    fetched = { key: await fetchKey(plan, first.fetchKid, opts) };
  } catch (e) {
    fetched = { code: errCode(e, 'KEY_FETCH_FAILED'), message: (e as Error).message };
  }
  // (the core is pure up to the fetch: running it again with the key gives the one report)
  return verifyCore(value, opts, plainStrings, plan, fetched) as EliVerification;
}

function withoutFetch(value: JsonValue, opts: EliVerifyOptions, plainStrings: boolean, plan: KeyPlan): EliVerification {
  const r = verifyCore(value, opts, plainStrings, plan, undefined);
  if (!('fetchKid' in r)) return r;
  const noFetch: Fetched = { code: 'KEY_SOURCE_INVALID', message: 'a --keys-url key must be fetched: use the asynchronous verifyEliBytes / verifyEliValue' };
  return verifyCore(value, opts, plainStrings, plan, noFetch) as EliVerification;
}

function finish(report: Report, opts: EliVerifyOptions, upstream: UpstreamResult | null, upstreamExit: number, plan: KeyPlan): EliVerification {
  if (plan.preflight && opts.mode === 'compat' && !opts.skipSignature) {
    // upstream checks its key source before reading the packet: exit 4, no JSON object
    upstream = null;
    upstreamExit = 4;
  }
  if (opts.mode === 'compat') report.exitOverride = upstreamExit;
  return { report, upstream, upstreamExit };
}

/** True when a value looks like an ELI packet (or a `{receipt: packet}` envelope). */
export function looksLikeEliPacket(v: unknown): boolean {
  if (!isJsonObject(v as JsonValue)) return false;
  const o = v as JsonObject;
  // (a halo_chain holding blocks[] is the current CDIL shape: looksLikeCdilPacket)
  if (isJsonObject(o.halo_chain as JsonValue) && !Array.isArray((o.halo_chain as JsonObject).blocks) && 'transaction_id' in o) return true;
  return isJsonObject(o.receipt as JsonValue) && isJsonObject((o.receipt as JsonObject).halo_chain as JsonValue);
}

/**
 * True when a value looks like a CDIL-variant packet: `halo.blocks[]` (@5506a8f) or `halo_chain.blocks[]` (the
 * current shape, @36138ac `packet_builder.py`).
 */
export function looksLikeCdilPacket(v: unknown): boolean {
  if (!isJsonObject(v as JsonValue)) return false;
  const o = v as JsonObject;
  const h = isJsonObject(o.halo as JsonValue) ? o.halo : o.halo_chain;
  return isJsonObject(h as JsonValue) && Array.isArray((h as JsonObject).blocks) && 'transaction_id' in o;
}

/**
 * Verify an already parsed (lossless) packet value. `plainStrings`: the value was parsed from bytes without a
 * backslash ({@link hasNoEscapes}), so canonicalisation need not test its strings.
 */
export async function verifyEliValue(value: JsonValue, opts: EliVerifyOptions, plainStrings = false): Promise<EliVerification> {
  return withFetch(value, opts, plainStrings, loadKeyPlan(opts));
}

/** Synchronous {@link verifyEliValue} for keys known up front (see {@link verifyEliBytesSync}). */
export function verifyEliValueSync(value: JsonValue, opts: EliVerifySyncOptions, plainStrings = false): EliVerification {
  return withoutFetch(value, opts, plainStrings, loadKeyPlan(opts));
}

/**
 * The verification itself, synchronous and without side effects. With `--keys-url` and no `fetched` key yet it
 * stops at the signature with the key id to fetch; the caller fetches and runs it again.
 */
function verifyCore(value: JsonValue, opts: EliVerifyOptions, plainStrings: boolean, plan: KeyPlan, fetched: Fetched | undefined): EliVerification | NeedsFetch {
  const strict = opts.mode === 'strict';
  const report = new Report(ELI_FORMAT, opts.mode);
  const up: UpstreamResult = { valid: false, failures: [], schema_valid: false };

  // ---- unwrap
  let packet: JsonValue = value;
  const unwrap = opts.unwrap ?? !(opts.mode === 'compat');
  if (unwrap && isJsonObject(value) && !('halo_chain' in value) && isJsonObject(value.receipt ?? null)) {
    packet = value.receipt as JsonObject;
    const others = Object.keys(value).filter((k) => k !== 'receipt');
    report.warn('envelope', 'RECEIPT_UNWRAPPED', `verifying the "receipt" member of an API response; envelope fields are not authenticated: ${others.join(', ') || '(none)'}`);
  }

  // ---- schema (exit 10)
  if (!isJsonObject(packet)) {
    report.fail('schema', 'input', 'SCHEMA_INVALID', 'packet must be a JSON object');
    up.failures.push('Packet is not a JSON object');
    return finish(report, opts, up, 10, plan);
  }
  const p: JsonObject = packet;
  for (const f of REQUIRED_FIELDS) {
    if (!(f in p)) {
      report.fail(`schema.${f}`, 'input', 'SCHEMA_MISSING_FIELD', `missing required field ${f}`);
      up.failures.push(`Missing required field: ${f}`);
    } else if (strict && f !== 'halo_chain' && (typeof p[f] !== 'string' || (p[f] as string).length === 0)) {
      report.fail(`schema.${f}`, 'input', 'SCHEMA_INVALID', `${f} must be a non-empty string`);
    }
  }
  if ('halo_chain' in p) {
    const hc = p.halo_chain;
    if (!isJsonObject(hc)) {
      report.fail('schema.halo_chain', 'input', 'SCHEMA_INVALID', 'halo_chain must be an object');
      up.failures.push('Invalid halo_chain');
    } else {
      for (const b of HALO_BLOCKS) {
        if (!(b in hc)) {
          report.fail(`schema.halo_chain.${b}`, 'input', 'SCHEMA_MISSING_FIELD', `missing HALO block ${b}`);
          up.failures.push(`Missing HALO block: ${b}`);
        }
      }
    }
  }
  if (!report.valid) return finish(report, opts, up, 10, plan);
  report.pass('schema', 'required fields and the five HALO blocks are present');
  up.schema_valid = true;

  // ---- strict form checks
  if (strict) {
    try {
      parseRfc3339(p.gateway_timestamp_utc, 'gateway_timestamp_utc', 'TIMESTAMP_INVALID');
      report.pass('timestamp', `gateway_timestamp_utc ${p.gateway_timestamp_utc as string} is RFC 3339 (claimed by the gateway)`);
    } catch (e) {
      report.fail('timestamp', 'input', 'TIMESTAMP_INVALID', (e as Error).message);
    }
  }

  // ---- HALO (exit 2)
  let mismatches: ReturnType<typeof checkHaloChain>['mismatches'] | null;
  try {
    mismatches = checkHaloChain(p, p.halo_chain!, plainStrings).mismatches;
  } catch (e) {
    // NaN/Infinity/lone surrogates: json_c14n_v1 refuses them. Strict: an input failure. Compat: upstream's
    // verify_halo_chain catches the exception: HALO invalid (exit 2), and the signature is still checked
    if (strict) {
      report.fail('halo', 'input', errCode(e, 'JSON_NOT_CANONICALIZABLE'), `packet cannot be canonicalised: ${(e as Error).message}`);
      return finish(report, opts, up, 10, plan);
    }
    const pyMsg = haloPythonError(p) ?? (e as Error).message;
    report.fail('halo', 'integrity', 'HALO_NOT_CANONICALIZABLE', `HALO chain cannot be computed (upstream: "Verification error: ${pyMsg}")`);
    up.failures.push(`HALO: Verification error: ${pyMsg}`);
    mismatches = null;
  }
  if (mismatches === null) {
    up.halo_valid = false;
  } else {
  // (plain loops, no closures, constant texts: this is the per-packet hot path)
  for (let i = 0; i < HALO_BLOCKS.length; i++) {
    const b = HALO_BLOCKS[i]!;
    let m: (typeof mismatches)[number] | undefined;
    for (const x of mismatches) if (x.block === b) m = x;
    if (m) {
      report.fail(HALO_CHECK_IDS[i]!, 'integrity', 'HALO_MISMATCH', `${b} mismatch`, { expected: m.expected, actual: m.actual });
      up.failures.push(`HALO: ${b} mismatch`);
    } else report.pass(HALO_CHECK_IDS[i]!, HALO_MATCH_MESSAGES[i]!, { actual: (p.halo_chain as JsonObject)[b] as string });
  }
  up.halo_valid = mismatches.length === 0;
  }

  if (strict) policyAndCoverage(report, p, !!opts.skipSignature);

  // ---- signature (exit 3; key problems 4)
  let keyFailed = false;
  if (opts.skipSignature) {
    if (strict) report.warn('signature', 'SIGNATURE_SKIPPED', 'signature not checked (--skip-signature): transaction_id, timestamp and the HALO chain are not authenticated');
  } else if (!plan.preflight) {
    const r = checkSignature(report, p, plan, opts, plainStrings, fetched);
    if ('fetchKid' in r) return r;
    up.signature_valid = r.ok;
    keyFailed = r.keyFailed;
    if (!r.ok && r.upstreamMessage) up.failures.push(r.upstreamMessage);
  } else {
    report.fail('key', 'key', plan.preflight.code, plan.preflight.message);
    keyFailed = true;
  }

  up.valid = up.failures.length === 0 && !keyFailed;
  const exit = !up.halo_valid ? 2 : keyFailed ? 4 : up.signature_valid === false ? 3 : 0;
  return finish(report, opts, up, exit, plan);
}

function policyAndCoverage(report: Report, p: JsonObject, skipSig: boolean): void {
  const prs = getField(p, 'policy_receipt_subset');
  const pvh = isJsonObject(prs) ? getField(prs, 'policy_version_hash') : null;
  if (pvh === NO_POLICY_HASH) {
    const reason = isJsonObject(prs) && typeof prs.rejection_reason === 'string' ? `: ${prs.rejection_reason}` : '';
    report.warn('policy', 'NO_POLICY', `no policy (the gateway had no active policy; "${NO_POLICY_HASH}" is a placeholder, not a digest)${reason}`);
  } else if (isDigest(pvh)) {
    report.pass('policy', `policy version ${pvh}`, { actual: pvh });
  } else {
    report.warn('policy', 'POLICY_HASH_MALFORMED', `policy_version_hash is not a sha256 digest: ${JSON.stringify(pvh)}`);
  }
  if (isJsonObject(prs) && prs.approved === false) {
    report.warn('decision', 'DENIED', `transaction was denied${typeof prs.rejection_reason === 'string' ? `: ${prs.rejection_reason}` : ''}`);
  }
  for (const f of DIGEST_FIELDS) {
    const v = getField(p, f);
    if (v !== null && !isDigest(v)) report.warn(`form.${f}`, 'DIGEST_MALFORMED', `${f} is not "sha256:" + 64 hex: ${JSON.stringify(String(v).slice(0, 80))}`);
  }
  const unauth: string[] = [];
  for (const k of Object.keys(p)) if (!COVERED.has(k)) unauth.push(k);
  if (skipSig) unauth.push('client_key_fingerprint (signature not checked)');
  for (const k of unauth) report.warn(`unauthenticated.${k.split(' ')[0]}`, 'FIELD_UNAUTHENTICATED', `top-level field ${k} is covered by neither HALO nor the signature`);
  const ver = getField(p, 'verification');
  if (isJsonObject(ver)) {
    for (const k of Object.keys(ver)) if (k !== 'signature') report.warn(`unauthenticated.verification.${k}`, 'FIELD_UNAUTHENTICATED', `verification.${k} is not authenticated`);
  }
}

interface SigOutcome {
  ok: boolean;
  keyFailed: boolean;
  upstreamMessage?: string;
}

function checkSignature(report: Report, p: JsonObject, plan: KeyPlan, opts: EliVerifyOptions, plainStrings: boolean, fetched: Fetched | undefined): SigOutcome | NeedsFetch {
  const strict = opts.mode === 'strict';
  const ver = getField(p, 'verification');
  const sig = isJsonObject(ver) ? getField(ver, 'signature') : null;
  if (!isJsonObject(sig)) {
    report.fail('signature', 'signature', 'SIGNATURE_MISSING', 'packet has no verification.signature');
    return { ok: false, keyFailed: false, upstreamMessage: 'Signature: Missing signature in packet' };
  }
  const kid = getField(sig, 'key_id');
  const alg = getField(sig, 'alg');
  const b64 = getField(sig, 'signature_b64');
  if (strict && alg !== ELI_SIG_ALG) {
    report.fail('signature', 'signature', 'SIGNATURE_ALG_UNSUPPORTED', `signature alg ${JSON.stringify(alg)} is not ${ELI_SIG_ALG}`);
    return { ok: false, keyFailed: false };
  }

  // ---- choose the key
  let chosen: ResolvedKey[] = [];
  if (plan.pinned.length > 0 || plan.store) {
    chosen = plan.store ? [...plan.pinned] : plan.pinned;
    if (plan.store) {
      for (const e of plan.store.keys()) {
        const k = plan.store.resolveKeyUnchecked(e.kid);
        if (e.kid === kid || safeKid(k) === kid) chosen.push({ key: k, source: `trust store ${e.kid}`, entry: e });
      }
      if (chosen.length === 0) return keyFail(report, 'KEY_UNTRUSTED', `key_id ${JSON.stringify(kid)} is not in the trust store`);
    }
  } else if (plan.keysUrl !== undefined) {
    if (typeof kid !== 'string' || kid.length === 0) return keyFail(report, 'KEY_ID_MISSING', 'packet signature has no key_id to fetch');
    if (strict && !(opts.pinKids ?? []).includes(kid)) {
      return keyFail(report, 'KEY_UNTRUSTED', `key_id ${kid} is not pinned (--pin-kid): a key named by the packet is never trusted on its own`);
    }
    if (strict && !isDigest(kid)) return keyFail(report, 'KEY_UNTRUSTED', `key_id ${JSON.stringify(kid)} is not an ELI key id`);
    if (fetched === undefined) return { fetchKid: kid };
    if (!('key' in fetched)) return keyFail(report, fetched.code, fetched.message);
    const k = fetched.key;
    if (strict && safeKid(k) !== kid) return keyFail(report, 'KEY_MISMATCH', `the key served for ${kid} hashes to ${safeKid(k)}`);
    chosen = [{ key: k, source: keyUrl(plan.keysUrl, kid) }];
  }
  let rsaKeys = 0;
  for (const c of chosen) if (safeAlg(c.key) === 'rs256') rsaKeys++;
  if (strict && rsaKeys < chosen.length) {
    if (rsaKeys === 0) return keyFail(report, 'KEY_UNSUPPORTED', 'no RSA key available for an RS256 signature');
    const usable: ResolvedKey[] = [];
    for (const c of chosen) if (safeAlg(c.key) === 'rs256') usable.push(c);
    chosen = usable;
  }

  // ---- decode + verify
  let sigBytes: Uint8Array;
  if (!strict && (b64 === null || b64 === '' || b64 === false || (Array.isArray(b64) && b64.length === 0) || (isJsonObject(b64) && Object.keys(b64).length === 0))) {
    // upstream: `if not signature_b64`
    report.fail('signature', 'signature', 'SIGNATURE_MISSING', 'signature_b64 is missing or empty');
    return { ok: false, keyFailed: false, upstreamMessage: 'Signature: Missing signature_b64' };
  }
  if (typeof b64 !== 'string') {
    report.fail('signature', 'signature', 'SIGNATURE_INVALID', 'signature_b64 is not a string');
    return { ok: false, keyFailed: false, upstreamMessage: 'Signature: Signature verification failed: ' };
  }
  try {
    // compat: base64.b64decode (non-alphabet characters discarded, padding required)
    sigBytes = strict ? parseBase64(b64) : pythonB64decode(b64);
  } catch (e) {
    report.fail('signature', 'signature', 'SIGNATURE_INVALID', `signature_b64: ${(e as Error).message}`);
    return { ok: false, keyFailed: false, upstreamMessage: e instanceof PythonError ? `Signature: Signature verification failed: ${e.message}` : undefined };
  }
  let msg: Uint8Array;
  try {
    msg = signedMessageBytes(p, plainStrings);
  } catch (e) {
    report.fail('signature', 'input', errCode(e, 'JSON_NOT_CANONICALIZABLE'), `signed message cannot be canonicalised: ${(e as Error).message}`);
    return { ok: false, keyFailed: false, upstreamMessage: `Signature: Signature verification failed: ${pythonC14nError(signedMessage(p)) ?? (e as Error).message}` };
  }
  for (const c of chosen) {
    const a = safeAlg(c.key);
    if (a !== 'rs256') continue;
    if (verifySig(c.key, msg, sigBytes, { alg: 'rs256' })) {
      const kidOfKey = safeKid(c.key);
      report.pass('signature', `RS256 signature verifies with ${c.source} (${kidOfKey})`, { actual: kidOfKey });
      if (strict && typeof kid === 'string' && kid !== kidOfKey && (!c.entry || c.entry.kid !== kid)) {
        report.warn('signature.key_id', 'KEY_ID_MISMATCH', `packet names key ${kid} but was verified with ${kidOfKey}`);
      }
      if (c.entry) {
        const st = TrustStore.status(c.entry, opts.now);
        if (st !== 'valid') {
          const code = st === 'revoked' ? 'KEY_REVOKED' : st === 'expired' ? 'KEY_EXPIRED' : 'KEY_NOT_YET_VALID';
          report.fail('signature.policy', 'policy', code, `key ${c.entry.kid} is ${st.replace(/-/g, ' ')} in the trust store`);
        } else report.pass('signature.policy', `key ${c.entry.kid} is trusted${c.entry.label ? ` (${c.entry.label})` : ''}`);
      }
      return { ok: true, keyFailed: false };
    }
  }
  if (rsaKeys === 0) {
    // compat: a non-RSA key cannot verify PKCS#1 v1.5 (upstream raises → reported as a verification failure)
    report.fail('signature', 'signature', 'SIGNATURE_INVALID', 'the given key is not an RSA key');
    return { ok: false, keyFailed: false, upstreamMessage: 'Signature: Signature verification failed: ' };
  }
  report.fail('signature', 'signature', 'SIGNATURE_INVALID', `RS256 signature does not verify with ${chosen.map(sourceOf).join(', ')}`);
  return { ok: false, keyFailed: false, upstreamMessage: 'Signature: Signature verification failed: ' };
}

/** Compat: the exception upstream's compute_halo_chain raises first (blocks in order), as Python prints it. */
function haloPythonError(p: JsonObject): string | undefined {
  let prev: string | undefined;
  for (const b of HALO_BLOCKS) {
    const o: JsonObject = {};
    if (prev !== undefined) o.previous_hash = prev;
    for (const f of HALO_BLOCK_FIELDS[b]) o[f] = getField(p, f);
    const err = pythonC14nError(o);
    if (err !== undefined) return err;
    prev = c14nHash(o);
  }
  return undefined;
}

function sourceOf(c: ResolvedKey): string {
  return c.source;
}

function keyFail(report: Report, code: string, msg: string): SigOutcome {
  report.fail('key', 'key', code, msg);
  return { ok: false, keyFailed: true };
}

function safeKid(k: KeyObject): string {
  try {
    return eliKeyId(k);
  } catch {
    return '(no ELI key id)';
  }
}

function safeAlg(k: KeyObject): string {
  try {
    return algOfKey(k);
  } catch {
    return 'unknown';
  }
}

// ======================================================================= CDIL variant

/**
 * Clinical variant (CDIL @5506a8f): `halo {halo_version, blocks[5], block_hashes[5], final_hash}` linked by
 * `prev_hash`, block hash = sha256(json_c14n_v1(block)); signature ECDSA P-256/SHA-256 (DER, base64) over
 * json_c14n_v1(signature.message), whose members must match the packet. Without a key, compat mode skips the
 * signature as upstream does; strict mode fails with exit 4.
 */
export async function verifyCdilPacket(value: JsonValue, opts: EliVerifyOptions): Promise<Report> {
  const strict = opts.mode === 'strict';
  const report = new Report(CDIL_FORMAT, opts.mode);
  if (!isJsonObject(value)) return report.fail('schema', 'input', 'SCHEMA_INVALID', 'packet must be a JSON object');
  const p = value;
  // two shapes: @5506a8f `halo` + `signature` (message with client_id); current (@36138ac) `halo_chain` +
  // `verification` (message of exactly four members, packet_builder.py)
  const current = !isJsonObject(getField(p, 'halo')) && isJsonObject(getField(p, 'halo_chain'));
  const haloName = current ? 'halo_chain' : 'halo';
  const sigName = current ? 'verification' : 'signature';
  for (const f of ['transaction_id', 'gateway_timestamp_utc', 'environment', 'client_id', haloName]) {
    if (!(f in p)) report.fail(`schema.${f}`, 'input', 'SCHEMA_MISSING_FIELD', `missing required field ${f}`);
  }
  const halo = getField(p, haloName);
  const blocks = isJsonObject(halo) ? getField(halo, 'blocks') : null;
  const hashes = isJsonObject(halo) ? getField(halo, 'block_hashes') : null;
  if (!Array.isArray(blocks) || blocks.length !== 5 || !blocks.every((b) => isJsonObject(b))) {
    report.fail('schema.halo.blocks', 'input', 'SCHEMA_INVALID', 'halo.blocks must hold five objects');
  }
  if (!Array.isArray(hashes) || hashes.length !== 5) report.fail('schema.halo.block_hashes', 'input', 'SCHEMA_INVALID', 'halo.block_hashes must hold five hashes');
  if (!report.valid) return report;
  report.pass('schema', 'required fields and five HALO blocks present');
  if (strict) {
    try {
      parseRfc3339(p.gateway_timestamp_utc, 'gateway_timestamp_utc', 'TIMESTAMP_INVALID');
    } catch (e) {
      report.fail('timestamp', 'input', 'TIMESTAMP_INVALID', (e as Error).message);
    }
  }
  const bl = blocks as JsonObject[];
  const hs = hashes as JsonValue[];
  let prev: string | undefined;
  for (let i = 0; i < 5; i++) {
    const id = `halo.block_${i + 1}`;
    let h: string;
    try {
      h = c14nHash(bl[i]);
    } catch (e) {
      report.fail(id, 'input', errCode(e, 'JSON_NOT_CANONICALIZABLE'), (e as Error).message);
      return report;
    }
    if (hs[i] !== h) report.fail(id, 'integrity', 'HALO_MISMATCH', `block_${i + 1} hash mismatch`, { expected: h, actual: String(hs[i]) });
    else if (i > 0 && getField(bl[i]!, 'prev_hash') !== prev) {
      report.fail(id, 'integrity', 'HALO_LINK_MISMATCH', `block_${i + 1} prev_hash does not link to block_${i}`, { expected: prev, actual: String(getField(bl[i]!, 'prev_hash')) });
    } else report.pass(id, `block_${i + 1} matches`, { actual: h });
    // links are checked against the stored hash of the previous block, so one tampered block is named alone
    prev = typeof hs[i] === 'string' ? (hs[i] as string) : h;
  }
  if (getField(halo as JsonObject, 'final_hash') !== prev) {
    report.fail('halo.final_hash', 'integrity', 'HALO_MISMATCH', 'final_hash is not the last block hash', { expected: prev, actual: String(getField(halo as JsonObject, 'final_hash')) });
  } else report.pass('halo.final_hash', 'final_hash matches');
  for (const f of ['transaction_id', 'gateway_timestamp_utc', 'environment', 'client_id']) {
    if (jsonEq(getField(bl[0]!, f), getField(p, f))) continue;
    report.fail(`halo.block_1.${f}`, 'integrity', 'HALO_FIELD_MISMATCH', `top-level ${f} differs from block_1`);
  }

  const sig = getField(p, sigName);
  if (!isJsonObject(sig)) {
    report.fail('signature', 'signature', 'SIGNATURE_MISSING', `packet has no ${sigName}`);
    return report;
  }
  const message = getField(sig, 'message');
  const want: JsonObject = {
    transaction_id: getField(p, 'transaction_id'),
    gateway_timestamp_utc: getField(p, 'gateway_timestamp_utc'),
    final_hash: getField(halo as JsonObject, 'final_hash'),
    policy_version_hash: getField(bl[3]!, 'policy_version_hash'),
  };
  if (!current) want.client_id = getField(p, 'client_id');
  if (!isJsonObject(message) || !jsonEq(message, want)) {
    const msg = `${sigName}.message does not match the packet (${Object.keys(want).join(', ')})`;
    // compat: upstream's verifiers check the signature over the message, never the message against the packet
    if (strict) report.fail('signature.message', 'integrity', 'SIGNED_MESSAGE_MISMATCH', msg);
    else report.warn('signature.message', 'SIGNED_MESSAGE_MISMATCH', `${msg}; upstream does not compare them`);
  } else report.pass('signature.message', 'signed message matches the packet');
  const plan = loadKeyPlan({ ...opts, skipSignature: true });
  if (plan.preflight) {
    report.fail('key', 'key', plan.preflight.code, plan.preflight.message);
    return report;
  }
  if (opts.skipSignature) return report;
  const keys = plan.pinned.filter((k) => safeAlg(k.key) === 'es256');
  if (keys.length === 0) {
    if (strict || plan.pinned.length > 0) report.fail('key', 'key', 'KEY_MISSING', 'no P-256 public key given (--jwk)');
    else report.warn('signature', 'SIGNATURE_NOT_CHECKED', 'no key given: signature not checked (upstream behaviour)');
    return report;
  }
  if (strict && getField(sig, 'alg') !== 'ECDSA_SHA_256') {
    report.fail('signature', 'signature', 'SIGNATURE_ALG_UNSUPPORTED', `signature alg ${JSON.stringify(getField(sig, 'alg'))} is not ECDSA_SHA_256`);
    return report;
  }
  let sb: Uint8Array;
  try {
    const b64 = getField(sig, 'signature_b64');
    if (typeof b64 !== 'string') throw new EvidentError('BASE64_INVALID', 'signature_b64 is not a string');
    // compat: base64.b64decode, as upstream signer.verify_signature
    sb = strict ? parseBase64(b64) : pythonB64decode(b64);
  } catch (e) {
    report.fail('signature', 'signature', 'SIGNATURE_INVALID', (e as Error).message);
    return report;
  }
  const bytes = jsonC14nV1Bytes(isJsonObject(message) ? message : want);
  const ok = keys.find((k) => verifySig(k.key, bytes, sb, { alg: 'es256', ecdsaFormat: 'der' }));
  if (ok) report.pass('signature', `ECDSA P-256 signature verifies with ${ok.source}`);
  else report.fail('signature', 'signature', 'SIGNATURE_INVALID', 'ECDSA P-256 signature does not verify');
  if (strict) for (const k of Object.keys(p)) if (!['transaction_id', 'gateway_timestamp_utc', 'environment', 'client_id', haloName, sigName].includes(k)) report.warn(`unauthenticated.${k}`, 'FIELD_UNAUTHENTICATED', `top-level field ${k} is covered by neither HALO nor the signature`);
  return report;
}

function jsonEq(a: JsonValue, b: JsonValue): boolean {
  try {
    return c14nHash(a) === c14nHash(b);
  } catch {
    return false;
  }
}
