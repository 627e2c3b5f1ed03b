/**
 * node:fs for the verifier page: an in-memory, read-only file system holding the files the user dropped or picked
 * (a picked folder keeps its relative paths). The page build (scripts/build-page.mjs) resolves `node:fs` to this
 * module, so the verifiers read their inputs exactly as in the CLI. Only the synchronous calls the verification
 * paths make exist; anything that would write fails with EROFS, as on a read-only mount.
 */
import { Buffer } from './buffer.ts';
import path from 'path-browserify';

type Node = { kind: 'file'; bytes: Uint8Array; mtimeMs: number; ino: number } | { kind: 'dir'; mtimeMs: number; ino: number };

const tree = new Map<string, Node>();
/** Directory → its entries' names, in mount order (readdir without scanning the whole tree). */
const entries = new Map<string, Set<string>>([['/', new Set()]]);
let nextIno = 1;
tree.set('/', { kind: 'dir', mtimeMs: 0, ino: nextIno++ });

function add(p: string, n: Node): void {
  tree.set(p, n);
  if (n.kind === 'dir' && !entries.has(p)) entries.set(p, new Set());
  entries.get(path.dirname(p))!.add(path.basename(p));
}

function fsError(code: string, syscall: string, p: string, text: string): NodeJS.ErrnoException {
  const e = new Error(`${code}: ${text}, ${syscall} '${p}'`) as NodeJS.ErrnoException;
  e.code = code;
  e.syscall = syscall;
  e.path = p;
  return e;
}

function abs(p: unknown): string {
  if (typeof p !== 'string') {
    if (p instanceof Uint8Array) return abs(Buffer.from(p).toString('utf8'));
    throw new TypeError('The "path" argument must be of type string');
  }
  return path.resolve('/', p);
}

function lookup(p: unknown, syscall: string): Node {
  const a = abs(p);
  const n = tree.get(a);
  if (!n) {
    // a path through a file is ENOTDIR, as on a real file system
    for (let d = path.dirname(a); d !== '/'; d = path.dirname(d)) if (tree.get(d)?.kind === 'file') throw fsError('ENOTDIR', syscall, String(p), 'not a directory');
    throw fsError('ENOENT', syscall, String(p), 'no such file or directory');
  }
  return n;
}

// ---- the page's side: mount and clear -------------------------------------------------------------------------

/** Put a file at `p` (relative paths are below `/`), creating its folders. */
export function mountFile(p: string, bytes: Uint8Array, mtimeMs = Date.now()): void {
  const a = abs(p);
  if (a === '/') throw new Error('cannot mount a file at /');
  mountDir(path.dirname(a));
  add(a, { kind: 'file', bytes, mtimeMs, ino: nextIno++ });
}

export function mountDir(p: string): void {
  const a = abs(p);
  const parts = a.split('/').filter(Boolean);
  let cur = '';
  for (const part of parts) {
    cur += '/' + part;
    const n = tree.get(cur);
    if (n?.kind === 'file') throw new Error(`${cur} is a file`);
    if (!n) add(cur, { kind: 'dir', mtimeMs: 0, ino: nextIno++ });
  }
}

/** Forget every file. */
export function unmountAll(): void {
  tree.clear();
  entries.clear();
  entries.set('/', new Set());
  tree.set('/', { kind: 'dir', mtimeMs: 0, ino: nextIno++ });
}

/** Every mounted file path (absolute), sorted. */
export function mountedFiles(): string[] {
  return [...tree.entries()].filter(([, n]) => n.kind === 'file').map(([p]) => p).sort();
}

// ---- node:fs ---------------------------------------------------------------------------------------------------

/** The file-type predicates of fs.Stats and fs.Dirent: only files and directories exist here. */
abstract class Kind {
  protected abstract readonly node: Node;
  isFile(): boolean {
    return this.node.kind === 'file';
  }
  isDirectory(): boolean {
    return this.node.kind === 'dir';
  }
  isSymbolicLink(): boolean {
    return false;
  }
  isFIFO(): boolean {
    return false;
  }
  isSocket(): boolean {
    return false;
  }
  isBlockDevice(): boolean {
    return false;
  }
  isCharacterDevice(): boolean {
    return false;
  }
}

class Stats extends Kind {
  readonly size: number;
  readonly mtimeMs: number;
  readonly mtime: Date;
  readonly ino: number;
  readonly dev = 1;
  readonly nlink = 1;
  readonly mode: number;
  constructor(protected readonly node: Node) {
    super();
    this.size = node.kind === 'file' ? node.bytes.length : 4096;
    this.mtimeMs = node.mtimeMs;
    this.mtime = new Date(node.mtimeMs);
    this.ino = node.ino;
    this.mode = node.kind === 'file' ? 0o100444 : 0o040555;
  }
}

class Dirent extends Kind {
  constructor(
    readonly name: string,
    readonly parentPath: string,
    protected readonly node: Node,
  ) {
    super();
  }
  get path(): string {
    return this.parentPath;
  }
}

export const constants = { O_RDONLY: 0, O_WRONLY: 1, O_RDWR: 2, O_CREAT: 0o100, O_EXCL: 0o200, O_TRUNC: 0o1000, O_APPEND: 0o2000, O_NOFOLLOW: 0o400000, O_NONBLOCK: 0o4000, F_OK: 0, R_OK: 4, W_OK: 2, X_OK: 1 };

export function existsSync(p: unknown): boolean {
  try {
    return tree.has(abs(p));
  } catch {
    return false;
  }
}

export function statSync(p: unknown, opts?: { throwIfNoEntry?: boolean }): Stats | undefined {
  try {
    return new Stats(lookup(p, 'stat'));
  } catch (e) {
    if (opts?.throwIfNoEntry === false && (e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export function lstatSync(p: unknown, opts?: { throwIfNoEntry?: boolean }): Stats | undefined {
  try {
    return new Stats(lookup(p, 'lstat'));
  } catch (e) {
    if (opts?.throwIfNoEntry === false && (e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export function realpathSync(p: unknown): string {
  lookup(p, 'realpath');
  return abs(p);
}
realpathSync.native = realpathSync;

function decode(bytes: Uint8Array, enc: unknown): Buffer | string {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const e = typeof enc === 'string' ? enc : (enc as { encoding?: string } | undefined)?.encoding;
  return e && e !== 'buffer' ? b.toString(e as BufferEncoding) : Buffer.from(b);
}

const fds = new Map<number, { node: Node & { kind: 'file' }; pos: number; p: string }>();
let nextFd = 3;

export function readFileSync(p: unknown, enc?: unknown): Buffer | string {
  if (typeof p === 'number') {
    const f = fds.get(p);
    if (!f) throw fsError('EBADF', 'read', String(p), 'bad file descriptor');
    return decode(f.node.bytes.subarray(f.pos), enc);
  }
  const n = lookup(p, 'open');
  if (n.kind === 'dir') throw fsError('EISDIR', 'read', String(p), 'illegal operation on a directory');
  return decode(n.bytes, enc);
}

function children(dir: string): Array<[string, Node]> {
  const prefix = dir === '/' ? '/' : dir + '/';
  return [...(entries.get(dir) ?? [])].map((name) => [name, tree.get(prefix + name)!]);
}

export function readdirSync(p: unknown, opts?: { withFileTypes?: boolean; encoding?: string } | string): Array<string | Buffer | Dirent> {
  const n = lookup(p, 'scandir');
  if (n.kind !== 'dir') throw fsError('ENOTDIR', 'scandir', String(p), 'not a directory');
  const a = abs(p);
  const list = children(a);
  const o = typeof opts === 'string' ? { encoding: opts } : (opts ?? {});
  if (o.withFileTypes) return list.map(([name, c]) => new Dirent(name, String(p), c));
  if (o.encoding === 'buffer') return list.map(([name]) => Buffer.from(name, 'utf8'));
  return list.map(([name]) => name);
}

export function opendirSync(p: unknown): { readSync(): Dirent | null; closeSync(): void; path: string } {
  const entries = readdirSync(p, { withFileTypes: true }) as Dirent[];
  let i = 0;
  return { path: String(p), readSync: () => entries[i++] ?? null, closeSync: () => {} };
}

export function openSync(p: unknown, flags: number | string = 'r'): number {
  if (typeof flags === 'string' ? flags !== 'r' : (flags & 3) !== 0) throw fsError('EROFS', 'open', String(p), 'read-only file system');
  const n = lookup(p, 'open');
  if (n.kind !== 'file') throw fsError('EISDIR', 'open', String(p), 'illegal operation on a directory');
  const fd = nextFd++;
  fds.set(fd, { node: n, pos: 0, p: String(p) });
  return fd;
}

export function fstatSync(fd: number): Stats {
  const f = fds.get(fd);
  if (!f) throw fsError('EBADF', 'fstat', String(fd), 'bad file descriptor');
  return new Stats(f.node);
}

export function readSync(fd: number, buf: Uint8Array, offset = 0, length = buf.length - offset, position: number | null = null): number {
  const f = fds.get(fd);
  if (!f) throw fsError('EBADF', 'read', String(fd), 'bad file descriptor');
  const from = position ?? f.pos;
  const chunk = f.node.bytes.subarray(from, from + length);
  buf.set(chunk, offset);
  if (position === null) f.pos += chunk.length;
  return chunk.length;
}

export function closeSync(fd: number): void {
  if (!fds.delete(fd)) throw fsError('EBADF', 'close', String(fd), 'bad file descriptor');
}

function readOnly(syscall: string) {
  return (p: unknown): never => {
    throw fsError('EROFS', syscall, String(p), 'read-only file system');
  };
}

export const writeFileSync = readOnly('open');
export const mkdirSync = readOnly('mkdir');
export const renameSync = readOnly('rename');
export const rmSync = readOnly('rm');
export const linkSync = readOnly('link');
export const chmodSync = readOnly('chmod');
export const fsyncSync = readOnly('fsync');
export const unlinkSync = readOnly('unlink');
export const createReadStream = readOnly('open');
export const createWriteStream = readOnly('open');
export const promises = {};

export default {
  constants,
  existsSync,
  statSync,
  lstatSync,
  realpathSync,
  readFileSync,
  readdirSync,
  opendirSync,
  openSync,
  fstatSync,
  readSync,
  closeSync,
  writeFileSync,
  mkdirSync,
  renameSync,
  rmSync,
  linkSync,
  chmodSync,
  fsyncSync,
  unlinkSync,
  createReadStream,
  createWriteStream,
  promises,
  Stats,
  Dirent,
};
