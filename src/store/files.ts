/** File-level helpers (I/O lives here, not in the kernel). */
import fs from 'node:fs';
import { createHash } from '../kernel/crypto/index.ts';
import { EvidentError } from '../kernel/errors.ts';

/** Read a file argument (a path, never stdin). Throws EvidentError(IO_ERROR) naming the file and the errno code. */
export function readFileArg(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new EvidentError('IO_ERROR', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
}

/** Streaming SHA-256 of a file, `sha256:`-prefixed. Constant memory. */
export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return 'sha256:' + h.digest('hex');
}

/** Read a file into a SharedArrayBuffer-backed Uint8Array (so workers can read it without a copy). */
export function readFileShared(path: string): Uint8Array {
  const fd = fs.openSync(path, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const out = new Uint8Array(new SharedArrayBuffer(size));
    let n = 0;
    while (n < size) {
      const r = fs.readSync(fd, out, n, Math.min(size - n, 1 << 30), null);
      if (r === 0) break;
      n += r;
    }
    return n === size ? out : out.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}
