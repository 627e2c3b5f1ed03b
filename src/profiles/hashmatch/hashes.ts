/** HashMatch hashes (spec §A.2). Every hash is rendered `sha256:` + 64 lowercase hex. */
import { createHash } from '../../kernel/crypto/index.ts';
import { bufferView } from '../../kernel/encoding.ts';
import { stableStringify } from './stable.ts';
import { merkleRoot, leafHash } from './merkle.ts';

export const MANIFEST_CORE_EXCLUDE: readonly string[] = ['createdAt'];

export function sha256Prefixed(data: Uint8Array | string): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

/** logHash: SHA-256 of the raw `match.jsonl` bytes (never re-parsed). */
export function logHash(bytes: Uint8Array): string {
  return sha256Prefixed(bytes);
}

/** ManifestCore hash: SHA-256(stableStringify(manifest without top-level createdAt) + "\n"). */
export function manifestCoreHash(manifest: unknown, exclude: readonly string[] = MANIFEST_CORE_EXCLUDE): string {
  let core = manifest;
  if (manifest !== null && typeof manifest === 'object' && !Array.isArray(manifest)) {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(manifest)) {
      if (exclude.includes(k)) continue;
      Object.defineProperty(o, k, { value: (manifest as Record<string, unknown>)[k], enumerable: true, writable: true, configurable: true });
    }
    core = o;
  }
  return sha256Prefixed(stableStringify(core) + '\n');
}

/** contentHash, directory form: SHA-256(stableStringify({relPath: sha256(file)}) + "\n"). */
export function contentHashFromFileHashes(fileHashes: Record<string, string>): string {
  return sha256Prefixed(stableStringify(fileHashes) + '\n');
}

/** contentHash, single-file form (built-in agents, scenario files): SHA-256 of the bytes. */
export function contentHashOfFile(bytes: Uint8Array): string {
  return sha256Prefixed(bytes);
}

/** contentHash, built-in scenario form: SHA-256(stableStringify(params)) with NO trailing newline. */
export function scenarioParamsContentHash(params: unknown): string {
  return sha256Prefixed(stableStringify(params));
}

/** truthBundleHash as in tournament_manifest.json and the tournament receipt: sorted logHashes concatenated. */
export function truthBundleHashLogs(logHashes: readonly string[]): string {
  return sha256Prefixed([...logHashes].sort().join(''));
}

/** truthBundleHash as in broadcast_manifest.json: SHA-256(stableStringify({path: hash}) + "\n"). */
export function truthBundleHashBroadcast(fileHashes: Record<string, string>): string {
  return sha256Prefixed(stableStringify(fileHashes) + '\n');
}

/** Split raw match.jsonl bytes into lines (LF-terminated; the terminator is not part of the line). */
/** One match.jsonl line as a JSON object (JSON.parse semantics, as upstream), or undefined when it is not one. */
export function parseEventLine(line: Uint8Array): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(bufferView(line).toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function jsonlLines(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x0a) {
      out.push(bytes.subarray(start, i));
      start = i + 1;
    }
  }
  if (start < bytes.length) out.push(bytes.subarray(start));
  return out;
}

/** RFC 6962 Merkle root over the raw lines of a match.jsonl (spec §5.3 event tree), `sha256:` hex. */
export function eventMerkleRoot(bytes: Uint8Array): string {
  return 'sha256:' + Buffer.from(merkleRoot(jsonlLines(bytes))).toString('hex');
}

/** Per-event hash chain: h0 = 32 zero bytes, h_i = SHA-256(h_{i-1} || leafHash(line_i)). Returns the head. */
export function eventChainHead(bytes: Uint8Array): string {
  let h: Uint8Array = new Uint8Array(32);
  for (const line of jsonlLines(bytes)) h = new Uint8Array(createHash('sha256').update(h).update(leafHash(line)).digest());
  return 'sha256:' + Buffer.from(h).toString('hex');
}
