/**
 * Tiny RFC 6962 Merkle helper (local to the HashMatch profile): leaf = SHA-256(0x00 || data),
 * node = SHA-256(0x01 || left || right); the tree over n leaves splits at the largest power of two < n.
 * Empty tree root = SHA-256("").
 */
import { createHash } from '../../kernel/crypto/index.ts';

export function leafHash(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(Uint8Array.of(0)).update(data).digest());
}

export function nodeHash(l: Uint8Array, r: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(Uint8Array.of(1)).update(l).update(r).digest());
}

/** Root over already-hashed leaves (iterative, RFC 6962 shape). */
export function rootFromLeafHashes(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return new Uint8Array(createHash('sha256').digest());
  const rec = (lo: number, hi: number): Uint8Array => {
    if (hi - lo === 1) return leaves[lo]!;
    let k = 1;
    while (k * 2 < hi - lo) k *= 2;
    return nodeHash(rec(lo, lo + k), rec(lo + k, hi));
  };
  return rec(0, leaves.length);
}

export function merkleRoot(items: readonly Uint8Array[]): Uint8Array {
  return rootFromLeafHashes(items.map(leafHash));
}

/** Audit path for leaf `index` (RFC 6962 §2.1.1). */
export function auditPath(leaves: readonly Uint8Array[], index: number): Uint8Array[] {
  const path: Uint8Array[] = [];
  const rec = (lo: number, hi: number, i: number): void => {
    if (hi - lo <= 1) return;
    let k = 1;
    while (k * 2 < hi - lo) k *= 2;
    if (i < lo + k) {
      rec(lo, lo + k, i);
      path.push(rootFromLeafHashes(leaves.slice(lo + k, hi)));
    } else {
      rec(lo + k, hi, i);
      path.push(rootFromLeafHashes(leaves.slice(lo, lo + k)));
    }
  };
  rec(0, leaves.length, index);
  return path;
}

/** Verify an RFC 6962 / RFC 9162 inclusion proof. */
export function verifyInclusion(leaf: Uint8Array, index: number, size: number, path: readonly Uint8Array[], root: Uint8Array): boolean {
  if (index < 0 || index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn !== 0) return false;
  return Buffer.compare(Buffer.from(r), Buffer.from(root)) === 0;
}
