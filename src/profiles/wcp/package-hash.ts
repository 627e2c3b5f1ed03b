/**
 * WCP `canonical_package_hash` (spec wcp-eli-cphar.md §A.1).
 *
 * Record per kept regular file: `<rel>\n<size>\n<sha256hex>\n` (rel = POSIX relative path, UTF-8), records
 * concatenated in sort order, SHA-256 → 64 lowercase hex, no prefix. Exclusions are evaluated on the RELATIVE
 * path components only (`.git`, `__pycache__`, `.DS_Store`, `manifest.json`, `manifest.sig`, `manifest.tmp`, or a
 * path ending in `.pyc`), so where the package root lives never changes the hash (unlike pyhall-python, which
 * tests the absolute path).
 *
 * Orders: `python` = component-wise code-point comparison (pyhall-python `sorted(Path.rglob)`, the reference);
 * `bytewise` = UTF-8 byte order of the whole relative path (pyhall-go). Never locale collation.
 *
 * Symlinks: never followed outside the root (error `WCP_SYMLINK_OUTSIDE`). Policy `reject` (strict default):
 * any symlink below the root is an error (`WCP_SYMLINK_REJECTED`). Policy `follow-inside` (compat): a symlink to
 * a regular file inside the root is hashed with the target's bytes under the link's own path (as pyhall-python);
 * symlinks to directories are not descended (as Python 3.11 `rglob`).
 *
 * Files that change while being hashed (size or mtime differs between the open and the end of the read — and the
 * walk, when it stat'ed — or fewer/more bytes than stated) raise `WCP_FILE_CHANGED`. The recorded size is the one
 * the hashed bytes had.
 *
 * Large packages are hashed by a pool of worker threads (one per core).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { isUtf8 } from 'node:buffer';
import { EvidentError } from '../../kernel/errors.ts';
import { compareCodePoints } from '../../kernel/json/index.ts';

export type PackageOrder = 'python' | 'bytewise';
export const PACKAGE_ORDERS: readonly PackageOrder[] = ['python', 'bytewise'];
export type SymlinkPolicy = 'reject' | 'follow-inside';

export const EXCLUDED_NAMES: ReadonlySet<string> = new Set(['.git', '__pycache__', '.DS_Store', 'manifest.json', 'manifest.sig', 'manifest.tmp']);
export const EMPTY_PACKAGE_HASH = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** Bounds so hostile trees cannot exhaust memory. */
export const MAX_FILES = 5_000_000;
export const MAX_DEPTH = 256;

export interface PackageFile {
  rel: string;
  abs: string;
  /** -1 when the walk did not stat the file (the hasher does). */
  size: number;
  mtimeMs: number;
}

export interface PackageRecord {
  rel: string;
  size: number;
  sha256: string;
}

export interface PackageHashOptions {
  order?: PackageOrder;
  symlinks?: SymlinkPolicy;
  /** Worker threads for hashing; default: available cores when the package is large, else 0 (inline). */
  workers?: number;
  /** Called as bytes are hashed (for a progress bar). */
  onProgress?: (p: { doneBytes: number; totalBytes: number; doneFiles: number; totalFiles: number }) => void;
}

export interface PackageHashResult {
  hash: string;
  records: PackageRecord[];
  totalBytes: number;
}

/** True when a relative POSIX path is excluded from the package hash. */
export function isExcluded(rel: string): boolean {
  if (rel.endsWith('.pyc')) return true;
  for (const part of rel.split('/')) if (EXCLUDED_NAMES.has(part)) return true;
  return false;
}

/** pyhall-python order: compare the lists of path components, each component by code points. */
export function comparePythonPaths(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  const n = Math.min(pa.length, pb.length);
  for (let i = 0; i < n; i++) {
    const c = compareCodePoints(pa[i]!, pb[i]!);
    if (c !== 0) return c;
  }
  return pa.length - pb.length;
}

/** pyhall-go order: bytewise UTF-8 (= code-point order of the whole string). */
export function compareBytewise(a: string, b: string): number {
  return compareCodePoints(a, b);
}

export function sortRecords<T extends { rel: string }>(items: T[], order: PackageOrder = 'python'): T[] {
  const cmp = order === 'python' ? comparePythonPaths : compareBytewise;
  return items.sort((x, y) => cmp(x.rel, y.rel));
}

/** The exact hash input (records concatenated in the given order). */
export function packageHashInput(records: readonly PackageRecord[]): string {
  let s = '';
  for (const r of records) s += `${r.rel}\n${r.size}\n${r.sha256}\n`;
  return s;
}

/** Hash of already-sorted records. */
export function packageHashFromRecords(records: readonly PackageRecord[]): string {
  const h = createHash('sha256');
  for (const r of records) h.update(`${r.rel}\n${r.size}\n${r.sha256}\n`, 'utf8');
  return h.digest('hex');
}

function ioError(e: unknown, what: string): EvidentError {
  return new EvidentError('IO_ERROR', `${what}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
}

function isInside(root: string, p: string): boolean {
  const r = path.relative(root, p);
  return r === '' || (!r.startsWith('..' + path.sep) && r !== '..' && !path.isAbsolute(r));
}

/**
 * Walk the package and list the kept files (unsorted). With `stat: false` regular files are listed by name only
 * (size and mtime -1: the hasher stats them); symlinks followed inside the root are always stat'ed.
 */
export function listPackageFiles(root: string, opts: { symlinks?: SymlinkPolicy; stat?: boolean } = {}): PackageFile[] {
  const policy = opts.symlinks ?? 'reject';
  let rootReal: string;
  try {
    const st = fs.statSync(root);
    if (!st.isDirectory()) throw new EvidentError('INPUT_INVALID', `${root} is not a directory`);
    rootReal = fs.realpathSync(root);
  } catch (e) {
    if (e instanceof EvidentError) throw e;
    throw ioError(e, `cannot read package root ${root}`);
  }
  const out: PackageFile[] = [];
  const walk = (absDir: string, relDir: string, depth: number): void => {
    if (depth > MAX_DEPTH) throw new EvidentError('INPUT_INVALID', `package deeper than ${MAX_DEPTH} levels at ${relDir}`);
    let entries: fs.Dirent<Buffer>[];
    try {
      entries = fs.readdirSync(absDir, { withFileTypes: true, encoding: 'buffer' });
    } catch (e) {
      throw ioError(e, `cannot list ${relDir || '.'}`);
    }
    for (const ent of entries) {
      // strict UTF-8 (no overlongs, no encoded surrogates), as the fatal TextDecoder, without a decoder per name
      if (!isUtf8(ent.name)) throw new EvidentError('INPUT_INVALID', `file name is not valid UTF-8 in ${relDir || '.'}`);
      const name = ent.name.toString('utf8');
      const rel = relDir ? `${relDir}/${name}` : name;
      const abs = path.join(absDir, name);
      if (EXCLUDED_NAMES.has(name)) continue; // excluded component: nothing below it is hashed
      if (ent.isDirectory()) {
        walk(abs, rel, depth + 1);
        continue;
      }
      if (ent.isSymbolicLink()) {
        let target: string;
        try {
          target = fs.realpathSync(abs);
        } catch (e) {
          throw new EvidentError('WCP_SYMLINK_BROKEN', `symlink ${rel} cannot be resolved: ${(e as NodeJS.ErrnoException).code ?? ''}`);
        }
        if (!isInside(rootReal, target)) throw new EvidentError('WCP_SYMLINK_OUTSIDE', `symlink ${rel} points outside the package root`);
        if (policy === 'reject') throw new EvidentError('WCP_SYMLINK_REJECTED', `symlink ${rel} in the package (strict mode rejects symlinks; use compat to follow links inside the root)`);
        const st = fs.statSync(target);
        if (!st.isFile() || isExcluded(rel)) continue; // directory links are not descended (Python 3.11 rglob)
        out.push({ rel, abs: target, size: st.size, mtimeMs: st.mtimeMs });
      } else if (ent.isFile()) {
        // every component above was checked on the way down and this name above: only the .pyc rule is left
        if (name.endsWith('.pyc')) continue;
        if (opts.stat === false) {
          out.push({ rel, abs, size: -1, mtimeMs: -1 });
          if (out.length > MAX_FILES) throw new EvidentError('INPUT_INVALID', `package has more than ${MAX_FILES} files`);
          continue;
        }
        let st: fs.Stats;
        try {
          st = fs.lstatSync(abs);
        } catch (e) {
          throw ioError(e, `cannot stat ${rel}`);
        }
        out.push({ rel, abs, size: st.size, mtimeMs: st.mtimeMs });
      }
      if (out.length > MAX_FILES) throw new EvidentError('INPUT_INVALID', `package has more than ${MAX_FILES} files`);
    }
  };
  walk(rootReal, '', 0);
  return out;
}

const CHUNK = 1 << 20;
/** O_NONBLOCK: a file swapped for a FIFO after listing cannot block the open; O_NOFOLLOW: nor for a symlink. */
const OPEN_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0) | (fs.constants.O_NOFOLLOW ?? 0);

/** Hash one file synchronously, detecting changes during the read. Returns lowercase hex. */
export function hashFileChecked(f: { rel: string; abs: string; size: number; mtimeMs: number }, buf: Buffer = Buffer.allocUnsafe(CHUNK)): { sha256: string; size: number } {
  let fd: number;
  try {
    fd = fs.openSync(f.abs, OPEN_FLAGS);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw changed(f.rel);
    throw ioError(e, `cannot open ${f.rel}`);
  }
  try {
    const before = fs.fstatSync(fd);
    if (!before.isFile() || before.size !== f.size || before.mtimeMs !== f.mtimeMs) throw changed(f.rel);
    const h = createHash('sha256');
    let n = 0;
    // stop at the stated size (growth is caught by the final fstat), saving one read per file
    while (n < f.size) {
      const r = fs.readSync(fd, buf, 0, Math.min(buf.length, f.size - n), null);
      if (r === 0) break;
      n += r;
      h.update(r === buf.length ? buf : buf.subarray(0, r));
    }
    const after = fs.fstatSync(fd);
    if (n !== f.size || after.size !== f.size || after.mtimeMs !== before.mtimeMs) throw changed(f.rel);
    return { sha256: h.digest('hex'), size: n };
  } finally {
    fs.closeSync(fd);
  }
}

function changed(rel: string): EvidentError {
  return new EvidentError('WCP_FILE_CHANGED', `file ${rel} changed while it was being hashed`);
}

// Worker thread body (plain JS, evaluated; mirrors hashFileChecked).
const WORKER_SRC = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const { createHash, hash: oneShot } = require('node:crypto');
const buf = Buffer.allocUnsafe(${CHUNK});
parentPort.on('message', (batch) => {
  const out = [];
  for (const f of batch) {
    let fd;
    try { fd = fs.openSync(f.abs, ${OPEN_FLAGS}); } catch (e) { if (e.code === 'ELOOP') { parentPort.postMessage({ error: 'WCP_FILE_CHANGED', message: 'file ' + f.rel + ' changed while it was being hashed' }); return; } parentPort.postMessage({ error: 'IO_ERROR', message: 'cannot open ' + f.rel + ': ' + (e.code || e.message) }); return; }
    try {
      const before = fs.fstatSync(fd);
      // size < 0: the walk did not stat (the worker's fstat is the reference); else it must still match the walk
      if (!before.isFile() || (f.size >= 0 && (before.size !== f.size || before.mtimeMs !== f.mtimeMs))) throw { changed: true };
      const size = before.size;
      let n = 0;
      let hex;
      if (oneShot && size <= buf.length) {
        // small file: read it whole, hash in one call (no Hash object)
        while (n < size) {
          const r = fs.readSync(fd, buf, n, size - n, null);
          if (r === 0) break;
          n += r;
        }
        hex = oneShot('sha256', buf.subarray(0, n), 'hex');
      } else {
        const h = createHash('sha256');
        while (n < size) {
          const r = fs.readSync(fd, buf, 0, Math.min(buf.length, size - n), null);
          if (r === 0) break;
          n += r;
          h.update(r === buf.length ? buf : buf.subarray(0, r));
        }
        hex = h.digest('hex');
      }
      const after = fs.fstatSync(fd);
      if (n !== size || after.size !== size || after.mtimeMs !== before.mtimeMs) throw { changed: true };
      out.push({ i: f.i, sha256: hex, size });
    } catch (e) {
      if (e && e.changed) parentPort.postMessage({ error: 'WCP_FILE_CHANGED', message: 'file ' + f.rel + ' changed while it was being hashed' });
      else parentPort.postMessage({ error: 'IO_ERROR', message: 'cannot read ' + f.rel + ': ' + ((e && (e.code || e.message)) || e) });
      return;
    } finally { fs.closeSync(fd); }
  }
  parentPort.postMessage({ done: out });
});
`;

// Worker start-up costs ~50-150 ms each, so threads only pay off for large packages.
const PARALLEL_MIN_FILES = 10_000;
const PARALLEL_MIN_BYTES = 256 * 1024 * 1024;

function defaultWorkers(files: PackageFile[], totalBytes: number): number {
  if (files.length < PARALLEL_MIN_FILES && totalBytes < PARALLEL_MIN_BYTES) return 0;
  return Math.max(1, Math.min(os.availableParallelism?.() ?? os.cpus().length, 8));
}

/** Start hashing worker threads (they boot in parallel with whatever the main thread does next, e.g. the walk). */
export function startHashWorkers(n: number): Worker[] {
  return Array.from({ length: Math.max(0, n) }, () => new Worker(WORKER_SRC, { eval: true }));
}

/** Batches kept in flight per worker, so a worker never idles while its next batch is on the way. */
const IN_FLIGHT = 2;

async function hashInWorkers(files: PackageFile[], pool: Worker[], totalBytes: number, onProgress: PackageHashOptions['onProgress']): Promise<{ hashes: string[]; sizes: number[] }> {
  const hashes = new Array<string>(files.length);
  const sizes = new Array<number>(files.length);
  // Batches of ~4 MiB or 64 files keep the message overhead low and the load balanced.
  const batches: Array<Array<{ i: number; abs: string; rel: string; size: number; mtimeMs: number }>> = [];
  let cur: (typeof batches)[number] = [];
  let curBytes = 0;
  files.forEach((f, i) => {
    cur.push({ i, abs: f.abs, rel: f.rel, size: f.size, mtimeMs: f.mtimeMs });
    curBytes += Math.max(0, f.size);
    if (cur.length >= 64 || curBytes >= 4 * 1024 * 1024) {
      batches.push(cur);
      cur = [];
      curBytes = 0;
    }
  });
  if (cur.length) batches.push(cur);
  const workers = pool.slice(0, Math.max(1, Math.min(pool.length, batches.length)));
  for (const w of pool.slice(workers.length)) void w.terminate();
  let next = 0;
  let doneBytes = 0;
  let doneFiles = 0;
  let doneBatches = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      let failed = false;
      if (batches.length === 0) return resolve();
      const send = (w: Worker): void => {
        if (!failed && next < batches.length) w.postMessage(batches[next++]!);
      };
      for (const w of workers) {
        w.on('error', (e) => {
          failed = true;
          reject(new EvidentError('IO_ERROR', `hash worker failed: ${e.message}`));
        });
        // replies come back in the order the worker received its batches
        w.on('message', (m: { error?: string; message?: string; done?: Array<{ i: number; sha256: string; size: number }> }) => {
          if (failed) return;
          if (m.error) {
            failed = true;
            reject(new EvidentError(m.error, m.message ?? m.error));
            return;
          }
          for (const r of m.done!) {
            hashes[r.i] = r.sha256;
            sizes[r.i] = r.size;
            doneBytes += r.size;
          }
          doneFiles += m.done!.length;
          onProgress?.({ doneBytes, totalBytes, doneFiles, totalFiles: files.length });
          if (++doneBatches === batches.length) resolve();
          else send(w);
        });
        for (let k = 0; k < IN_FLIGHT; k++) send(w);
      }
    });
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
  return { hashes, sizes };
}

/**
 * SHA-256 (hex) and size of each listed file, in order; worker threads when `workers` > 0 (or a started pool).
 * Files listed without a stat (size < 0) are sized by the worker's fstat. Detects changed files.
 */
async function hashFiles(files: PackageFile[], workers: number | Worker[], onProgress?: PackageHashOptions['onProgress']): Promise<{ hashes: string[]; sizes: number[] }> {
  const totalBytes = files.reduce((s, f) => s + Math.max(0, f.size), 0);
  const pool = typeof workers === 'number' ? undefined : workers;
  if (files.length > 1 && (pool ? pool.length > 0 : (workers as number) > 0)) return hashInWorkers(files, pool ?? startHashWorkers(workers as number), totalBytes, onProgress);
  if (pool) await Promise.all(pool.map((w) => w.terminate()));
  statFiles(files);
  const hashes: string[] = [];
  const buf = Buffer.allocUnsafe(CHUNK);
  let doneBytes = 0;
  for (const f of files) {
    hashes.push(hashFileChecked(f, buf).sha256);
    doneBytes += f.size;
    onProgress?.({ doneBytes, totalBytes, doneFiles: hashes.length, totalFiles: files.length });
  }
  return { hashes, sizes: files.map((f) => f.size) };
}

/** SHA-256 (hex) of each listed file, in order; worker threads when `workers` > 0. Detects changed files. */
export async function hashPackageFiles(files: PackageFile[], workers: number | Worker[], onProgress?: PackageHashOptions['onProgress']): Promise<string[]> {
  return (await hashFiles(files, workers, onProgress)).hashes;
}

/** Fill in size and mtime of files the walk listed without a stat. */
function statFiles(files: PackageFile[]): void {
  for (const f of files) {
    if (f.size >= 0) continue;
    let st: fs.Stats;
    try {
      st = fs.lstatSync(f.abs);
    } catch (e) {
      throw ioError(e, `cannot stat ${f.rel}`);
    }
    if (!st.isFile()) throw changed(f.rel);
    f.size = st.size;
    f.mtimeMs = st.mtimeMs;
  }
}

/** Compute the canonical package hash of a directory. */
export async function canonicalPackageHash(root: string, opts: PackageHashOptions = {}): Promise<PackageHashResult> {
  const order = opts.order ?? 'python';
  if (!PACKAGE_ORDERS.includes(order)) throw new EvidentError('INPUT_INVALID', `unknown order ${JSON.stringify(order)} (python or bytewise)`);
  // Explicit workers boot while the main thread walks the tree. The walk only lists names (a stat per file would
  // cost more than the directory reads): the workers stat what they hash. The default decides after the walk: many
  // files → workers; otherwise the (few) files are stat'ed to decide by bytes (a thread costs ~20-30 ms to start).
  const early = opts.workers !== undefined && opts.workers > 0 ? startHashWorkers(opts.workers) : undefined;
  let files: PackageFile[];
  try {
    files = sortRecords(listPackageFiles(root, { symlinks: opts.symlinks, stat: opts.workers === 0 }), order);
  } catch (e) {
    if (early) await Promise.all(early.map((w) => w.terminate()));
    throw e;
  }
  let workers: number | Worker[] | undefined = early ?? opts.workers;
  if (workers === undefined) {
    if (files.length < PARALLEL_MIN_FILES) statFiles(files);
    workers = files.length >= PARALLEL_MIN_FILES ? defaultWorkers(files, Infinity) : defaultWorkers(files, files.reduce((s, f) => s + f.size, 0));
  }
  const { hashes, sizes } = await hashFiles(files, workers, opts.onProgress);
  const records = files.map((f, i) => ({ rel: f.rel, size: sizes[i]!, sha256: hashes[i]! }));
  return { hash: packageHashFromRecords(records), records, totalBytes: sizes.reduce((s, n) => s + n, 0) };
}

/** A stderr progress bar, only on a TTY and only for large packages. Returns undefined otherwise. */
export function ttyProgress(stream: NodeJS.WriteStream = process.stderr, minBytes = 64 * 1024 * 1024, minFiles = 2000): PackageHashOptions['onProgress'] {
  if (!stream.isTTY) return undefined;
  let last = 0;
  let shown = false;
  return ({ doneBytes, totalBytes, doneFiles, totalFiles }) => {
    if (totalBytes < minBytes && totalFiles < minFiles) return;
    const now = Date.now();
    const finished = doneFiles === totalFiles;
    if (!finished && now - last < 100) return;
    last = now;
    const frac = totalBytes > 0 ? doneBytes / totalBytes : doneFiles / Math.max(1, totalFiles);
    const width = 30;
    const filled = Math.round(frac * width);
    stream.write(`\rhashing [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${doneFiles}/${totalFiles} files`);
    shown = true;
    if (finished && shown) stream.write('\n');
  };
}
