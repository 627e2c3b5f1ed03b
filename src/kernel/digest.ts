/** SHA-256 digests rendered `sha256:` + 64 lowercase hex, strict parsing, constant-time comparison. */
import * as nodeCrypto from './crypto/index.ts';
import { createHash, timingSafeEqual as nodeTimingSafeEqual } from './crypto/index.ts';
import { EvidentError } from './errors.ts';

export const SHA256_PREFIX = 'sha256:';
const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

/** One-shot `crypto.hash` (Node >= 20.12): about twice as fast as createHash for small inputs. */
const oneShot = (nodeCrypto as unknown as { hash?: (alg: string, data: Uint8Array | string, enc: string) => string | Buffer }).hash;

export function sha256(data: Uint8Array | string): Uint8Array {
  const b = oneShot ? (oneShot('sha256', data, 'buffer') as Buffer) : createHash('sha256').update(data).digest();
  return new Uint8Array(b);
}

export function sha256Hex(data: Uint8Array | string): string {
  return oneShot ? (oneShot('sha256', data, 'hex') as string) : createHash('sha256').update(data).digest('hex');
}

/** `sha256:` + 64 lowercase hex of the data (strings are hashed as UTF-8). */
export function sha256Digest(data: Uint8Array | string): string {
  return SHA256_PREFIX + sha256Hex(data);
}

export function isDigest(s: unknown): s is string {
  return typeof s === 'string' && DIGEST_RE.test(s);
}

/** Strictly parse `sha256:<64 lowercase hex>` into 32 bytes. */
export function parseDigest(s: string): Uint8Array {
  if (!isDigest(s)) throw new EvidentError('DIGEST_INVALID', `not a sha256 digest (expected "sha256:" + 64 lowercase hex): ${JSON.stringify(String(s).slice(0, 80))}`);
  return new Uint8Array(Buffer.from(s.slice(7), 'hex'));
}

export function formatDigest(bytes: Uint8Array): string {
  if (bytes.length !== 32) throw new EvidentError('DIGEST_INVALID', 'sha256 digest must be 32 bytes');
  return SHA256_PREFIX + Buffer.from(bytes).toString('hex');
}

/** Constant-time byte comparison (false on length mismatch, without early exit on content). */
export function timingSafeEqualBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return nodeTimingSafeEqual(a, b);
}

/** Constant-time comparison of two strings (UTF-8). Length differences return false. */
export function timingSafeEqualString(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  if (x.length !== y.length) {
    nodeTimingSafeEqual(x, x); // keep timing independent of where the strings differ
    return false;
  }
  return nodeTimingSafeEqual(x, y);
}

/** Incremental SHA-256 for streams. */
export function sha256Stream(): { update(chunk: Uint8Array): void; digest(): string } {
  const h = createHash('sha256');
  return {
    update: (c) => void h.update(c),
    digest: () => SHA256_PREFIX + h.digest('hex'),
  };
}
