/**
 * node:zlib for the verifier page: what the H4 verifier calls — crc32, inflateRawSync and brotliDecompressSync with
 * a bounded output (maxOutputLength), compression refused (the page only verifies). Raw DEFLATE is fflate's
 * inflater, Brotli the brotli package's decoder (both pure JS); errors carry node's ERR_BUFFER_TOO_LARGE code when
 * the output bound is hit, as node:zlib's do.
 */
import { Buffer } from './buffer.ts';
import { Inflate } from 'fflate';
import { decompress as brotliDecode } from 'brotli/decompress';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (ISO-HDLC, as zlib.crc32), optionally continuing from `value`. */
export function crc32(data: Uint8Array | string, value = 0): number {
  const b = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  if (b.length === 0) return 0; // as node:zlib (zlib's crc32 of a NULL buffer), whatever `value`
  let c = (value ^ 0xffffffff) >>> 0;
  for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function tooLarge(max: number): Error {
  const e = new RangeError(`Cannot create a Buffer larger than ${max} bytes`) as RangeError & { code: string };
  e.code = 'ERR_BUFFER_TOO_LARGE';
  return e;
}

export function inflateRawSync(data: Uint8Array, opts: { maxOutputLength?: number } = {}): Buffer {
  const max = opts.maxOutputLength ?? 2 ** 32;
  const parts: Uint8Array[] = [];
  let total = 0;
  let ended = false;
  // fed in slices so that the output bound stops a decompression bomb early (checked between slices)
  const inf = new Inflate((chunk, final) => {
    total += chunk.length;
    if (total <= max) parts.push(chunk);
    if (final) ended = true;
  });
  const STEP = 16 * 1024;
  try {
    if (data.length === 0) inf.push(new Uint8Array(0), true);
    for (let i = 0; i < data.length && total <= max; i += STEP) inf.push(data.subarray(i, Math.min(data.length, i + STEP)), i + STEP >= data.length);
  } catch (e) {
    throw Object.assign(new Error((e as Error).message || 'invalid deflate data'), { code: 'Z_DATA_ERROR', errno: -3 });
  }
  if (total > max) throw tooLarge(max);
  if (!ended) throw Object.assign(new Error('unexpected end of file'), { code: 'Z_BUF_ERROR', errno: -5 });
  return Buffer.concat(parts);
}

export function brotliDecompressSync(data: Uint8Array, opts: { maxOutputLength?: number } = {}): Buffer {
  const max = opts.maxOutputLength ?? 2 ** 32;
  // the decoder needs its output size up front: start from the first meta-block's length and grow, bounded by max
  let size: number | undefined;
  for (;;) {
    let out: Uint8Array;
    try {
      out = brotliDecode(data, size === undefined ? undefined : size);
    } catch (e) {
      if (!/not large enough/.test((e as Error).message)) throw Object.assign(new Error((e as Error).message || 'Decompression failed'), { code: 'ERR_BROTLI_DECOMPRESSION_FAILED' });
      const next = size === undefined ? 1 << 16 : size * 2;
      if (size !== undefined && size > max) throw tooLarge(max);
      size = Math.min(next, max + 1);
      continue;
    }
    if (out.length > max) throw tooLarge(max);
    return Buffer.from(out.buffer, out.byteOffset, out.length);
  }
}

function unavailable(name: string) {
  return (): never => {
    throw Object.assign(new Error(`zlib.${name} is not available in the verifier page (it only verifies)`), { code: 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM' });
  };
}

export const deflateRawSync = unavailable('deflateRawSync');
export const brotliCompressSync = unavailable('brotliCompressSync');
export const gzipSync = unavailable('gzipSync');
export const gunzipSync = unavailable('gunzipSync');

export const constants = {
  Z_DEFAULT_STRATEGY: 0,
  BROTLI_PARAM_MODE: 0,
  BROTLI_PARAM_QUALITY: 1,
  BROTLI_PARAM_LGWIN: 2,
  BROTLI_PARAM_SIZE_HINT: 5,
  BROTLI_MODE_GENERIC: 0,
};

export default { crc32, inflateRawSync, brotliDecompressSync, deflateRawSync, brotliCompressSync, gzipSync, gunzipSync, constants };
