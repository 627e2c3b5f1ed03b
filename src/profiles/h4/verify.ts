/**
 * Verification of H4MK format-A containers and extraction of their CORE data.
 *
 * Categories (exit codes): structure problems — bad magic/version, truncated chunk, unknown or duplicate
 * META/VERI/SEEK/SAFE, wrong chunk order, unparsable META/SAFE/SEEK/SIGN — are `input` (10); CRC mismatch, VERI
 * mismatch, trailing bytes and chunks after VERI (other than one SIGN) are `integrity` (2); no usable key is
 * `key` (4); a missing/invalid SIGN is `signature` (3); a revoked/expired signing key is `policy` (1).
 *
 * compat: the upstream layout and the writer's VERI definition; VERI is reported as what it is — an unkeyed
 * digest (integrity only, anyone can recompute it: vector `forged-meta-recomputed-veri` is self-consistent).
 * strict (default): additionally requires a SIGN chunk (Ed25519 over VERI + engine identity) verifying under a
 * pinned key (--key) or a trust-store key (--trust); keys are never taken from the file.
 */
import type { KeyObject } from 'node:crypto';
import { Report, type Mode } from '../../verify/report.ts';
import { EvidentError } from '../../kernel/errors.ts';
import { parseJson, toPlain, isJsonObject, type JsonObject } from '../../kernel/json/index.ts';
import { toHex, parseBase64 } from '../../kernel/encoding.ts';
import { timingSafeEqualBytes } from '../../kernel/digest.ts';
import { verify as verifySig } from '../../kernel/sign.ts';
import { algOfKey } from '../../kernel/keys.ts';
import { TrustStore, type TrustEntry } from '../../kernel/truststore.ts';
import { loadPublicKey, loadTrustStore } from '../../store/keyfiles.ts';
import {
  parseH4mk,
  payloadOf,
  computeVeri,
  crc32,
  decodeSeek,
  signMessage,
  KNOWN_TAGS,
  H4MK_VERSION,
  type ParsedH4mk,
  type ChunkRef,
  type SignIdentity,
} from './container.ts';
import { builtinForIdentity, sameEngine, type Engine, type EngineInfo } from './engines.ts';

export const H4MK_FORMAT = 'h4mk';
const MAX_META_BYTES = 16 * 1024 * 1024;
const MAX_STORE_CANDIDATES = 256;

/** Values computed elsewhere (a worker thread) for large containers, looked up by offset. */
export interface H4mkPrecomputed {
  /** payload offset → CRC-32 of that chunk's payload. */
  crc?: ReadonlyMap<number, number>;
  /** VERI chunk header offset → SHA-256(bytes 8..offset). */
  veri?: ReadonlyMap<number, Uint8Array>;
}

export interface H4mkVerifyOptions {
  mode: Mode;
  /** See src/profiles/h4/parallel.ts (verifyH4mkAsync). */
  precomputed?: H4mkPrecomputed;
  keys?: string[];
  trust?: string;
  now?: Date;
}

export interface H4mkVerifyResult {
  report: Report;
  parsed?: ParsedH4mk;
  meta?: JsonObject;
  /** META `compression` block (sealing identity), when present and well-formed. */
  identity?: EngineInfo;
}

function errCode(e: unknown, fallback: string): string {
  return (e as { code?: string })?.code ?? fallback;
}

function parseJsonPayload(b: Uint8Array, mode: Mode): JsonObject {
  const v = parseJson(b, { duplicateKeys: mode === 'strict' ? 'reject' : 'last-wins', maxBytes: MAX_META_BYTES, maxDepth: 64 });
  if (!isJsonObject(v)) throw new EvidentError('INPUT_INVALID', 'not a JSON object');
  return v;
}

function readIdentity(meta: JsonObject): EngineInfo | undefined {
  const c = meta['compression'];
  if (!isJsonObject(c)) return undefined;
  const p = toPlain(c) as Record<string, unknown>;
  if (typeof p.engine !== 'string' || typeof p.engine_id !== 'string' || typeof p.fingerprint !== 'string') return undefined;
  return {
    engine: p.engine,
    engine_id: p.engine_id,
    fingerprint: p.fingerprint,
    deterministic: p.deterministic === true,
    identity_safe: p.identity_safe === true,
    opaque: p.opaque === true,
    sealed: p.sealed === true,
  };
}

/** Verify an H4MK container. Never throws for bad input: every problem is a coded check. */
export function verifyH4mk(bytes: Uint8Array, opts: H4mkVerifyOptions): H4mkVerifyResult {
  const mode = opts.mode;
  const report = new Report(H4MK_FORMAT, mode);
  const res: H4mkVerifyResult = { report };
  let p: ParsedH4mk;
  try {
    p = parseH4mk(bytes, { crcs: opts.precomputed?.crc });
  } catch (e) {
    report.fail('header', 'input', errCode(e, 'H4MK_INVALID'), (e as Error).message);
    return res;
  }
  res.parsed = p;
  if (p.version !== H4MK_VERSION) {
    report.fail('header', 'input', 'H4MK_BAD_VERSION', `unsupported H4MK version ${p.version} (format A version 1 only)`, { expected: '1', actual: String(p.version) });
    return res;
  }
  if (p.reserved !== 0) {
    if (mode === 'strict') report.fail('header', 'input', 'H4MK_RESERVED_NONZERO', `reserved header field is ${p.reserved}, must be 0`);
    else report.warn('header', 'H4MK_RESERVED_NONZERO', `reserved header field is ${p.reserved} (upstream ignores it)`);
  } else report.pass('header', 'H4MK format A header, version 1');
  if (p.truncatedAt !== undefined) {
    report.fail('structure.truncated', 'input', 'H4MK_TRUNCATED', `chunk at offset ${p.truncatedAt} announces more payload than the file holds`);
    return res;
  }

  // CRC of every payload
  const badCrc = p.chunks.filter((c) => !c.crcOk);
  for (const c of badCrc) {
    const actual = (crc32Of(p, c) >>> 0).toString(16).padStart(8, '0');
    report.fail(`chunk.${c.headerOffset}.crc`, 'integrity', 'H4MK_CRC_MISMATCH', `CRC-32 mismatch for ${c.tag} chunk at offset ${c.headerOffset}`, {
      expected: c.crc.toString(16).padStart(8, '0'),
      actual,
    });
  }
  if (badCrc.length === 0) report.pass('chunks.crc', `${p.chunks.length} chunk CRC-32 values match`);
  if (p.trailingBytes > 0) {
    const msg = `${p.trailingBytes} trailing byte(s) after the last chunk (not covered by VERI)`;
    // compat: upstream H4MKReader stops when fewer than 12 bytes (a chunk header) remain
    if (mode === 'strict') report.fail('structure.trailing', 'integrity', 'H4MK_TRAILING_BYTES', msg);
    else report.warn('structure.trailing', 'H4MK_TRAILING_BYTES', `${msg}; upstream's reader ignores them`);
  }

  // tags, counts, order
  const unknown = p.chunks.filter((c) => !(KNOWN_TAGS as readonly string[]).includes(c.tag));
  for (const c of unknown) {
    const msg = `unknown chunk tag ${JSON.stringify(c.tag)} at offset ${c.headerOffset}`;
    if (mode === 'strict') report.fail(`chunk.${c.headerOffset}.tag`, 'input', 'H4MK_UNKNOWN_CHUNK', msg);
    else report.warn(`chunk.${c.headerOffset}.tag`, 'H4MK_UNKNOWN_CHUNK', msg);
  }
  const count = (t: string) => p.chunks.filter((c) => c.tag === t).length;
  const singles = ['SEEK', 'META', 'SAFE', 'VERI', 'SIGN'];
  let structural = true;
  for (const t of singles) {
    if (count(t) > 1) {
      const msg = `${count(t)} ${t} chunks (at most one allowed)`;
      if (mode === 'strict') {
        report.fail(`structure.${t}`, 'input', 'H4MK_DUPLICATE_CHUNK', msg);
        structural = false;
      } else report.warn(`structure.${t}`, 'H4MK_DUPLICATE_CHUNK', `${msg}; upstream's reader keeps them all and uses the first`);
    }
  }
  // compat: upstream's reader needs no chunk at all; VERI is still required, since it is all compat checks
  const required = mode === 'strict' ? ['SEEK', 'META', 'SAFE', 'VERI'] : ['VERI'];
  for (const t of required) {
    if (count(t) === 0) {
      report.fail(`structure.${t}`, 'input', t === 'VERI' ? 'H4MK_VERI_MISSING' : 'H4MK_CHUNK_MISSING', `no ${t} chunk`);
      structural = false;
    }
  }
  if (!structural) return res;
  const veriIdx = p.chunks.findIndex((c) => c.tag === 'VERI');
  const veriChunk = p.chunks[veriIdx]!;
  const after = p.chunks.slice(veriIdx + 1);
  const signChunk = after.length === 1 && after[0]!.tag === 'SIGN' ? after[0] : undefined;
  if (after.length > 0 && !signChunk) {
    const msg = `${after.length} chunk(s) after VERI (${after.map((c) => c.tag).join(', ')}) are not covered by VERI; only one SIGN may follow`;
    if (mode === 'strict') report.fail('structure.after_veri', 'integrity', 'H4MK_CHUNK_AFTER_VERI', msg);
    else report.warn('structure.after_veri', 'H4MK_CHUNK_AFTER_VERI', `${msg} (upstream's reader accepts them)`);
  }
  if (count('SIGN') >= 1 && !signChunk) {
    if (mode === 'strict') report.fail('structure.SIGN', 'input', 'H4MK_ORDER', 'SIGN must be the one chunk directly after VERI');
    else report.warn('structure.SIGN', 'H4MK_ORDER', 'SIGN is not the one chunk directly after VERI (compat does not check SIGN)');
  }
  const before = p.chunks.slice(0, veriIdx).map((c) => c.tag);
  const orderOk = /^(CORE,)*SEEK,META,SAFE$/.test(before.join(','));
  if (!orderOk) {
    const msg = `chunk order before VERI is ${before.join(',') || '(none)'}, expected CORE…,SEEK,META,SAFE`;
    if (mode === 'strict') report.fail('structure.order', 'input', 'H4MK_ORDER', msg);
    else report.warn('structure.order', 'H4MK_ORDER', msg);
  } else report.pass('structure.order', `chunk order CORE×${count('CORE')}, SEEK, META, SAFE, VERI${signChunk ? ', SIGN' : ''}`);

  // VERI
  const veri = payloadOf(p, veriChunk);
  if (veri.length !== 32) {
    report.fail('veri', 'integrity', 'H4MK_VERI_INVALID', `VERI payload is ${veri.length} bytes, expected 32`);
  } else {
    const expected = opts.precomputed?.veri?.get(veriChunk.headerOffset) ?? computeVeri(bytes, veriChunk.headerOffset);
    if (timingSafeEqualBytes(expected, veri)) {
      report.pass('veri', 'VERI = SHA-256(bytes 8..VERI header) matches — integrity only: an unkeyed digest anyone can recompute', {
        expected: toHex(expected),
        actual: toHex(veri),
      });
    } else {
      report.fail('veri', 'integrity', 'H4MK_VERI_MISMATCH', 'VERI does not match SHA-256 of the chunks before it', { expected: toHex(expected), actual: toHex(veri) });
    }
  }

  // SEEK / META / SAFE content
  const seek = p.chunks.find((c) => c.tag === 'SEEK');
  if (seek) {
    try {
      const n = decodeSeek(payloadOf(p, seek)).length;
      report.pass('seek', `SEEK table with ${n} entr${n === 1 ? 'y' : 'ies'}`);
    } catch (e) {
      // compat: upstream parses SEEK only when asked for the seek table, not when reading the container
      if (mode === 'strict') report.fail('seek', 'input', errCode(e, 'H4MK_SEEK_INVALID'), (e as Error).message);
      else report.warn('seek', errCode(e, 'H4MK_SEEK_INVALID'), `${(e as Error).message} (upstream's reader parses it only on a seek)`);
    }
  }
  // compat: upstream's reader never parses META or SAFE as JSON (iter_core_blocks falls back to {})
  const metaChunk = p.chunks.find((c) => c.tag === 'META');
  if (metaChunk) {
    try {
      res.meta = parseJsonPayload(payloadOf(p, metaChunk), mode);
    } catch (e) {
      const msg = `META is not a JSON object: ${(e as Error).message}`;
      if (mode === 'strict') report.fail('meta', 'input', 'H4MK_META_INVALID', msg);
      else report.warn('meta', 'H4MK_META_INVALID', msg);
    }
  } else report.warn('meta', 'H4MK_CHUNK_MISSING', 'no META chunk (upstream\'s reader does not need one)');
  const safe = p.chunks.find((c) => c.tag === 'SAFE');
  if (safe) {
    try {
      parseJsonPayload(payloadOf(p, safe), mode);
    } catch (e) {
      const msg = `SAFE is not a JSON object: ${(e as Error).message}`;
      if (mode === 'strict') report.fail('safe', 'input', 'H4MK_SAFE_INVALID', msg);
      else report.warn('safe', 'H4MK_SAFE_INVALID', msg);
    }
  }
  if (res.meta) {
    res.identity = readIdentity(res.meta);
    if (!res.identity) {
      const msg = 'META has no well-formed compression block {engine, engine_id, fingerprint, …}';
      if (mode === 'strict') report.fail('meta.compression', 'input', 'H4MK_SEALING_MISSING', msg);
      else report.warn('meta.compression', 'H4MK_SEALING_MISSING', msg);
    } else {
      const i = res.identity;
      report.pass('meta.compression', `engine ${i.engine} (engine_id ${i.engine_id}, fingerprint ${i.fingerprint}, sealed ${i.sealed}, deterministic ${i.deterministic})`);
    }
  }

  // SIGN (strict)
  if (mode === 'compat') {
    report.warn('authenticity', 'H4MK_VERI_UNKEYED', 'compat: VERI proves integrity only, not origin (no signature is checked)');
    return res;
  }
  if (!signChunk) {
    report.fail('sign', 'signature', 'SIGNATURE_MISSING', 'no SIGN chunk after VERI: the container is not signed (VERI alone can be recomputed by anyone)');
    return res;
  }
  checkSign(report, payloadOf(p, signChunk), veri, res.identity, opts);
  return res;
}

function crc32Of(p: ParsedH4mk, c: ChunkRef): number {
  return crc32(payloadOf(p, c));
}

interface SignPayload extends SignIdentity {
  alg: string;
  kid?: string;
  sig: Uint8Array;
}

function parseSign(b: Uint8Array): SignPayload {
  const v = toPlain(parseJsonPayload(b, 'strict')) as Record<string, unknown>;
  const { alg, engine, engine_id, fingerprint, kid, sig } = v;
  if (alg !== 'ed25519') throw new EvidentError('H4MK_SIGN_INVALID', `SIGN alg must be "ed25519", got ${JSON.stringify(alg)}`);
  if (typeof engine !== 'string' || typeof engine_id !== 'string' || typeof fingerprint !== 'string' || typeof sig !== 'string') {
    throw new EvidentError('H4MK_SIGN_INVALID', 'SIGN needs string engine, engine_id, fingerprint and sig');
  }
  if (kid !== undefined && typeof kid !== 'string') throw new EvidentError('H4MK_SIGN_INVALID', 'SIGN kid must be a string');
  return { alg, engine, engine_id, fingerprint, kid: kid as string | undefined, sig: parseBase64(sig) };
}

export interface LoadedKeys {
  pinned: KeyObject[];
  store?: TrustStore;
}

/** Load --key / --trust; failures and absence become key-category checks. Returns undefined when unusable. */
export function loadVerifierKeys(report: Report, keys: string[] | undefined, trust: string | undefined): LoadedKeys | undefined {
  const out: LoadedKeys = { pinned: [] };
  let ok = true;
  for (const k of keys ?? []) {
    try {
      out.pinned.push(loadPublicKey(k));
    } catch (e) {
      ok = false;
      report.fail('key.load', 'key', errCode(e, 'KEY_INVALID'), (e as Error).message);
    }
  }
  if (trust) {
    try {
      out.store = loadTrustStore(trust);
    } catch (e) {
      ok = false;
      report.fail('key.trust', 'key', errCode(e, 'TRUST_STORE_INVALID'), (e as Error).message);
    }
  }
  if (!ok) return undefined;
  if (out.pinned.length === 0 && !out.store) {
    report.fail('key', 'key', 'KEY_MISSING', 'no verification key: give --key PUBLIC_KEY or --trust STORE (keys inside the artifact are never trusted)');
    return undefined;
  }
  return out;
}

/** Try pinned keys then trust-store keys (kid hint first). Returns the verifying key and its store entry. */
export function verifyWithKeys(keys: LoadedKeys, kid: string | undefined, msg: Uint8Array, sig: Uint8Array): { key: KeyObject; entry?: TrustEntry } | undefined {
  for (const k of keys.pinned) {
    if (algOfKey(k) === 'ed25519' && verifySig(k, msg, sig, { alg: 'ed25519' })) return { key: k };
  }
  if (keys.store) {
    const entries = keys.store.keys();
    const ordered = kid ? [...entries.filter((e) => e.kid === kid), ...entries.filter((e) => e.kid !== kid)] : entries;
    for (const e of ordered.slice(0, MAX_STORE_CANDIDATES)) {
      const k = keys.store.resolveKeyUnchecked(e.kid);
      if (algOfKey(k) === 'ed25519' && verifySig(k, msg, sig, { alg: 'ed25519' })) return { key: k, entry: e };
    }
  }
  return undefined;
}

/** Trust-store status of the key that verified → policy check. */
export function keyPolicy(report: Report, id: string, entry: TrustEntry | undefined, at: Date | undefined): void {
  if (!entry) return;
  const st = TrustStore.status(entry, at);
  if (st === 'valid') report.pass(`${id}.policy`, `key ${entry.kid} is trusted`);
  else report.fail(`${id}.policy`, 'policy', st === 'revoked' ? 'KEY_REVOKED' : st === 'expired' ? 'KEY_EXPIRED' : 'KEY_NOT_YET_VALID', `key ${entry.kid} is ${st.replace(/-/g, ' ')} in the trust store`);
}

function checkSign(report: Report, payload: Uint8Array, veri: Uint8Array, identity: EngineInfo | undefined, opts: H4mkVerifyOptions): void {
  let s: SignPayload;
  try {
    s = parseSign(payload);
  } catch (e) {
    report.fail('sign', 'input', 'H4MK_SIGN_INVALID', `SIGN payload: ${(e as Error).message}`);
    return;
  }
  if (identity && !sameEngine(identity, s)) {
    report.fail('sign.identity', 'integrity', 'H4MK_SIGN_IDENTITY_MISMATCH', 'engine identity in SIGN differs from META compression block', {
      expected: `${identity.engine}|${identity.engine_id}|${identity.fingerprint}`,
      actual: `${s.engine}|${s.engine_id}|${s.fingerprint}`,
    });
  }
  const keys = loadVerifierKeys(report, opts.keys, opts.trust);
  if (!keys) return;
  if (veri.length !== 32) return;
  const hit = verifyWithKeys(keys, s.kid, signMessage(veri, s), s.sig);
  if (!hit) {
    report.fail('sign', 'signature', 'SIGNATURE_INVALID', 'SIGN does not verify under any pinned or trusted key (VERI or engine identity altered, or wrong key)');
    return;
  }
  report.pass('sign', `SIGN verifies (Ed25519 over VERI + engine identity)${s.kid ? `, kid ${s.kid}` : ''}`);
  keyPolicy(report, 'sign', hit.entry, opts.now);
}

/**
 * Decompress every CORE chunk with `engine`. Refuses (H4_ENGINE_MISMATCH) when the engine is not the one META
 * names. Output is bounded by `maxBytes`.
 */
export function extractCore(res: H4mkVerifyResult, engine: Engine, maxBytes = 4 * 1024 * 1024 * 1024): Uint8Array[] {
  if (!res.parsed || !res.identity) throw new EvidentError('H4MK_SEALING_MISSING', 'container has no usable META compression block');
  const want = res.identity;
  const have = engine.info();
  if (!sameEngine(want, have)) {
    throw new EvidentError(
      'H4_ENGINE_MISMATCH',
      `META names engine ${want.engine}/${want.engine_id}/${want.fingerprint}; refusing to decompress with ${have.engine}/${have.engine_id}/${have.fingerprint}`,
    );
  }
  const out: Uint8Array[] = [];
  let total = 0;
  for (const c of res.parsed.chunks) {
    if (c.tag !== 'CORE') continue;
    const b = engine.decompress(payloadOf(res.parsed, c));
    total += b.length;
    if (total > maxBytes) throw new EvidentError('H4_DECOMPRESS_FAILED', `extracted data exceeds ${maxBytes} bytes`);
    out.push(b);
  }
  return out;
}

/** The engine that META names: a built-in with the same identity, or the given (sealed) engine; else refused. */
export function engineForContainer(identity: EngineInfo, sealed?: Engine): Engine {
  const b = builtinForIdentity(identity);
  if (b) return b;
  if (sealed && sameEngine(sealed.info(), identity)) return sealed;
  throw new EvidentError('H4_ENGINE_UNAVAILABLE', `engine ${identity.engine} (engine_id ${identity.engine_id}, fingerprint ${identity.fingerprint}) is not available: load it as a sealed engine (EVIDENT_ENGINE_ID/EVIDENT_ENGINE_FP/HARMONY4_CORE_PATH)`);
}

