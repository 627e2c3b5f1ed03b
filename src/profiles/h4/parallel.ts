/**
 * Large-container verification on two cores: CRC-32 of every chunk payload in a worker thread while the calling
 * thread computes VERI (SHA-256). Both are then handed to {@link verifyH4mk}, which stays the one authoritative,
 * synchronous verifier (it only looks the precomputed values up by offset; nothing else changes).
 *
 * Needs the bytes in a SharedArrayBuffer (no copy to the worker): src/store/files.ts readFileShared reads a file
 * that way (the verify CLI does so for large inputs).
 * Smaller inputs, or ordinary buffers, are verified on the calling thread as before.
 */
import { Worker } from 'node:worker_threads';
import { computeVeri, parseH4mk } from './container.ts';
import { verifyH4mk, type H4mkPrecomputed, type H4mkVerifyOptions, type H4mkVerifyResult } from './verify.ts';

/** Below this a worker's start-up (~25 ms) costs more than the overlap saves. */
export const PARALLEL_MIN_BYTES = 32 * 1024 * 1024;

const CRC_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const zlib = require('node:zlib');
const u8 = new Uint8Array(workerData.sab, workerData.offset, workerData.length);
parentPort.postMessage(workerData.ranges.map(([o, l]) => zlib.crc32(u8.subarray(o, o + l)) >>> 0));
`;

function crcsInWorker(bytes: Uint8Array, ranges: Array<[number, number]>): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const w = new Worker(CRC_WORKER, { eval: true, workerData: { sab: bytes.buffer, offset: bytes.byteOffset, length: bytes.byteLength, ranges } });
    w.once('message', (m: number[]) => {
      resolve(m);
      void w.terminate();
    });
    w.once('error', reject);
    w.once('exit', (code) => {
      if (code !== 0) reject(new Error(`CRC worker exited with ${code}`));
    });
  });
}

/** CRCs (worker) and VERI digests (this thread) of a large SharedArrayBuffer-backed container, in parallel. */
export async function precomputeH4mk(bytes: Uint8Array): Promise<H4mkPrecomputed | undefined> {
  if (bytes.byteLength < PARALLEL_MIN_BYTES || !(bytes.buffer instanceof SharedArrayBuffer)) return undefined;
  let parsed;
  try {
    parsed = parseH4mk(bytes, { checkCrc: false });
  } catch {
    return undefined; // the verifier reports the header problem itself
  }
  const ranges = parsed.chunks.map((c) => [c.payloadOffset, c.length] as [number, number]);
  const pending = crcsInWorker(bytes, ranges);
  const veri = new Map<number, Uint8Array>();
  for (const c of parsed.chunks) if (c.tag === 'VERI') veri.set(c.headerOffset, computeVeri(bytes, c.headerOffset));
  let crcs: number[];
  try {
    crcs = await pending;
  } catch {
    return { veri }; // worker unavailable: CRCs are computed inline by the verifier
  }
  return { crc: new Map(parsed.chunks.map((c, i) => [c.payloadOffset, crcs[i]!])), veri };
}

/** {@link verifyH4mk} with the two-core precomputation when it pays off. Same result, same report. */
export async function verifyH4mkAsync(bytes: Uint8Array, opts: H4mkVerifyOptions): Promise<H4mkVerifyResult> {
  const precomputed = opts.precomputed ?? (await precomputeH4mk(bytes));
  return verifyH4mk(bytes, { ...opts, precomputed });
}
