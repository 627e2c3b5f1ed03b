/**
 * A read-only client of a log's C2SP tlog-tiles API: the checkpoint, hash tiles and entry bundles over HTTP(S) —
 * nothing else, so it works against any static mirror of the tiles.
 *
 * Every tile is verified before use against the checkpoint the client opened (pinned log key):
 * - the right-edge partial tiles of the tree size (one per level, widths = the base-256 digits of the size) must
 *   hash to the checkpoint root;
 * - a full tile at level L, index n must hash to entry n of level L+1 (its parent tile, verified the same way);
 * - an entry bundle's entries must hash to the level-0 hashes.
 * A partial tile that is gone (mirrors may keep only full tiles) is read from the full tile's prefix.
 * Proofs are assembled from the same perfect-subtree nodes as the local log, so they are byte-identical.
 */
import { EvidentError } from '../kernel/errors.ts';
import type { NoteVerifier } from '../kernel/note.ts';
import { timingSafeEqualBytes } from '../kernel/digest.ts';
import { assembleProof, consistencyProofPlan, hashChildren, hashLeaf, inclusionProofPlan, planNodeIds, HASH_SIZE, emptyRoot, type NodeId } from './merkle.ts';
import { openCheckpoint, type VerifiedCheckpoint } from './checkpoint.ts';
import { entryBundlePath, tilePath, TILE_HEIGHT, TILE_WIDTH } from './tiles.ts';
import { formatTlogProof } from './tlogproof.ts';

export interface RemoteLogOptions {
  logKey: NoteVerifier;
  witnesses?: NoteVerifier[];
  quorum?: number;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

const MAX_TILE_BYTES = TILE_WIDTH * HASH_SIZE;
const MAX_BUNDLE_BYTES = TILE_WIDTH * (2 + 0xffff);

export class RemoteLog {
  readonly base: string;
  private cp: VerifiedCheckpoint | undefined;
  private note = '';
  /** Verified hash tiles: `${level}/${n}` → hashes (as many as the tree of the checkpoint has). */
  private tiles = new Map<string, Uint8Array[]>();

  constructor(
    url: string,
    private readonly o: RemoteLogOptions,
  ) {
    this.base = url.replace(/\/+$/, '');
  }

  private async get(p: string, limit: number): Promise<Uint8Array | undefined> {
    let res: Response;
    try {
      res = await (this.o.fetch ?? fetch)(`${this.base}/${p}`, { signal: AbortSignal.timeout(this.o.timeoutMs ?? 15_000) });
    } catch (e) {
      throw new EvidentError('IO_ERROR', `cannot fetch ${this.base}/${p}: ${(e as Error).message}`);
    }
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new EvidentError('IO_ERROR', `GET ${this.base}/${p} answered ${res.status}`);
    }
    const b = new Uint8Array(await res.arrayBuffer());
    if (b.length > limit) throw new EvidentError('IO_ERROR', `${p}: response larger than ${limit} bytes`);
    return b;
  }

  /** Fetch and open the latest checkpoint (log signature, origin, witness quorum); resets the tile cache. */
  async checkpoint(): Promise<{ note: string; checkpoint: VerifiedCheckpoint }> {
    const b = await this.get('checkpoint', 1024 * 1024);
    if (!b) throw new EvidentError('IO_ERROR', `${this.base}/checkpoint: not found`);
    const note = new TextDecoder().decode(b);
    const cp = openCheckpoint(note, this.o.logKey, { witnesses: this.o.witnesses, quorum: this.o.quorum });
    this.cp = cp;
    this.note = note;
    this.tiles.clear();
    await this.verifyRightEdge();
    return { note, checkpoint: cp };
  }

  get size(): number {
    return this.need().size;
  }

  private need(): VerifiedCheckpoint {
    if (!this.cp) throw new EvidentError('INPUT_INVALID', 'no checkpoint fetched yet');
    return this.cp;
  }

  /** Hashes at tile level L (tree level 8L) in the tree of the checkpoint. */
  private countAt(level: number): number {
    return Math.floor(this.need().size / TILE_WIDTH ** level);
  }

  /** Raw tile fetch: `width` hashes of tile (level, n), from the partial tile or the full tile's prefix. */
  private async fetchTile(level: number, n: number, width: number): Promise<Uint8Array[]> {
    let b = await this.get(tilePath(level, n, width), MAX_TILE_BYTES);
    if (!b && width < TILE_WIDTH) {
      const full = await this.get(tilePath(level, n), MAX_TILE_BYTES);
      if (full && full.length === MAX_TILE_BYTES) b = full.subarray(0, width * HASH_SIZE);
    }
    if (!b) throw new EvidentError('IO_ERROR', `tile ${tilePath(level, n, width)} not found at ${this.base}`);
    if (b.length !== width * HASH_SIZE) throw new EvidentError('PROOF_INVALID', `tile ${tilePath(level, n, width)} has ${b.length} bytes, expected ${width * HASH_SIZE}`);
    return Array.from({ length: width }, (_, i) => b!.slice(i * HASH_SIZE, (i + 1) * HASH_SIZE));
  }

  /** The right-edge partial tiles must rebuild the checkpoint root. */
  private async verifyRightEdge(): Promise<void> {
    const cp = this.need();
    if (cp.size === 0) {
      if (!timingSafeEqualBytes(cp.rootHash, emptyRoot())) throw new EvidentError('PROOF_INVALID', 'checkpoint of size 0 with a non-empty root');
      return;
    }
    // the tree is w_top·256^top + … + w_0·256^0 leaves: fold the subtrees, smallest (rightmost) first
    const subtrees: Uint8Array[] = [];
    for (let level = 0; this.countAt(level) > 0; level++) {
      const w = this.countAt(level) % TILE_WIDTH;
      if (w === 0) continue;
      const n = Math.floor(this.countAt(level) / TILE_WIDTH);
      const hashes = await this.fetchTile(level, n, w);
      this.tiles.set(`${level}/${n}`, hashes);
      // w hashes of height 8L: their compact decomposition, largest first, folded right to left
      const parts: Uint8Array[] = [];
      let start = 0;
      for (let bit = 7; bit >= 0; bit--) {
        if ((w >> bit) & 1) {
          parts.push(perfectRoot(hashes.slice(start, start + (1 << bit))));
          start += 1 << bit;
        }
      }
      subtrees.unshift(...parts);
    }
    let root = subtrees[subtrees.length - 1]!;
    for (let i = subtrees.length - 2; i >= 0; i--) root = hashChildren(subtrees[i]!, root);
    if (!timingSafeEqualBytes(root, cp.rootHash)) throw new EvidentError('PROOF_INVALID', `the tiles at ${this.base} do not hash to the checkpoint root (size ${cp.size})`);
  }

  /** Verified hashes of tile (level, n). */
  private async tile(level: number, n: number): Promise<Uint8Array[]> {
    const k = `${level}/${n}`;
    const cached = this.tiles.get(k);
    if (cached) return cached;
    const count = this.countAt(level);
    const full = Math.floor(count / TILE_WIDTH);
    if (n >= full) throw new EvidentError('INPUT_INVALID', `tile ${k} is beyond the tree of size ${this.need().size}`);
    // a full tile: its root is entry n of the level above
    const hashes = await this.fetchTile(level, n, TILE_WIDTH);
    const parent = await this.tile(level + 1, Math.floor(n / TILE_WIDTH));
    if (!timingSafeEqualBytes(perfectRoot(hashes), parent[n % TILE_WIDTH]!)) throw new EvidentError('PROOF_INVALID', `tile ${tilePath(level, n)} does not match its parent tile`);
    this.tiles.set(k, hashes);
    return hashes;
  }

  /** Hash of the perfect node (level, index) of the checkpoint's tree. */
  async node(id: NodeId): Promise<Uint8Array> {
    const { level, index } = id;
    if ((index + 1) * 2 ** level > this.need().size) throw new EvidentError('INPUT_INVALID', `node ${level}/${index} is not in the tree of size ${this.need().size}`);
    const tl = Math.floor(level / TILE_HEIGHT);
    const sub = level - tl * TILE_HEIGHT;
    const first = index * 2 ** sub; // first hash of tile level tl under this node
    const width = 2 ** sub;
    const hashes: Uint8Array[] = [];
    for (let i = first; i < first + width; ) {
      const t = await this.tile(tl, Math.floor(i / TILE_WIDTH));
      const off = i % TILE_WIDTH;
      const take = Math.min(width - (i - first), TILE_WIDTH - off);
      hashes.push(...t.slice(off, off + take));
      i += take;
    }
    return perfectRoot(hashes);
  }

  private async nodes(ids: NodeId[]): Promise<Map<string, Uint8Array>> {
    const m = new Map<string, Uint8Array>();
    for (const id of ids) m.set(`${id.level}/${id.index}`, await this.node(id));
    return m;
  }

  async inclusionProof(index: number, size = this.need().size): Promise<Uint8Array[]> {
    if (size > this.need().size) throw new EvidentError('INPUT_INVALID', `size ${size} is larger than the checkpoint (${this.need().size})`);
    const plan = inclusionProofPlan(index, size);
    const m = await this.nodes(planNodeIds(plan));
    return assembleProof(plan, (id) => m.get(`${id.level}/${id.index}`));
  }

  async consistencyProof(from: number, to = this.need().size): Promise<Uint8Array[]> {
    if (to > this.need().size) throw new EvidentError('INPUT_INVALID', `size ${to} is larger than the checkpoint (${this.need().size})`);
    const plan = consistencyProofPlan(from, to);
    const m = await this.nodes(planNodeIds(plan));
    return assembleProof(plan, (id) => m.get(`${id.level}/${id.index}`));
  }

  /** Entries [from, to) from the entry bundles, each checked against its verified leaf hash. */
  async entries(from: number, to = this.need().size): Promise<Uint8Array[]> {
    const size = this.need().size;
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || to > size || from > to) throw new EvidentError('INPUT_INVALID', `entries [${from}, ${to}) are not in the tree of size ${size}`);
    const out: Uint8Array[] = [];
    for (let n = Math.floor(from / TILE_WIDTH); n * TILE_WIDTH < to; n++) {
      const width = Math.min(TILE_WIDTH, size - n * TILE_WIDTH);
      let b = await this.get(entryBundlePath(n, width), MAX_BUNDLE_BYTES);
      let prefixOfFull = false;
      if (!b && width < TILE_WIDTH) {
        b = await this.get(entryBundlePath(n), MAX_BUNDLE_BYTES);
        prefixOfFull = true;
      }
      if (!b) throw new EvidentError('IO_ERROR', `entry bundle ${entryBundlePath(n, width)} not found at ${this.base}`);
      const bundle = parseEntryBundle(b, width, prefixOfFull);
      const leaves = n * TILE_WIDTH + TILE_WIDTH <= size ? await this.tile(0, n) : this.tiles.get(`0/${n}`)!;
      bundle.forEach((e, i) => {
        if (!timingSafeEqualBytes(hashLeaf(e), leaves[i]!)) throw new EvidentError('PROOF_INVALID', `entry ${n * TILE_WIDTH + i} does not hash to its leaf in the tiles`);
      });
      for (let i = 0; i < width; i++) {
        const idx = n * TILE_WIDTH + i;
        if (idx >= from && idx < to) out.push(bundle[i]!);
      }
    }
    return out;
  }

  /** A C2SP tlog-proof@v1 for entry `index` against the fetched checkpoint (entry bytes in `extra` unless extra=false). */
  async tlogProof(index: number, o: { extra?: boolean } = {}): Promise<string> {
    const proof = await this.inclusionProof(index);
    const extra = o.extra === false ? undefined : (await this.entries(index, index + 1))[0];
    return formatTlogProof({ index, proof, checkpoint: this.note, extra });
  }
}

/** Root of a perfect subtree from its 2^k hashes. */
function perfectRoot(hashes: Uint8Array[]): Uint8Array {
  let level = hashes;
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(hashChildren(level[i]!, level[i + 1]!));
    level = next;
  }
  return level[0]!;
}

/** Split an entry bundle: `count` entries, each a uint16 big-endian length then the bytes; nothing may follow. */
export function parseEntryBundle(b: Uint8Array, count: number, allowMore = false): Uint8Array[] {
  const out: Uint8Array[] = [];
  let off = 0;
  for (let i = 0; i < count; i++) {
    if (off + 2 > b.length) throw new EvidentError('PROOF_INVALID', `entry bundle truncated at entry ${i}`);
    const len = (b[off]! << 8) | b[off + 1]!;
    off += 2;
    if (off + len > b.length) throw new EvidentError('PROOF_INVALID', `entry bundle truncated in entry ${i}`);
    out.push(b.slice(off, off + len));
    off += len;
  }
  // a full bundle read for a partial width legitimately holds more entries; otherwise the bundle must end here
  if (off !== b.length && !allowMore) throw new EvidentError('PROOF_INVALID', 'entry bundle has trailing bytes');
  return out;
}
