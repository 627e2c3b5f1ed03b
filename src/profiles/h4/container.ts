/**
 * H4MK format A ("sealing" container), specs/hashmatch-h4.md §B.1. All integers big-endian.
 *
 *   header  8 bytes: "H4MK" | version u16 = 1 | reserved u16 = 0
 *   chunk   tag (4 ASCII) | payload length u32 | CRC-32 (IEEE) of the payload u32 | payload
 *   order   CORE × n, SEEK, META, SAFE, VERI [, SIGN (Evident strict extension)]
 *   VERI    32 bytes = SHA-256 of the file bytes from offset 8 up to the VERI chunk header (writer's definition)
 *
 * `parseH4mk` only records structure (it never throws on content problems other than a bad header); judging the
 * structure is verify.ts's job. `buildH4mk` writes the upstream layout byte for byte.
 */
import zlib from 'node:zlib';
import { createHash, type KeyObject } from '../../kernel/crypto/index.ts';
import { EvidentError } from '../../kernel/errors.ts';
import { canonicalizePython, canonicalizeJcs } from '../../kernel/json/index.ts';
import { utf8, toBase64, concatBytes } from '../../kernel/encoding.ts';
import { sign } from '../../kernel/sign.ts';
import { keyId, toPublicKey } from '../../kernel/keys.ts';
import type { Engine, EngineInfo } from './engines.ts';

export const H4MK_MAGIC = Buffer.from('H4MK', 'ascii');
export const H4MK_VERSION = 1;
export const HEADER_BYTES = 8;
export const CHUNK_HEADER_BYTES = 12;
export const KNOWN_TAGS = ['CORE', 'SEEK', 'META', 'SAFE', 'VERI', 'SIGN'] as const;
export const SIGN_DOMAIN = 'evident-h4mk-sign-v1\n';

export interface ChunkRef {
  tag: string;
  headerOffset: number;
  payloadOffset: number;
  length: number;
  crc: number;
  crcOk: boolean;
}

export interface ParsedH4mk {
  bytes: Uint8Array;
  version: number;
  reserved: number;
  chunks: ChunkRef[];
  /** Set when a chunk header announces more payload than the file holds. */
  truncatedAt?: number;
  /** Bytes left after the last whole chunk that are too few for a chunk header (upstream silently ignores them). */
  trailingBytes: number;
}

/** True when the bytes start with the H4MK magic followed by a format-A (u16 BE) version 1 header. */
export function looksLikeH4mkA(b: Uint8Array): boolean {
  return b.length >= HEADER_BYTES && b[0] === 0x48 && b[1] === 0x34 && b[2] === 0x4d && b[3] === 0x4b;
}

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

export function crc32(b: Uint8Array): number {
  return zlib.crc32(b) >>> 0;
}

/** Parse the chunk structure. Throws H4MK_BAD_MAGIC / H4MK_TRUNCATED (header) only. */
export function parseH4mk(bytes: Uint8Array, opts: { checkCrc?: boolean; crcs?: ReadonlyMap<number, number> } = {}): ParsedH4mk {
  if (bytes.length < HEADER_BYTES) throw new EvidentError('H4MK_TRUNCATED', `file is ${bytes.length} bytes, shorter than the 8-byte header`);
  if (!looksLikeH4mkA(bytes)) throw new EvidentError('H4MK_BAD_MAGIC', 'not an H4MK file (magic "H4MK" missing)');
  const dv = view(bytes);
  const out: ParsedH4mk = { bytes, version: dv.getUint16(4), reserved: dv.getUint16(6), chunks: [], trailingBytes: 0 };
  const checkCrc = opts.checkCrc ?? true;
  let off = HEADER_BYTES;
  while (bytes.length - off >= CHUNK_HEADER_BYTES) {
    const tag = String.fromCharCode(bytes[off]!, bytes[off + 1]!, bytes[off + 2]!, bytes[off + 3]!);
    const length = dv.getUint32(off + 4);
    const crc = dv.getUint32(off + 8);
    const payloadOffset = off + CHUNK_HEADER_BYTES;
    if (length > bytes.length - payloadOffset) {
      out.truncatedAt = off;
      return out;
    }
    const crcOk = checkCrc ? (opts.crcs?.get(payloadOffset) ?? crc32(bytes.subarray(payloadOffset, payloadOffset + length))) === crc : true;
    out.chunks.push({ tag, headerOffset: off, payloadOffset, length, crc, crcOk });
    off = payloadOffset + length;
  }
  out.trailingBytes = bytes.length - off;
  return out;
}

export function payloadOf(p: ParsedH4mk, c: ChunkRef): Uint8Array {
  return p.bytes.subarray(c.payloadOffset, c.payloadOffset + c.length);
}

/** VERI as the writer defines it: SHA-256 of bytes [8, offset of the VERI chunk header). */
export function computeVeri(bytes: Uint8Array, veriHeaderOffset: number): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes.subarray(HEADER_BYTES, veriHeaderOffset)).digest());
}

export type SeekEntry = readonly [pts: number | bigint, offset: number | bigint];

export function encodeSeek(entries: readonly SeekEntry[]): Uint8Array {
  const b = new Uint8Array(4 + 16 * entries.length);
  const dv = view(b);
  dv.setUint32(0, entries.length);
  entries.forEach(([pts, off], i) => {
    dv.setBigUint64(4 + 16 * i, BigInt(pts));
    dv.setBigUint64(12 + 16 * i, BigInt(off));
  });
  return b;
}

/** Decode a SEEK payload; throws H4MK_SEEK_INVALID when the length does not match the count. */
export function decodeSeek(p: Uint8Array): Array<[bigint, bigint]> {
  if (p.length < 4) throw new EvidentError('H4MK_SEEK_INVALID', 'SEEK payload shorter than its 4-byte count');
  const dv = view(p);
  const n = dv.getUint32(0);
  if (p.length !== 4 + 16 * n) throw new EvidentError('H4MK_SEEK_INVALID', `SEEK says ${n} entries but holds ${p.length - 4} bytes`);
  const out: Array<[bigint, bigint]> = [];
  for (let i = 0; i < n; i++) out.push([dv.getBigUint64(4 + 16 * i), dv.getBigUint64(12 + 16 * i)]);
  return out;
}

function chunkHeader(tag: string, payload: Uint8Array): Uint8Array {
  if (!/^[\x21-\x7e]{4}$/.test(tag)) throw new EvidentError('INPUT_INVALID', `bad chunk tag ${JSON.stringify(tag)}`);
  if (payload.length > 0xffffffff) throw new EvidentError('H4MK_CHUNK_TOO_LARGE', `${tag} payload exceeds 4 GiB`);
  const h = new Uint8Array(CHUNK_HEADER_BYTES);
  h.set(utf8(tag), 0);
  const dv = view(h);
  dv.setUint32(4, payload.length);
  dv.setUint32(8, crc32(payload));
  return h;
}

/** Python `json.dumps(x, separators=(",",":"), ensure_ascii=False)` with insertion key order. */
export function encodeMetaJson(v: unknown): Uint8Array {
  return utf8(canonicalizePython(v, { ensureAscii: false, sortKeys: false, allowNan: true }));
}

export interface SignIdentity {
  engine: string;
  engine_id: string;
  fingerprint: string;
}

/** The bytes a SIGN chunk signs: domain ‖ VERI (32) ‖ JCS({engine, engine_id, fingerprint}). */
export function signMessage(veri: Uint8Array, id: SignIdentity): Uint8Array {
  return concatBytes(utf8(SIGN_DOMAIN), veri, utf8(canonicalizeJcs({ engine: id.engine, engine_id: id.engine_id, fingerprint: id.fingerprint })));
}

export interface BuildOptions {
  /** Raw (uncompressed) CORE blocks. */
  blocks: readonly Uint8Array[];
  engine: Engine;
  seek?: readonly SeekEntry[];
  /** META object (plain object or JsonObject); `compression` is appended by the builder. */
  meta?: Record<string, unknown>;
  safe?: Record<string, unknown>;
  /** Ed25519 private key: appends a strict SIGN chunk after VERI. */
  signKey?: KeyObject;
}

/** Build an H4MK format-A container exactly as upstream `build_h4mk` does (plus optional SIGN). */
export function buildH4mk(o: BuildOptions): Uint8Array {
  const meta = o.meta ?? {};
  if (Object.prototype.hasOwnProperty.call(meta, 'compression')) {
    throw new EvidentError('H4MK_META_RESERVED', 'META key "compression" is reserved for the sealing block');
  }
  const info: EngineInfo = o.engine.info();
  const compression = {
    engine: info.engine,
    engine_id: info.engine_id,
    fingerprint: info.fingerprint,
    deterministic: info.deterministic,
    identity_safe: info.identity_safe,
    opaque: info.opaque,
    sealed: info.sealed,
  };
  const parts: Uint8Array[] = [];
  const hash = createHash('sha256');
  let hashing = true;
  const push = (tag: string, payload: Uint8Array) => {
    const h = chunkHeader(tag, payload);
    parts.push(h, payload);
    if (hashing) {
      hash.update(h);
      hash.update(payload);
    }
  };
  for (const b of o.blocks) push('CORE', o.engine.compress(b));
  push('SEEK', encodeSeek(o.seek ?? []));
  push('META', encodeMetaJson({ ...meta, compression }));
  push('SAFE', encodeMetaJson(o.safe ?? {}));
  const veri = new Uint8Array(hash.digest());
  hashing = false;
  push('VERI', veri);
  if (o.signKey) push('SIGN', signPayload(o.signKey, veri, compression));
  const header = new Uint8Array(HEADER_BYTES);
  header.set(H4MK_MAGIC, 0);
  view(header).setUint16(4, H4MK_VERSION);
  return concatBytes(header, ...parts);
}

export function signPayload(key: KeyObject, veri: Uint8Array, id: SignIdentity): Uint8Array {
  const sig = sign(key, signMessage(veri, id), { alg: 'ed25519' });
  return utf8(
    canonicalizeJcs({
      alg: 'ed25519',
      engine: id.engine,
      engine_id: id.engine_id,
      fingerprint: id.fingerprint,
      kid: keyId(toPublicKey(key), 'jwk'),
      sig: toBase64(sig),
    }),
  );
}

/** Append a SIGN chunk to an unsigned container whose last chunk is VERI (e.g. an upstream file). */
export function appendSign(bytes: Uint8Array, key: KeyObject, id: SignIdentity): Uint8Array {
  const p = parseH4mk(bytes);
  const last = p.chunks[p.chunks.length - 1];
  if (!last || last.tag !== 'VERI' || p.trailingBytes !== 0 || p.truncatedAt !== undefined) {
    throw new EvidentError('H4MK_STRUCTURE', 'can only sign a container whose last chunk is VERI');
  }
  const payload = signPayload(key, payloadOf(p, last), id);
  return concatBytes(bytes, chunkHeader('SIGN', payload), payload);
}
