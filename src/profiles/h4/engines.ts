/**
 * HarmonyØ4 compression engines (specs/hashmatch-h4.md §B.1, §B.2).
 *
 * An engine turns one CORE block into bytes and back. Built-ins:
 * - `reference-rle`: upstream's open "geometric-reference" byte RLE — output is (value, run ≤ 255) pairs. Upstream
 *   rejects inputs whose length is not a multiple of 256; we accept any length (decoding is the same) and
 *   `compressStrictUpstream` keeps the upstream rule for compat builds.
 * - `deflate`, `brotli`: node:zlib with fixed parameters (same input → same bytes for a given zlib build).
 *
 * Engine identity is {engine, engine_id, fingerprint}. For built-ins the fingerprint is SHA-256 of a fixed
 * parameter descriptor (there is no module file); sealed engines loaded from a file use SHA-256 of the file
 * bytes (sealing.ts).
 */
import zlib from 'node:zlib';
import { EvidentError } from '../../kernel/errors.ts';
import { sha256Hex } from '../../kernel/digest.ts';

/** Upper bound for one decompressed CORE block (bounded output: no decompression bombs). */
export const MAX_BLOCK_BYTES = 64 * 1024 * 1024;

/** META `compression` block (key order is the upstream insertion order). */
export interface EngineInfo {
  engine: string;
  engine_id: string;
  fingerprint: string;
  deterministic: boolean;
  identity_safe: boolean;
  opaque: boolean;
  sealed: boolean;
}

export interface Engine {
  /** CLI name (`reference-rle`, `deflate`, `brotli`, or a sealed module's id). */
  readonly name: string;
  info(): EngineInfo;
  compress(block: Uint8Array): Uint8Array;
  /** Throws EvidentError(H4_DECOMPRESS_FAILED) on malformed data or output above MAX_BLOCK_BYTES. */
  decompress(data: Uint8Array): Uint8Array;
}

/** Upstream's reference engine name as written in META. */
export const REFERENCE_META_ENGINE = 'geometric-reference';

function rleCompress(block: Uint8Array): Uint8Array {
  if (block.length === 0) return new Uint8Array(0);
  // worst case: every byte distinct → 2× input
  const out = Buffer.allocUnsafe(block.length * 2);
  let o = 0;
  let i = 0;
  const n = block.length;
  while (i < n) {
    const v = block[i]!;
    let j = i + 1;
    const lim = Math.min(n, i + 255);
    while (j < lim && block[j] === v) j++;
    out[o++] = v;
    out[o++] = j - i;
    i = j;
  }
  return new Uint8Array(out.buffer, out.byteOffset, o);
}

function rleDecompress(data: Uint8Array, max = MAX_BLOCK_BYTES): Uint8Array {
  if (data.length % 2 !== 0) throw new EvidentError('H4_DECOMPRESS_FAILED', 'reference-rle: compressed length must be even');
  let total = 0;
  for (let i = 1; i < data.length; i += 2) {
    const run = data[i]!;
    if (run === 0) throw new EvidentError('H4_DECOMPRESS_FAILED', `reference-rle: zero run length at offset ${i}`);
    total += run;
  }
  if (total > max) throw new EvidentError('H4_DECOMPRESS_FAILED', `reference-rle: output exceeds ${max} bytes`);
  const out = Buffer.allocUnsafe(total);
  let o = 0;
  for (let i = 0; i < data.length; i += 2) {
    const run = data[i + 1]!;
    out.fill(data[i]!, o, o + run);
    o += run;
  }
  return new Uint8Array(out.buffer, out.byteOffset, total);
}

/** Upstream rule for the reference engine: input length must be a multiple of 256. */
export function checkUpstreamReferenceBlock(block: Uint8Array): void {
  if (block.length % 256 !== 0) {
    throw new EvidentError('H4_BLOCK_UNALIGNED', `upstream reference engine needs blocks whose length is a multiple of 256 (got ${block.length})`);
  }
}

const referenceRle: Engine = {
  name: 'reference-rle',
  info: () => ({
    engine: REFERENCE_META_ENGINE,
    engine_id: 'unknown',
    fingerprint: 'unknown',
    deterministic: true,
    identity_safe: true,
    opaque: false,
    sealed: false,
  }),
  compress: rleCompress,
  decompress: (d) => rleDecompress(d),
};

const u8 = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

function zlibFail(name: string, e: unknown): never {
  const code = (e as { code?: string })?.code;
  if (code === 'ERR_BUFFER_TOO_LARGE') throw new EvidentError('H4_DECOMPRESS_FAILED', `${name}: output exceeds ${MAX_BLOCK_BYTES} bytes`);
  throw new EvidentError('H4_DECOMPRESS_FAILED', `${name}: ${(e as Error)?.message ?? String(e)}`);
}

const DEFLATE_PARAMS = { level: 6, windowBits: 15, memLevel: 8, strategy: zlib.constants.Z_DEFAULT_STRATEGY };
const DEFLATE_DESCRIPTOR = `evident-h4-engine:deflate:raw:level=6:windowBits=15:memLevel=8:strategy=0`;
const deflate: Engine = {
  name: 'deflate',
  info: () => ({
    engine: 'deflate',
    engine_id: 'evident-deflate-v1',
    fingerprint: sha256Hex(DEFLATE_DESCRIPTOR),
    deterministic: true,
    identity_safe: true,
    opaque: false,
    sealed: false,
  }),
  compress: (b) => u8(zlib.deflateRawSync(b, DEFLATE_PARAMS)),
  decompress: (d) => {
    try {
      return u8(zlib.inflateRawSync(d, { windowBits: 15, maxOutputLength: MAX_BLOCK_BYTES }));
    } catch (e) {
      return zlibFail('deflate', e);
    }
  },
};

const BROTLI_QUALITY = 5;
const BROTLI_LGWIN = 22;
const BROTLI_DESCRIPTOR = `evident-h4-engine:brotli:quality=${BROTLI_QUALITY}:lgwin=${BROTLI_LGWIN}:mode=generic`;
const brotli: Engine = {
  name: 'brotli',
  info: () => ({
    engine: 'brotli',
    engine_id: 'evident-brotli-v1',
    fingerprint: sha256Hex(BROTLI_DESCRIPTOR),
    deterministic: true,
    identity_safe: true,
    opaque: false,
    sealed: false,
  }),
  compress: (b) =>
    u8(
      zlib.brotliCompressSync(b, {
        params: {
          [zlib.constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
          [zlib.constants.BROTLI_PARAM_LGWIN]: BROTLI_LGWIN,
          [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_GENERIC,
          [zlib.constants.BROTLI_PARAM_SIZE_HINT]: 0,
        },
      }),
    ),
  decompress: (d) => {
    try {
      return u8(zlib.brotliDecompressSync(d, { maxOutputLength: MAX_BLOCK_BYTES }));
    } catch (e) {
      return zlibFail('brotli', e);
    }
  },
};

export const BUILTIN_ENGINES: readonly Engine[] = [referenceRle, deflate, brotli];
export const BUILTIN_ENGINE_NAMES: readonly string[] = BUILTIN_ENGINES.map((e) => e.name);

export function referenceEngine(): Engine {
  return referenceRle;
}

/** A built-in engine by CLI name (throws H4_ENGINE_UNKNOWN). */
export function builtinEngine(name: string): Engine {
  const e = BUILTIN_ENGINES.find((x) => x.name === name);
  if (!e) throw new EvidentError('H4_ENGINE_UNKNOWN', `unknown engine ${JSON.stringify(name)} (built-in: ${BUILTIN_ENGINE_NAMES.join(', ')})`);
  return e;
}

/** True when two engine identities are the same engine (engine, engine_id and fingerprint all equal). */
export function sameEngine(a: Pick<EngineInfo, 'engine' | 'engine_id' | 'fingerprint'>, b: Pick<EngineInfo, 'engine' | 'engine_id' | 'fingerprint'>): boolean {
  return a.engine === b.engine && a.engine_id === b.engine_id && a.fingerprint === b.fingerprint;
}

/** The built-in engine whose identity equals a META `compression` block, if any. */
export function builtinForIdentity(id: Pick<EngineInfo, 'engine' | 'engine_id' | 'fingerprint'>): Engine | undefined {
  return BUILTIN_ENGINES.find((e) => sameEngine(e.info(), id));
}
