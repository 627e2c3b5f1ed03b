/** File-level helpers (I/O lives here, not in the kernel). */
import fs from 'node:fs';
import { createHash } from 'node:crypto';

/** Streaming SHA-256 of a file, `sha256:`-prefixed. Constant memory. */
export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return 'sha256:' + h.digest('hex');
}
