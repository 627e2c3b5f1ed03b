/**
 * RFC 6962 / RFC 9162 Merkle tree math (SHA-256), pure functions, no I/O.
 *
 *   leaf hash  = SHA-256(0x00 || entry)
 *   node hash  = SHA-256(0x01 || left || right)
 *   empty root = SHA-256("")
 *   split: the left subtree holds k leaves, k = the largest power of two strictly less than n.
 *
 * Stored node model ("perfect subtrees"): node (level L, index N) is the hash of leaves [N·2^L, (N+1)·2^L).
 * Every subtree the RFC recursion touches is either such a perfect node or lies on the right edge of the tree,
 * where its hash is the right-to-left fold of the perfect nodes covering it (at most log2(n) of them). So proofs
 * are generated from stored perfect nodes only ({@link inclusionProofPlan}, {@link consistencyProofPlan}), never
 * by rehashing the tree. {@link CompactRange} is the incremental root: appending a leaf costs amortised O(1)
 * hashes and yields exactly the new perfect nodes to store.
 *
 * Sizes and indices are JavaScript safe integers (< 2^53); anything else is rejected.
 */
import * as nodeCrypto from '../kernel/crypto/index.ts';
import { createHash } from '../kernel/crypto/index.ts';
import { bytesView } from '../kernel/encoding.ts';
import { EvidentError } from '../kernel/errors.ts';
import { timingSafeEqualBytes } from '../kernel/digest.ts';

export const HASH_SIZE = 32;

const LEAF = Uint8Array.of(0x00);
const NODE = Uint8Array.of(0x01);
/** One-shot `crypto.hash` (Node >= 20.12): no Hash object per call, the hot path of every append. */
const oneShot = (nodeCrypto as unknown as { hash?: (alg: string, data: Uint8Array, enc: 'buffer') => Buffer }).hash;
/** Scratch input buffers (single-threaded, used synchronously): prefix byte + data, hashed in one call. */
const SCRATCH_MAX = 4096;
const leafScratch = Buffer.alloc(1 + SCRATCH_MAX);
const nodeScratch = Buffer.alloc(1 + 2 * HASH_SIZE);
nodeScratch[0] = 0x01;

export function hashLeaf(entry: Uint8Array): Uint8Array {
  if (oneShot && entry.length <= SCRATCH_MAX) {
    leafScratch[0] = 0x00;
    leafScratch.set(entry, 1);
    return bytesView(oneShot('sha256', leafScratch.subarray(0, 1 + entry.length), 'buffer'));
  }
  return bytesView(createHash('sha256').update(LEAF).update(entry).digest());
}

export function hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  if (oneShot && left.length === HASH_SIZE && right.length === HASH_SIZE) {
    nodeScratch.set(left, 1);
    nodeScratch.set(right, 1 + HASH_SIZE);
    return bytesView(oneShot('sha256', nodeScratch, 'buffer'));
  }
  return bytesView(createHash('sha256').update(NODE).update(left).update(right).digest());
}

export function emptyRoot(): Uint8Array {
  return bytesView(createHash('sha256').digest());
}

function isSize(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

function checkHash(h: Uint8Array | undefined, what: string): Uint8Array {
  if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) throw new EvidentError('INPUT_INVALID', `${what} must be exactly ${HASH_SIZE} bytes`);
  return h;
}

/** Largest power of two strictly less than n (n >= 2). */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** Smallest power of two >= n (n >= 1). */
export function bitCeil(n: number): number {
  let k = 1;
  while (k < n) k *= 2;
  return k;
}

const half = (x: number): number => Math.floor(x / 2);
const odd = (x: number): boolean => x % 2 === 1;

/** MTH over leaf hashes (reference; O(n)). */
export function rootFromLeafHashes(leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return emptyRoot();
  const cr = new CompactRange();
  for (const l of leaves) cr.append(l);
  return cr.root();
}

// ---------------------------------------------------------------------------------------------------------------
// Compact range (incremental root)

/** A perfect node: hash of leaves [index·2^level, (index+1)·2^level). */
export interface NodeId {
  level: number;
  index: number;
}

/**
 * The compact range [0, size): one perfect node per set bit of size, largest first. `append` returns the perfect
 * nodes completed by the new leaf (level 0 = the leaf itself, then every merge), ready to be stored.
 */
export class CompactRange {
  /** Hashes of the perfect subtrees covering [0,size), left (largest) to right. */
  private hashes: Uint8Array[] = [];
  private n = 0;

  constructor(size = 0, hashes: Uint8Array[] = []) {
    if (!isSize(size)) throw new EvidentError('INPUT_INVALID', 'compact range size must be a safe non-negative integer');
    if (hashes.length !== popcount(size)) throw new EvidentError('INPUT_INVALID', `compact range of size ${size} needs ${popcount(size)} hashes, got ${hashes.length}`);
    hashes.forEach((h, i) => checkHash(h, `compact range hash ${i}`));
    this.n = size;
    this.hashes = hashes.slice();
  }

  get size(): number {
    return this.n;
  }

  /** The perfect node ids this range holds (largest first). */
  static nodeIds(size: number): NodeId[] {
    const out: NodeId[] = [];
    let start = 0;
    for (let level = 52; level >= 0; level--) {
      const w = 2 ** level;
      if (Math.floor(size / w) % 2 === 1) {
        out.push({ level, index: start / w });
        start += w;
      }
    }
    return out;
  }

  copyHashes(): Uint8Array[] {
    return this.hashes.slice();
  }

  append(leafHash: Uint8Array): Array<NodeId & { hash: Uint8Array }> {
    checkHash(leafHash, 'leaf hash');
    const created: Array<NodeId & { hash: Uint8Array }> = [];
    let index = this.n;
    let level = 0;
    let h = leafHash;
    created.push({ level, index, hash: h });
    let s = this.n;
    while (odd(s)) {
      const left = this.hashes.pop()!;
      h = hashChildren(left, h);
      s = half(s);
      index = half(index);
      level++;
      created.push({ level, index, hash: h });
    }
    this.hashes.push(h);
    this.n++;
    return created;
  }

  root(): Uint8Array {
    if (this.n === 0) return emptyRoot();
    let h = this.hashes[this.hashes.length - 1]!;
    for (let i = this.hashes.length - 2; i >= 0; i--) h = hashChildren(this.hashes[i]!, h);
    return h;
  }
}

function popcount(n: number): number {
  let c = 0;
  while (n > 0) {
    if (odd(n)) c++;
    n = half(n);
  }
  return c;
}

// ---------------------------------------------------------------------------------------------------------------
// Proof plans over stored perfect nodes

/** Perfect nodes covering [start, end) where start is aligned to the subtree (RFC recursion ranges). Largest first. */
export function rangeNodes(start: number, end: number): NodeId[] {
  const out: NodeId[] = [];
  let a = start;
  while (a < end) {
    // largest aligned power of two starting at a and fitting in [a, end)
    let w = 1;
    while (a % (w * 2) === 0 && a + w * 2 <= end) w *= 2;
    out.push({ level: Math.log2(w), index: a / w });
    a += w;
  }
  return out;
}

/** A proof element = the fold (right to left) of these perfect nodes. */
export type ProofPlan = NodeId[][];

/** Hash of a range from its perfect nodes (right-to-left fold). */
export function foldNodes(hashes: Uint8Array[]): Uint8Array {
  let h = hashes[hashes.length - 1]!;
  for (let i = hashes.length - 2; i >= 0; i--) h = hashChildren(hashes[i]!, h);
  return h;
}

/** RFC 6962 PATH(index, D[0:size]) as perfect-node ranges, leaf sibling first. */
export function inclusionProofPlan(index: number, size: number): ProofPlan {
  if (!isSize(index) || !isSize(size) || index >= size) throw new EvidentError('INPUT_INVALID', `index ${index} is not in a tree of size ${size}`);
  const out: ProofPlan = [];
  const rec = (m: number, a: number, b: number): void => {
    const n = b - a;
    if (n === 1) return;
    const k = splitPoint(n);
    if (m < k) {
      rec(m, a, a + k);
      out.push(rangeNodes(a + k, b));
    } else {
      rec(m - k, a + k, b);
      out.push(rangeNodes(a, a + k));
    }
  };
  rec(index, 0, size);
  return out;
}

/** RFC 6962 PROOF(m, D[0:n]) as perfect-node ranges. 0 < m <= n; m == n gives []. */
export function consistencyProofPlan(m: number, n: number): ProofPlan {
  if (!isSize(m) || !isSize(n) || m < 1 || m > n) throw new EvidentError('INPUT_INVALID', `no consistency proof from size ${m} to ${n}`);
  const out: ProofPlan = [];
  const rec = (mm: number, a: number, b: number, flag: boolean): void => {
    const len = b - a;
    if (mm === len) {
      if (!flag) out.push(rangeNodes(a, b));
      return;
    }
    const k = splitPoint(len);
    if (mm <= k) {
      rec(mm, a, a + k, flag);
      out.push(rangeNodes(a + k, b));
    } else {
      rec(mm - k, a + k, b, false);
      out.push(rangeNodes(a, a + k));
    }
  };
  rec(m, 0, n, true);
  return out;
}

/** Distinct node ids referenced by a plan (for one batched fetch). */
export function planNodeIds(plan: ProofPlan): NodeId[] {
  const seen = new Map<string, NodeId>();
  for (const item of plan) for (const id of item) seen.set(`${id.level}/${id.index}`, id);
  return [...seen.values()];
}

/** Assemble a proof from a plan and a node lookup. Throws if a node is missing. */
export function assembleProof(plan: ProofPlan, get: (id: NodeId) => Uint8Array | undefined): Uint8Array[] {
  return plan.map((item) =>
    foldNodes(
      item.map((id) => {
        const h = get(id);
        if (!h) throw new EvidentError('IO_ERROR', `missing stored node ${id.level}/${id.index}`);
        return h;
      }),
    ),
  );
}

/** Inclusion proof from leaf hashes in memory (reference, O(n)). */
export function inclusionProofFromLeaves(index: number, leaves: Uint8Array[]): Uint8Array[] {
  const nodes = nodeMapFromLeaves(leaves);
  return assembleProof(inclusionProofPlan(index, leaves.length), (id) => nodes.get(`${id.level}/${id.index}`));
}

/** Consistency proof from leaf hashes in memory (reference). */
export function consistencyProofFromLeaves(m: number, leaves: Uint8Array[]): Uint8Array[] {
  const nodes = nodeMapFromLeaves(leaves);
  return assembleProof(consistencyProofPlan(m, leaves.length), (id) => nodes.get(`${id.level}/${id.index}`));
}

/** All perfect nodes of a tree built from leaf hashes (tests/reference). */
export function nodeMapFromLeaves(leaves: Uint8Array[]): Map<string, Uint8Array> {
  const map = new Map<string, Uint8Array>();
  const cr = new CompactRange();
  for (const l of leaves) for (const c of cr.append(l)) map.set(`${c.level}/${c.index}`, c.hash);
  return map;
}

// ---------------------------------------------------------------------------------------------------------------
// Verification (RFC 9162 §2.1.3.2 and §2.1.4.2)

function eq(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqualBytes(a, b);
}

/** Root implied by an inclusion proof; throws INPUT_INVALID on structurally invalid proofs. */
export function rootFromInclusionProof(index: number, size: number, leafHash: Uint8Array, proof: Uint8Array[]): Uint8Array {
  if (!isSize(index) || !isSize(size) || index >= size) throw new EvidentError('INPUT_INVALID', `index ${index} out of range for size ${size}`);
  checkHash(leafHash, 'leaf hash');
  if (!Array.isArray(proof) || proof.length > 64) throw new EvidentError('INPUT_INVALID', 'proof too long');
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of proof) {
    checkHash(p, 'proof node');
    if (sn === 0) throw new EvidentError('INPUT_INVALID', 'inclusion proof too long');
    if (odd(fn) || fn === sn) {
      r = hashChildren(p, r);
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = hashChildren(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw new EvidentError('INPUT_INVALID', 'inclusion proof too short');
  return r;
}

/** RFC 9162 inclusion verification; false on any failure (never throws). */
export function verifyInclusion(index: number, size: number, leafHash: Uint8Array, proof: Uint8Array[], root: Uint8Array): boolean {
  try {
    checkHash(root, 'root');
    return eq(rootFromInclusionProof(index, size, leafHash, proof), root);
  } catch {
    return false;
  }
}

/**
 * RFC 9162 consistency verification with the transparency-dev edge rules: hashes exactly 32 bytes; size1 = 0 is an
 * error; size1 == size2 needs an empty proof and equal roots; size1 > size2 is an error. Never throws.
 */
export function verifyConsistency(size1: number, size2: number, proof: Uint8Array[], root1: Uint8Array, root2: Uint8Array): boolean {
  try {
    if (!isSize(size1) || !isSize(size2) || size1 < 1 || size1 > size2) return false;
    if (!Array.isArray(proof) || proof.length > 128) return false;
    // equal sizes: an empty proof and byte-identical roots (no further structure to check)
    if (size1 === size2) return proof.length === 0 && root1 instanceof Uint8Array && root2 instanceof Uint8Array && eq(root1, root2);
    checkHash(root1, 'root1');
    checkHash(root2, 'root2');
    for (const p of proof) checkHash(p, 'proof node');
    let path = proof;
    if (isPow2(size1)) path = [root1, ...proof];
    if (path.length === 0) return false;
    let fn = size1 - 1;
    let sn = size2 - 1;
    while (odd(fn)) {
      fn = half(fn);
      sn = half(sn);
    }
    let fr = path[0]!;
    let sr = path[0]!;
    for (const c of path.slice(1)) {
      if (sn === 0) return false;
      if (odd(fn) || fn === sn) {
        fr = hashChildren(c, fr);
        sr = hashChildren(c, sr);
        if (!odd(fn)) {
          while (!odd(fn) && fn !== 0) {
            fn = half(fn);
            sn = half(sn);
          }
        }
      } else {
        sr = hashChildren(sr, c);
      }
      fn = half(fn);
      sn = half(sn);
    }
    return sn === 0 && eq(fr, root1) && eq(sr, root2);
  } catch {
    return false;
  }
}

function isPow2(n: number): boolean {
  return n > 0 && bitCeil(n) === n;
}

// ---------------------------------------------------------------------------------------------------------------
// Subtrees (draft-ietf-plants-merkle-tree-certs): [start, end) with start a multiple of BIT_CEIL(end - start).

export function isValidSubtree(start: number, end: number): boolean {
  return isSize(start) && isSize(end) && start < end && start % bitCeil(end - start) === 0;
}

/** Inclusion of leaf `index` in subtree [start, end) whose hash is `subtreeHash`. Never throws. */
export function verifySubtreeInclusion(index: number, start: number, end: number, leafHash: Uint8Array, proof: Uint8Array[], subtreeHash: Uint8Array): boolean {
  if (!isValidSubtree(start, end) || !isSize(index) || index < start || index >= end) return false;
  return verifyInclusion(index - start, end - start, leafHash, proof, subtreeHash);
}

/**
 * Consistency of subtree [start, end) (hash `subtreeHash`) with the tree of size `size` (root `root`). The proof
 * follows the RFC 6962 SUBPROOF recursion generalised to a subtree target: descend towards the subtree, one
 * sibling hash per level (top-level sibling last); a frame equal to the subtree needs no hash; a frame where the
 * subtree is a proper prefix continues as an ordinary consistency proof. Never throws.
 */
export function verifySubtreeConsistency(start: number, end: number, size: number, proof: Uint8Array[], subtreeHash: Uint8Array, root: Uint8Array): boolean {
  try {
    if (!Array.isArray(proof) || proof.length > 128) return false;
    // the empty subtree [i, i) is trivially consistent with any tree containing position i; its hash is SHA-256("")
    if (isSize(start) && start === end) return isSize(size) && end <= size && proof.length === 0 && subtreeHash instanceof Uint8Array && eq(subtreeHash, emptyRoot());
    if (!isValidSubtree(start, end) || !isSize(size) || end > size) return false;
    if (start === 0 && end === size) return proof.length === 0 && subtreeHash instanceof Uint8Array && root instanceof Uint8Array && eq(subtreeHash, root);
    checkHash(subtreeHash, 'subtree hash');
    checkHash(root, 'root');
    if (!Array.isArray(proof) || proof.length > 128) return false;
    for (const p of proof) checkHash(p, 'proof node');
    let pos = proof.length;
    const pop = (): Uint8Array => {
      if (pos === 0) throw new EvidentError('INPUT_INVALID', 'proof too short');
      return proof[--pos]!;
    };
    const rec = (s: number, e: number, n: number, known: boolean): { fr: Uint8Array; sr: Uint8Array } => {
      if (s === 0 && e === n) {
        if (known) return { fr: subtreeHash, sr: subtreeHash };
        const p = pop();
        return { fr: p, sr: p };
      }
      const k = splitPoint(n);
      if (e <= k) {
        const right = pop();
        const r = rec(s, e, k, known);
        return { fr: r.fr, sr: hashChildren(r.sr, right) };
      }
      if (s >= k) {
        const left = pop();
        const r = rec(s - k, e - k, n - k, known);
        return { fr: r.fr, sr: hashChildren(left, r.sr) };
      }
      // s < k < e: the subtree starts at 0 (alignment) and is a proper prefix: ordinary consistency from here on.
      const left = pop();
      const r = rec(0, e - k, n - k, false);
      return { fr: hashChildren(left, r.fr), sr: hashChildren(left, r.sr) };
    };
    const r = rec(start, end, size, true);
    return pos === 0 && eq(r.fr, subtreeHash) && eq(r.sr, root);
  } catch {
    return false;
  }
}
