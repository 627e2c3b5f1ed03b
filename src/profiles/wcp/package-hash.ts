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
import { createHash } from '../../kernel/crypto/index.ts';
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
  /**
   * Threads that hash: 0 = inline; n ≥ 2 = n − 1 worker threads plus the calling thread; default: the available cores
   * when the package is large, else 0.
   */
  workers?: number;
  /** Called as bytes are hashed (for a progress bar). */
  onProgress?: (p: { doneBytes: number; totalBytes: number; doneFiles: number; totalFiles: number }) => void;
}

export interface PackageHashResult {
  hash: string;
  records: PackageRecord[];
  totalBytes: number;
  /** What the walk saw that the hash cannot vouch for (see {@link PackageHazard}); strict verification refuses it. */
  hazards: PackageHazard[];
}

/**
 * A package-tree feature the upstream hash rule lets through but that defeats what the hash attests:
 * - `unhashed-code`: a `*.pyc` file or a non-empty `__pycache__/` directory — excluded from the hash (upstream
 *   rule), yet Python imports them (a planted `__pycache__/m.cpython-311.pyc` runs instead of the hashed `m.py`);
 * - `control-name`: a file or directory name with a control character (C0, DEL, C1). A newline in a name lets one
 *   tree's `<path>\n<size>\n<sha>\n` records imitate another tree's, so two trees share one package hash.
 */
export interface PackageHazard {
  kind: 'unhashed-code' | 'control-name';
  /** Relative path (control characters shown as JSON escapes). */
  rel: string;
}

/** Names with a control character (C0, DEL, C1). */
export const CONTROL_CHAR_RE = /[\u0000-\u001f\u007f-\u009f]/;
/** At most this many hazards are kept (one is enough to refuse). */
const MAX_HAZARDS = 100;

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

/**
 * Sort by path in the given order, in place. Each path is keyed once: for `python`, '/' becomes NUL (no file name
 * holds one), which makes code-point string order equal component-wise order (a component that is a prefix of
 * another sorts first, as does a shorter list); the engine's string order is code-point order unless a key holds a
 * character at or above U+D800, and only then is the comparator used (tested against comparePythonPaths).
 */
export function sortRecords<T extends { rel: string }>(items: T[], order: PackageOrder = 'python'): T[] {
  const keyed = items.map((x) => ({ k: order === 'python' ? x.rel.replaceAll('/', '\0') : x.rel, x }));
  let high = false;
  for (const e of keyed) if (AT_OR_ABOVE_SURROGATES.test(e.k)) high = true;
  if (high) keyed.sort((a, b) => compareCodePoints(a.k, b.k));
  else keyed.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  for (let i = 0; i < keyed.length; i++) items[i] = keyed[i]!.x;
  return items;
}

const AT_OR_ABOVE_SURROGATES = /[\ud800-\uffff]/;

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
 * The package walk, one directory per {@link step} (iterative: no recursion limit, and a caller can hash what has
 * been listed while the walk goes on). Lists the kept files, unsorted. With `stat: false` regular files are listed by
 * name only (size and mtime -1: the hasher stats them); symlinks followed inside the root are always stat'ed.
 */
export class PackageWalk {
  readonly out: PackageFile[] = [];
  /** See {@link PackageHazard}; filled as the walk goes (bounded). */
  readonly hazards: PackageHazard[] = [];
  private readonly stack: Array<{ abs: string; rel: string; depth: number }> = [];
  private readonly rootReal: string;
  private readonly policy: SymlinkPolicy;
  private readonly stat: boolean;

  constructor(root: string, opts: { symlinks?: SymlinkPolicy; stat?: boolean } = {}) {
    this.policy = opts.symlinks ?? 'reject';
    this.stat = opts.stat !== false;
    try {
      const st = fs.statSync(root);
      if (!st.isDirectory()) throw new EvidentError('INPUT_INVALID', `${root} is not a directory`);
      this.rootReal = fs.realpathSync(root);
    } catch (e) {
      if (e instanceof EvidentError) throw e;
      throw ioError(e, `cannot read package root ${root}`);
    }
    this.stack.push({ abs: this.rootReal, rel: '', depth: 0 });
  }

  get done(): boolean {
    return this.stack.length === 0;
  }

  /** Read one directory: its subdirectories are queued (visited depth-first, in listing order), its files listed. */
  step(): void {
    const { abs: absDir, rel: relDir, depth } = this.stack.pop()!;
    if (depth > MAX_DEPTH) throw new EvidentError('INPUT_INVALID', `package deeper than ${MAX_DEPTH} levels at ${relDir}`);
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(absDir, { withFileTypes: true });
      // names must be strict UTF-8 (no overlongs, no encoded surrogates): decoding replaced anything else by U+FFFD,
      // so only a directory with a U+FFFD in some name is read again as bytes and checked (a real U+FFFD is valid)
      if (entries.some(hasReplacementChar)) {
        for (const raw of fs.readdirSync(absDir, { encoding: 'buffer' })) {
          if (!isUtf8(raw)) throw new EvidentError('INPUT_INVALID', `file name is not valid UTF-8 in ${relDir || '.'}`);
        }
      }
    } catch (e) {
      if (e instanceof EvidentError) throw e;
      throw ioError(e, `cannot list ${relDir || '.'}`);
    }
    const out = this.out;
    const subdirs: Array<{ abs: string; rel: string; depth: number }> = [];
    for (const ent of entries) {
      const name = ent.name;
      if (CONTROL_CHAR_RE.test(name)) this.hazard('control-name', relDir ? `${relDir}/${name}` : name);
      if (EXCLUDED_NAMES.has(name)) {
        // excluded component: nothing below it is hashed; Python still imports a __pycache__ that holds anything
        if (name === '__pycache__' && !ent.isFile() && this.nonEmptyDir(`${absDir}${path.sep}${name}`)) this.hazard('unhashed-code', relDir ? `${relDir}/${name}/` : `${name}/`);
        continue;
      }
      const rel = relDir ? `${relDir}/${name}` : name;
      const abs = `${absDir}${absDir.endsWith(path.sep) ? '' : path.sep}${name}`;
      if (ent.isDirectory()) {
        subdirs.push({ abs, rel, depth: depth + 1 });
        continue;
      }
      if (ent.isSymbolicLink()) {
        let target: string;
        try {
          target = fs.realpathSync(abs);
        } catch (e) {
          throw new EvidentError('WCP_SYMLINK_BROKEN', `symlink ${rel} cannot be resolved: ${(e as NodeJS.ErrnoException).code ?? ''}`);
        }
        if (!isInside(this.rootReal, target)) throw new EvidentError('WCP_SYMLINK_OUTSIDE', `symlink ${rel} points outside the package root`);
        if (this.policy === 'reject') throw new EvidentError('WCP_SYMLINK_REJECTED', `symlink ${rel} in the package (strict mode rejects symlinks; use compat to follow links inside the root)`);
        const st = fs.statSync(target);
        if (st.isFile() && rel.endsWith('.pyc')) this.hazard('unhashed-code', rel);
        if (!st.isFile() || isExcluded(rel)) continue; // directory links are not descended (Python 3.11 rglob)
        out.push({ rel, abs: target, size: st.size, mtimeMs: st.mtimeMs });
      } else if (ent.isFile()) {
        // every component above was checked on the way down and this name above: only the .pyc rule is left
        if (name.endsWith('.pyc')) {
          this.hazard('unhashed-code', rel); // excluded from the hash, yet importable (sourceless .pyc)
          continue;
        }
        if (!this.stat) {
          out.push({ rel, abs, size: -1, mtimeMs: -1 });
        } else {
          let st: fs.Stats;
          try {
            st = fs.lstatSync(abs);
          } catch (e) {
            throw ioError(e, `cannot stat ${rel}`);
          }
          out.push({ rel, abs, size: st.size, mtimeMs: st.mtimeMs });
        }
      }
      if (out.length > MAX_FILES) throw new EvidentError('INPUT_INVALID', `package has more than ${MAX_FILES} files`);
    }
    for (let k = subdirs.length - 1; k >= 0; k--) this.stack.push(subdirs[k]!);
  }

  private hazard(kind: PackageHazard['kind'], rel: string): void {
    if (this.hazards.length < MAX_HAZARDS) this.hazards.push({ kind, rel: CONTROL_CHAR_RE.test(rel) ? JSON.stringify(rel).slice(1, -1) : rel });
  }

  private nonEmptyDir(abs: string): boolean {
    let d: fs.Dir | undefined;
    try {
      d = fs.opendirSync(abs);
      return d.readSync() !== null;
    } catch {
      return true; // unreadable or a link: cannot show it is harmless
    } finally {
      d?.closeSync();
    }
  }
}

function hasReplacementChar(ent: fs.Dirent): boolean {
  return ent.name.includes('\ufffd');
}

/** Walk the whole package (see {@link PackageWalk}). */
export function listPackageFiles(root: string, opts: { symlinks?: SymlinkPolicy; stat?: boolean } = {}): PackageFile[] {
  const w = new PackageWalk(root, opts);
  while (!w.done) w.step();
  return w.out;
}

const CHUNK = 1 << 20;
/** O_NONBLOCK: a file swapped for a FIFO after listing cannot block the open; O_NOFOLLOW: nor for a symlink. */
const OPEN_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0) | (fs.constants.O_NOFOLLOW ?? 0);

/**
 * Hash one file synchronously, detecting changes during the read. A file listed without a stat (size < 0) is sized
 * by its own fstat, as in the workers.
 */
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
    // size < 0: the walk did not stat (this fstat is the reference); else it must still match the walk
    if (!before.isFile() || (f.size >= 0 && (before.size !== f.size || before.mtimeMs !== f.mtimeMs))) throw changed(f.rel);
    const size = before.size;
    const h = createHash('sha256');
    let n = 0;
    // stop at the stated size (growth is caught by the final fstat), saving one read per file
    while (n < size) {
      const r = fs.readSync(fd, buf, 0, Math.min(buf.length, size - n), null);
      if (r === 0) break;
      n += r;
      h.update(r === buf.length ? buf : buf.subarray(0, r));
    }
    const after = fs.fstatSync(fd);
    if (n !== size || after.size !== size || after.mtimeMs !== before.mtimeMs) throw changed(f.rel);
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

/**
 * Batches queued per worker: enough that a worker never idles while its next batch is on the way or while the main
 * thread walks a directory or sorts, few enough that both workers finish together.
 */
const IN_FLIGHT = 4;
/** Files per batch (or fewer when the stated sizes add up to 4 MiB): low message overhead, fine-grained balance. */
const BATCH_FILES = 64;
const BATCH_BYTES = 4 * 1024 * 1024;

type Batch = Array<{ i: number; abs: string; rel: string; size: number; mtimeMs: number }>;

/**
 * Hashes a growing file list on a worker pool: {@link feed} after files were appended (e.g. after each directory of
 * a walk), {@link end} once the list is complete; {@link done} resolves when every file is hashed (or rejects on
 * the first failure, e.g. WCP_FILE_CHANGED). Progress is reported only once the list is complete (totals known).
 * Replies are handled on the event loop, so a feeding caller must yield to it now and then.
 */
export class WorkerHasher {
  readonly hashes: string[] = [];
  readonly sizes: number[] = [];
  readonly done: Promise<void>;
  private resolve!: () => void;
  private reject!: (e: Error) => void;
  private readonly queue: Batch[] = [];
  private cur: Batch = [];
  private curBytes = 0;
  private fed = 0;
  private sent = 0;
  private finished = 0;
  private ended = false;
  private failed = false;
  private doneBytes = 0;
  private doneFiles = 0;
  private readonly inFlight: number[];

  constructor(
    private readonly pool: Worker[],
    private readonly files: PackageFile[],
    private readonly onProgress?: PackageHashOptions['onProgress'],
    /** The calling thread hashes batches too once the list is complete (between handling replies). */
    private readonly selfHash = false,
  ) {
    this.done = new Promise<void>((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
    this.done.catch(() => {}); // observed by whoever awaits it; never an unhandled rejection meanwhile
    this.inFlight = pool.map(() => 0);
    pool.forEach((w, k) => {
      w.on('error', (e) => this.fail(new EvidentError('IO_ERROR', `hash worker failed: ${e.message}`)));
      // a worker that ends with batches outstanding would otherwise leave `done` pending for ever
      w.on('exit', (code) => {
        if (this.inFlight[k]! > 0) this.fail(new EvidentError('IO_ERROR', `hash worker exited (${code}) with files unhashed`));
      });
      // replies come back in the order the worker received its batches
      w.on('message', (m: { error?: string; message?: string; done?: Array<{ i: number; sha256: string; size: number }> }) => {
        if (this.failed) return;
        if (m.error) return this.fail(new EvidentError(m.error, m.message ?? m.error));
        for (const r of m.done!) {
          this.hashes[r.i] = r.sha256;
          this.sizes[r.i] = r.size;
          this.doneBytes += r.size;
        }
        this.doneFiles += m.done!.length;
        this.inFlight[k]!--;
        this.finished++;
        this.progress();
        this.pump();
      });
    });
  }

  private totalBytes = 0;

  /** True once a batch failed (the walk feeding it can stop: {@link done} has rejected). */
  get stopped(): boolean {
    return this.failed;
  }

  /** Take the files appended since the last call. */
  feed(): void {
    const files = this.files;
    for (; this.fed < files.length; this.fed++) {
      const f = files[this.fed]!;
      this.cur.push({ i: this.fed, abs: f.abs, rel: f.rel, size: f.size, mtimeMs: f.mtimeMs });
      this.curBytes += Math.max(0, f.size);
      if (this.cur.length >= BATCH_FILES || this.curBytes >= BATCH_BYTES) this.cut();
    }
    this.pump();
  }

  /** The list is complete. */
  end(): void {
    this.feed();
    if (this.cur.length) this.cut();
    this.ended = true;
    this.totalBytes = this.files.reduce((s, f) => s + Math.max(0, f.size), 0);
    this.pump();
  }

  private cut(): void {
    this.queue.push(this.cur);
    this.cur = [];
    this.curBytes = 0;
  }

  private progress(): void {
    if (this.ended) this.onProgress?.({ doneBytes: this.doneBytes, totalBytes: this.totalBytes, doneFiles: this.doneFiles, totalFiles: this.files.length });
  }

  private selfScheduled = false;
  private selfBuf: Buffer | undefined;

  /** One batch on this thread, then back to the event loop (worker replies), then the next. */
  private readonly selfStep = (): void => {
    this.selfScheduled = false;
    if (this.failed || this.queue.length === 0) return;
    const batch = this.queue.shift()!;
    this.sent++;
    const buf = (this.selfBuf ??= Buffer.allocUnsafe(CHUNK));
    try {
      for (const f of batch) {
        const r = hashFileChecked(f, buf);
        this.hashes[f.i] = r.sha256;
        this.sizes[f.i] = r.size;
        this.doneBytes += r.size;
      }
    } catch (e) {
      this.fail(e as Error);
      return;
    }
    this.doneFiles += batch.length;
    this.finished++;
    this.progress();
    this.pump();
  };

  private pump(): void {
    if (this.failed) return;
    for (let k = 0; k < this.pool.length; k++) {
      while (this.inFlight[k]! < IN_FLIGHT && this.queue.length > 0) {
        this.pool[k]!.postMessage(this.queue.shift()!);
        this.inFlight[k]!++;
        this.sent++;
      }
    }
    if (this.ended && this.queue.length === 0 && this.finished === this.sent) this.resolve();
    else if (this.selfHash && this.ended && this.queue.length > 0 && !this.selfScheduled) {
      this.selfScheduled = true;
      setImmediate(this.selfStep);
    }
  }

  private fail(e: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.reject(e);
  }

  /** Stop the workers (after done settled, or to abandon). */
  async close(): Promise<void> {
    this.failed = true;
    await Promise.all(this.pool.map((w) => w.terminate()));
  }
}

async function hashInWorkers(files: PackageFile[], pool: Worker[], onProgress: PackageHashOptions['onProgress']): Promise<{ hashes: string[]; sizes: number[] }> {
  const h = new WorkerHasher(pool, files, onProgress);
  try {
    h.end();
    await h.done;
    return { hashes: h.hashes, sizes: h.sizes };
  } finally {
    await h.close();
  }
}

/**
 * SHA-256 (hex) and size of each listed file, in order; worker threads when `workers` > 0 (or a started pool).
 * Files listed without a stat (size < 0) are sized by the worker's fstat. Detects changed files.
 */
async function hashFiles(files: PackageFile[], workers: number | Worker[], onProgress?: PackageHashOptions['onProgress']): Promise<{ hashes: string[]; sizes: number[] }> {
  const pool = typeof workers === 'number' ? undefined : workers;
  if (files.length > 1 && (pool ? pool.length > 0 : (workers as number) > 0)) return hashInWorkers(files, pool ?? startHashWorkers(workers as number), onProgress);
  if (pool) await Promise.all(pool.map((w) => w.terminate()));
  statFiles(files);
  const totalBytes = files.reduce((s, f) => s + f.size, 0);
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

/**
 * `n` hashing threads: with two or more, n − 1 worker threads and the calling thread (once the walk is done; until
 * then it walks). Measured on 2 cores, 1 worker + this thread beat 2 workers by ~3% (one thread start less, half the
 * messages).
 */
function hasherFor(n: number, files: PackageFile[], onProgress: PackageHashOptions['onProgress']): WorkerHasher {
  return n >= 2 ? new WorkerHasher(startHashWorkers(n - 1), files, onProgress, true) : new WorkerHasher(startHashWorkers(n), files, onProgress);
}

/** Yield to the event loop at most this often during a walk that feeds workers (their replies are handled there). */
const YIELD_MS = 2;

/** Compute the canonical package hash of a directory. */
export async function canonicalPackageHash(root: string, opts: PackageHashOptions = {}): Promise<PackageHashResult> {
  const order = opts.order ?? 'python';
  if (!PACKAGE_ORDERS.includes(order)) throw new EvidentError('INPUT_INVALID', `unknown order ${JSON.stringify(order)} (python or bytewise)`);
  // The walk only lists names (a stat per file would cost more than the directory reads): the workers stat what they
  // hash. Explicit workers boot at once; by default they start when the walk has listed PARALLEL_MIN_FILES files.
  // Either way they hash what the walk has listed while it goes on (hashing needs no order; the paths are sorted
  // while the last batches are hashed). A smaller package is stat'ed after the walk to decide by bytes (a thread
  // costs ~20-60 ms to start).
  const walk = new PackageWalk(root, { symlinks: opts.symlinks, stat: opts.workers === 0 });
  const files = walk.out;
  let hasher = opts.workers !== undefined && opts.workers > 0 ? hasherFor(opts.workers, files, opts.onProgress) : undefined;
  try {
    let lastYield = performance.now();
    while (!walk.done && !hasher?.stopped) {
      walk.step();
      if (!hasher && opts.workers === undefined && files.length >= PARALLEL_MIN_FILES) {
        hasher = hasherFor(defaultWorkers(files, Infinity), files, opts.onProgress);
      }
      if (hasher) {
        hasher.feed();
        if (performance.now() - lastYield >= YIELD_MS) {
          await new Promise<void>((r) => setImmediate(r));
          lastYield = performance.now();
        }
      }
    }
    if (!hasher && opts.workers === undefined) {
      statFiles(files);
      const n = defaultWorkers(files, files.reduce((s, f) => s + f.size, 0));
      if (n > 0 && files.length > 1) hasher = hasherFor(n, files, opts.onProgress);
    }
    let hashes: string[];
    let sizes: number[];
    let sorted: Array<{ rel: string; i: number }>;
    if (hasher) {
      hasher.end();
      sorted = sortRecords(files.map((f, i) => ({ rel: f.rel, i })), order);
      await hasher.done;
      ({ hashes, sizes } = hasher);
    } else {
      ({ hashes, sizes } = await hashFiles(files, 0, opts.onProgress));
      sorted = sortRecords(files.map((f, i) => ({ rel: f.rel, i })), order);
    }
    const records = sorted.map(({ rel, i }) => ({ rel, size: sizes[i]!, sha256: hashes[i]! }));
    return { hash: packageHashFromRecords(records), records, totalBytes: sizes.reduce((s, n) => s + n, 0), hazards: walk.hazards };
  } finally {
    await hasher?.close();
  }
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
