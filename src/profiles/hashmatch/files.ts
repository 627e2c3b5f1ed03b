/** Bounded, coded file access for HashMatch bundles. */
import fs from 'node:fs';
import path from 'node:path';
import { parseJson, toPlain } from '../../kernel/json/index.ts';

export const MAX_LOG_BYTES = 512 * 1024 * 1024;
export const MAX_JSON_BYTES = 64 * 1024 * 1024;
export const MAX_MATCHES = 200_000;

export type ReadResult =
  | { kind: 'ok'; bytes: Buffer }
  | { kind: 'missing' }
  | { kind: 'error'; code: string; message: string };

export function readBytes(file: string, max: number): ReadResult {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch {
    return { kind: 'missing' };
  }
  if (!st.isFile()) return { kind: 'error', code: 'INPUT_INVALID', message: `${path.basename(file)} is not a regular file` };
  if (st.size > max) return { kind: 'error', code: 'INPUT_TOO_LARGE', message: `${path.basename(file)} is larger than ${max} bytes` };
  try {
    return { kind: 'ok', bytes: fs.readFileSync(file) };
  } catch (e) {
    return { kind: 'error', code: 'IO_ERROR', message: `cannot read ${path.basename(file)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
  }
}

export type JsonResult =
  | { kind: 'ok'; bytes: Buffer; value: unknown }
  | { kind: 'missing' }
  | { kind: 'error'; code: string; message: string };

/** Read and parse JSON with JSON.parse number semantics; strict rejects duplicate keys, compat is last-wins. */
export function readJson(file: string, strict: boolean): JsonResult {
  const r = readBytes(file, MAX_JSON_BYTES);
  if (r.kind !== 'ok') return r;
  try {
    const v = parseJson(r.bytes, { duplicateKeys: strict ? 'reject' : 'last-wins', numbers: 'native', maxDepth: 200 });
    return { kind: 'ok', bytes: r.bytes, value: toPlain(v) };
  } catch (e) {
    if (!strict) {
      // compat: upstream reads the file as UTF-8 text (invalid bytes become U+FFFD) and JSON.parse-s it, which also
      // takes lone surrogate escapes
      try {
        return { kind: 'ok', bytes: r.bytes, value: JSON.parse(Buffer.from(r.bytes).toString('utf8')) as unknown };
      } catch {
        // (report the lossless parser's message)
      }
    }
    return { kind: 'error', code: (e as { code?: string }).code ?? 'JSON_SYNTAX', message: `${path.basename(file)}: ${(e as Error).message}` };
  }
}

/** Sub-directories of `matches/`, sorted by UTF-16 code units (as upstream's default sort). */
export function listMatchDirs(root: string): string[] {
  const m = path.join(root, 'matches');
  let names: fs.Dirent[];
  try {
    names = fs.readdirSync(m, { withFileTypes: true });
  } catch {
    return [];
  }
  return names.filter((d) => d.isDirectory()).map((d) => d.name).sort().slice(0, MAX_MATCHES + 1);
}

export function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

export function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

export const obj = (v: unknown): Record<string, unknown> | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
