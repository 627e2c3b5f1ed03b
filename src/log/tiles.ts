/**
 * C2SP tlog-tiles read-API layout (tile height 8, 256 hashes = 8,192 bytes per full tile).
 *
 *   <prefix>/checkpoint
 *   <prefix>/tile/<L>/<N>[.p/<W>]       Merkle hash tiles
 *   <prefix>/tile/entries/<N>[.p/<W>]   entry bundles (uint16 big-endian length-prefixed entries)
 *
 * N is written in zero-padded 3-digit groups, all but the last prefixed with "x" (1234067 → x001/x234/067).
 * A partial tile at level L for tree size s has width ⌊s / 256^L⌋ mod 256.
 */
import { EvidentError } from '../kernel/errors.ts';

export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 256;
/** Largest entry an entry bundle can carry: each entry is prefixed by a uint16 big-endian length. */
export const ENTRY_MAX_BYTES = 0xffff;

export function tileIndexPath(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new EvidentError('INPUT_INVALID', `invalid tile index ${n}`);
  let s = String(n % 1000).padStart(3, '0');
  let rest = Math.floor(n / 1000);
  while (rest > 0) {
    s = `x${String(rest % 1000).padStart(3, '0')}/${s}`;
    rest = Math.floor(rest / 1000);
  }
  return s;
}

/** Parse an index path back to N (strict: exactly the canonical encoding). */
export function parseTileIndexPath(p: string): number {
  const parts = p.split('/');
  if (parts.length === 0 || parts.length > 6) throw new EvidentError('INPUT_INVALID', `invalid tile index path ${JSON.stringify(p)}`);
  let n = 0;
  parts.forEach((part, i) => {
    const last = i === parts.length - 1;
    const m = last ? /^(\d{3})$/.exec(part) : /^x(\d{3})$/.exec(part);
    if (!m) throw new EvidentError('INPUT_INVALID', `invalid tile index path ${JSON.stringify(p)}`);
    n = n * 1000 + Number(m[1]);
  });
  if (tileIndexPath(n) !== p) throw new EvidentError('INPUT_INVALID', `non-canonical tile index path ${JSON.stringify(p)}`);
  return n;
}

export function tilePath(level: number, n: number, width?: number): string {
  if (!Number.isInteger(level) || level < 0 || level > 63) throw new EvidentError('INPUT_INVALID', `invalid tile level ${level}`);
  return `tile/${level}/${tileIndexPath(n)}${partial(width)}`;
}

export function entryBundlePath(n: number, width?: number): string {
  return `tile/entries/${tileIndexPath(n)}${partial(width)}`;
}

function partial(width?: number): string {
  if (width === undefined || width === TILE_WIDTH) return '';
  if (!Number.isInteger(width) || width < 1 || width > 255) throw new EvidentError('INPUT_INVALID', `invalid partial tile width ${width}`);
  return `.p/${width}`;
}

export interface TileLevelCount {
  level: number;
  fullTiles: number;
  partialWidth: number;
}

/** Full tiles and partial width per level for a tree size (levels with at least one hash). */
export function tileCounts(treeSize: number): TileLevelCount[] {
  const out: TileLevelCount[] = [];
  for (let level = 0; ; level++) {
    const hashes = Math.floor(treeSize / TILE_WIDTH ** level);
    if (hashes === 0) break;
    out.push({ level, fullTiles: Math.floor(hashes / TILE_WIDTH), partialWidth: hashes % TILE_WIDTH });
  }
  return out;
}

/** Paths of the partial tiles for a tree size. */
export function partialTilePaths(treeSize: number): string[] {
  return tileCounts(treeSize)
    .filter((l) => l.partialWidth > 0)
    .map((l) => tilePath(l.level, l.fullTiles, l.partialWidth));
}

/** Entry bundle path holding entry `index` for a tree of `treeSize` (partial when the bundle is the last, incomplete one). */
export function entryBundlePathFor(index: number, treeSize?: number): string {
  const n = Math.floor(index / TILE_WIDTH);
  if (treeSize === undefined) return entryBundlePath(n);
  const full = Math.floor(treeSize / TILE_WIDTH);
  return n < full ? entryBundlePath(n) : entryBundlePath(n, treeSize % TILE_WIDTH);
}
