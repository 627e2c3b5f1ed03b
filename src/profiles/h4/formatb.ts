/**
 * H4MK format B — upstream's media mux (harmony4_media/mux/h4mk.py; what H4MK_FORMAT.md documents), §B.1.
 * Little-endian. Header 16: "H4MK" | version u8 = 1 | flags u8 | reserved u16 | timestamp u64.
 * Chunk: type (4) | flags u32 | length u32 | payload | CRC-32 of (12-byte header + payload) u32.
 * Trailer: CRC-32 of every byte before it, u32.
 *
 * Integrity is CRC only: accidents are detected, nothing is authenticated (VERI here is an opaque sidecar). compat
 * reproduces the upstream reader's verdict; strict reports the missing authenticity as SIGNATURE_MISSING (exit 3).
 */
import zlib from 'node:zlib';
import { Report, type Mode } from '../../verify/report.ts';

export const H4MK_B_FORMAT = 'h4mk.b';

export interface ChunkB {
  type: string;
  flags: number;
  headerOffset: number;
  payloadOffset: number;
  length: number;
  crc: number;
  crcOk: boolean;
}

/** Format B: same magic, version byte (1) at offset 4 where format A has the high byte of its u16 version (0). */
export function looksLikeH4mkB(b: Uint8Array): boolean {
  return b.length >= 16 && b[0] === 0x48 && b[1] === 0x34 && b[2] === 0x4d && b[3] === 0x4b && b[4] === 0x01;
}

const hex8 = (n: number) => (n >>> 0).toString(16).padStart(8, '0');

export function verifyH4mkB(bytes: Uint8Array, mode: Mode): { report: Report; chunks: ChunkB[] } {
  const r = new Report(H4MK_B_FORMAT, mode);
  const chunks: ChunkB[] = [];
  if (!looksLikeH4mkB(bytes) || bytes.length < 20) {
    r.fail('header', 'input', 'H4MK_TRUNCATED', 'not a complete H4MK format B file (16-byte header + 4-byte trailer)');
    return { report: r, chunks };
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  r.pass('header', `H4MK format B (media mux) version 1, flags ${bytes[5]}, timestamp ${dv.getBigUint64(8, true)}`);
  const end = bytes.length - 4;
  let off = 16;
  while (off < end) {
    if (end - off < 16) {
      r.fail('structure.truncated', 'input', 'H4MK_TRUNCATED', `incomplete chunk at offset ${off}`);
      return { report: r, chunks };
    }
    const length = dv.getUint32(off + 8, true);
    if (length > end - off - 16) {
      r.fail('structure.truncated', 'input', 'H4MK_TRUNCATED', `chunk at offset ${off} announces more payload than the file holds`);
      return { report: r, chunks };
    }
    const payloadOffset = off + 12;
    const crc = dv.getUint32(payloadOffset + length, true);
    const actual = zlib.crc32(bytes.subarray(off, payloadOffset + length)) >>> 0;
    const type = String.fromCharCode(...bytes.subarray(off, off + 4));
    const c: ChunkB = { type, flags: dv.getUint32(off + 4, true), headerOffset: off, payloadOffset, length, crc, crcOk: actual === crc };
    chunks.push(c);
    if (!c.crcOk) r.fail(`chunk.${off}.crc`, 'integrity', 'H4MK_CRC_MISMATCH', `CRC-32 mismatch for ${type} chunk at offset ${off}`, { expected: hex8(crc), actual: hex8(actual) });
    off = payloadOffset + length + 4;
  }
  if (chunks.every((c) => c.crcOk)) r.pass('chunks.crc', `${chunks.length} chunk CRC-32 values match`);
  const trailer = dv.getUint32(end, true);
  const whole = zlib.crc32(bytes.subarray(0, end)) >>> 0;
  if (trailer === whole) r.pass('trailer.crc', 'file CRC-32 trailer matches', { expected: hex8(whole), actual: hex8(trailer) });
  else r.fail('trailer.crc', 'integrity', 'H4MK_CRC_MISMATCH', 'file CRC-32 trailer mismatch', { expected: hex8(whole), actual: hex8(trailer) });
  if (mode === 'strict') r.fail('authenticity', 'signature', 'SIGNATURE_MISSING', 'format B has CRC-32 only: no digest, no signature (VERI is an opaque sidecar)');
  else r.warn('authenticity', 'H4MK_CRC_ONLY', 'compat: format B integrity is CRC-32 only (accidents, not tampering); nothing is authenticated');
  return { report: r, chunks };
}
