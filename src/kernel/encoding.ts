/**
 * Strict encodings. Hex and base64 are parsed exactly: exact alphabet, exact length when given, no whitespace,
 * no silent truncation (unlike `Buffer.from(s, 'hex')`, which stops at the first bad character).
 */
import { EvidentError } from './errors.ts';

/**
 * A plain Uint8Array over a Buffer's bytes, without copying. Small `Buffer.from(…)` results live in Node's shared
 * pool; a view keeps that slab alive as the Buffer would, while a copy costs an ArrayBuffer allocation of its own
 * (0.75 µs for a 256-byte signature: more than decoding it).
 */
export function bytesView(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** The other way: a Buffer over a Uint8Array's bytes, without copying (the Buffer itself when it is one). */
export function bufferView(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

const HEX_LOWER = /^(?:[0-9a-f]{2})*$/;
const HEX_ANY = /^(?:[0-9a-fA-F]{2})*$/;

export interface HexOptions {
  /** Required byte length. */
  length?: number;
  /** `lower` (default): only 0-9a-f. `any`: also A-F. */
  case?: 'lower' | 'any';
}

export function parseHex(s: string, opts: HexOptions = {}): Uint8Array {
  if (typeof s !== 'string') throw new EvidentError('HEX_INVALID', 'hex value is not a string');
  const re = (opts.case ?? 'lower') === 'lower' ? HEX_LOWER : HEX_ANY;
  if (!re.test(s)) throw new EvidentError('HEX_INVALID', `invalid ${opts.case === 'any' ? '' : 'lowercase '}hex`);
  if (opts.length !== undefined && s.length !== opts.length * 2) {
    throw new EvidentError('HEX_INVALID', `hex must encode exactly ${opts.length} bytes, got ${s.length / 2}`);
  }
  return bytesView(Buffer.from(s, 'hex'));
}

export function isHex(s: unknown, bytes?: number): s is string {
  return typeof s === 'string' && HEX_LOWER.test(s) && (bytes === undefined || s.length === bytes * 2);
}

export function toHex(b: Uint8Array): string {
  return bufferView(b).toString('hex');
}

const B64_STD = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const B64_STD_NOPAD = /^[A-Za-z0-9+/]*$/;
const B64_URL = /^[A-Za-z0-9_-]*$/;
const B64_URL_PAD = /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}==|[A-Za-z0-9_-]{3}=)?$/;

export interface Base64Options {
  /** `std` (default, RFC 4648 §4) or `url` (§5). */
  alphabet?: 'std' | 'url';
  /** `required` (default for std), `forbidden` (default for url), `optional`. */
  padding?: 'required' | 'forbidden' | 'optional';
  length?: number;
}

/** Strict base64 decoding. Rejects wrong alphabet, bad padding, impossible lengths and non-canonical trailing bits. */
export function parseBase64(s: string, opts: Base64Options = {}): Uint8Array {
  if (typeof s !== 'string') throw new EvidentError('BASE64_INVALID', 'base64 value is not a string');
  const url = opts.alphabet === 'url';
  const padding = opts.padding ?? (url ? 'forbidden' : 'required');
  // Node's decoder is lenient (skips junk, either alphabet, any padding), so validity is decided by re-encoding:
  // a valid input equals the canonical padded or unpadded encoding of what it decodes to — exact alphabet, exact
  // padding, zero trailing bits — with no regex pass over long inputs.
  const buf = Buffer.from(s, url ? 'base64url' : 'base64');
  let padded: string;
  let unpadded: string;
  if (url) {
    unpadded = buf.toString('base64url');
    padded = unpadded + '='.repeat((4 - (unpadded.length % 4)) % 4);
  } else {
    padded = buf.toString('base64');
    unpadded = padded.endsWith('==') ? padded.slice(0, -2) : padded.endsWith('=') ? padded.slice(0, -1) : padded;
  }
  if (!((padding !== 'forbidden' && s === padded) || (padding !== 'required' && s === unpadded))) {
    const hasPad = s.endsWith('=');
    let form: boolean;
    if (hasPad) form = padding !== 'forbidden' && (url ? B64_URL_PAD : B64_STD).test(s);
    else if (padding === 'required') form = s.length % 4 === 0 && (url ? B64_URL : B64_STD_NOPAD).test(s);
    else form = s.length % 4 !== 1 && (url ? B64_URL : B64_STD_NOPAD).test(s);
    if (!form) throw new EvidentError('BASE64_INVALID', `invalid ${url ? 'base64url' : 'base64'}${padding === 'forbidden' ? ' (no padding)' : ''}`);
    throw new EvidentError('BASE64_INVALID', 'non-canonical base64 (trailing bits set)');
  }
  if (opts.length !== undefined && buf.length !== opts.length) {
    throw new EvidentError('BASE64_INVALID', `base64 must encode exactly ${opts.length} bytes, got ${buf.length}`);
  }
  return bytesView(buf);
}

export function toBase64(b: Uint8Array): string {
  return bufferView(b).toString('base64');
}

export function toBase64Url(b: Uint8Array): string {
  return bufferView(b).toString('base64url');
}

const te = new TextEncoder();
export function utf8(s: string): Uint8Array {
  return te.encode(s);
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
