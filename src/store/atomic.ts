import fs from 'node:fs';

/** Write data to a new temp file beside `file` (exclusive create, fsync, closed); returns its path. */
function writeTemp(file: string, data: string | Uint8Array, mode: number): string {
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  const fd = fs.openSync(tmp, 'wx', mode);
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  return tmp;
}

/** Write a file atomically: temp file in the same directory, fsync, rename. */
export function writeFileAtomic(file: string, data: string | Uint8Array, mode?: number): void {
  const tmp = writeTemp(file, data, mode ?? 0o644);
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  if (mode !== undefined) fs.chmodSync(file, mode);
}

/**
 * Create a file atomically and exclusively: temp file in the same directory, fsync, then a hard link to the final
 * name, which fails with EEXIST when the file already exists, so two processes racing to create it cannot overwrite
 * each other (the loser sees the winner's complete file). The temp file is always removed.
 */
export function writeFileExclusive(file: string, data: string | Uint8Array, mode = 0o644): void {
  const tmp = writeTemp(file, data, mode);
  try {
    fs.chmodSync(tmp, mode);
    fs.linkSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}
