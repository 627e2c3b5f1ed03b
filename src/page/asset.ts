/**
 * The built verifier page (dist/page/verify.html, written by `npm run build` from src/page/): located from this
 * module's own place, so it is found from the CLI bundle (dist/bin/), the compiled library (dist/page/) and the
 * sources under tsx (src/page/) alike. Node only.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EvidentError } from '../kernel/errors.ts';

/** Absolute path of dist/page/verify.html in this installation. */
export function verifierPagePath(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return path.join(dir, 'dist', 'page', 'verify.html');
    dir = path.dirname(dir);
  }
  throw new EvidentError('PAGE_NOT_BUILT', 'cannot find the package root of the verifier page');
}

let cached: Buffer | undefined;

/** The page's bytes (read once). Throws PAGE_NOT_BUILT when `npm run build` has not made it. */
export function verifierPage(): Buffer {
  if (cached) return cached;
  const p = verifierPagePath();
  try {
    cached = fs.readFileSync(p);
  } catch (e) {
    throw new EvidentError('PAGE_NOT_BUILT', `the verifier page ${p} is missing (${(e as NodeJS.ErrnoException).code ?? 'unreadable'}); run npm run build`, { cause: e });
  }
  return cached;
}
