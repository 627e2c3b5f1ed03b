/**
 * C2SP tlog-proof@v1: an offline-verifiable receipt that an entry is in a log.
 *
 *   c2sp.org/tlog-proof@v1\n
 *   [extra <base64>\n]
 *   index <decimal>\n
 *   <base64 inclusion proof hash>\n …
 *   \n
 *   <signed checkpoint note, with any witness cosignatures>
 *
 * Verification needs only the pinned log key (and optionally witness keys), the entry (or its leaf hash) and the
 * proof text.
 */
import { EvidentError } from '../kernel/errors.ts';
import { parseBase64, toBase64 } from '../kernel/encoding.ts';
import type { NoteVerifier } from '../kernel/note.ts';
import { HASH_SIZE, hashLeaf, rootFromInclusionProof } from './merkle.ts';
import { openCheckpoint, type VerifiedCheckpoint } from './checkpoint.ts';
import { timingSafeEqualBytes } from '../kernel/digest.ts';

export const TLOG_PROOF_HEADER = 'c2sp.org/tlog-proof@v1';
export const TLOG_PROOF_MAX_BYTES = 1024 * 1024;
const MAX_PATH = 63;

export interface TlogProof {
  extra?: Uint8Array;
  index: number;
  proof: Uint8Array[];
  /** The signed checkpoint note, verbatim. */
  checkpoint: string;
}

export function formatTlogProof(p: TlogProof): string {
  if (!Number.isSafeInteger(p.index) || p.index < 0) throw new EvidentError('INPUT_INVALID', 'tlog-proof index must be a non-negative integer');
  if (p.proof.length > MAX_PATH) throw new EvidentError('INPUT_INVALID', 'inclusion proof too long');
  let s = TLOG_PROOF_HEADER + '\n';
  if (p.extra !== undefined) s += `extra ${toBase64(p.extra)}\n`;
  s += `index ${p.index}\n`;
  for (const h of p.proof) {
    if (h.length !== HASH_SIZE) throw new EvidentError('INPUT_INVALID', 'proof hashes must be 32 bytes');
    s += toBase64(h) + '\n';
  }
  return s + '\n' + p.checkpoint;
}

/** Strict parse. Throws INPUT_INVALID (unparsable). */
export function parseTlogProof(input: string | Uint8Array): TlogProof {
  let text: string;
  if (typeof input === 'string') text = input;
  else {
    if (input.length > TLOG_PROOF_MAX_BYTES) throw new EvidentError('INPUT_INVALID', 'tlog-proof too large');
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(input);
    } catch {
      throw new EvidentError('INPUT_INVALID', 'tlog-proof is not valid UTF-8');
    }
  }
  if (text.length > TLOG_PROOF_MAX_BYTES) throw new EvidentError('INPUT_INVALID', 'tlog-proof too large');
  const split = text.indexOf('\n\n');
  if (split < 0) throw new EvidentError('INPUT_INVALID', 'tlog-proof: no blank line before the checkpoint');
  const head = text.slice(0, split).split('\n');
  const checkpoint = text.slice(split + 2);
  if (head[0] !== TLOG_PROOF_HEADER) throw new EvidentError('INPUT_INVALID', `tlog-proof must start with ${TLOG_PROOF_HEADER}`);
  let i = 1;
  const out: TlogProof = { index: 0, proof: [], checkpoint };
  if (head[i]?.startsWith('extra ')) {
    try {
      out.extra = parseBase64(head[i]!.slice(6));
    } catch {
      throw new EvidentError('INPUT_INVALID', 'tlog-proof: extra is not standard base64');
    }
    i++;
  }
  const m = /^index (0|[1-9][0-9]{0,15})$/.exec(head[i] ?? '');
  if (!m || !Number.isSafeInteger(Number(m[1]))) throw new EvidentError('INPUT_INVALID', 'tlog-proof: missing or invalid "index N" line');
  out.index = Number(m[1]);
  i++;
  if (head.length - i > MAX_PATH) throw new EvidentError('INPUT_INVALID', 'tlog-proof: inclusion proof too long');
  for (; i < head.length; i++) {
    let h: Uint8Array;
    try {
      h = parseBase64(head[i]!);
    } catch {
      throw new EvidentError('INPUT_INVALID', `tlog-proof: proof line ${JSON.stringify(head[i]!.slice(0, 60))} is not base64`);
    }
    if (h.length !== HASH_SIZE) throw new EvidentError('INPUT_INVALID', 'tlog-proof: proof hashes must be 32 bytes');
    out.proof.push(h);
  }
  if (!checkpoint) throw new EvidentError('INPUT_INVALID', 'tlog-proof: missing checkpoint');
  return out;
}

export interface TlogProofVerified {
  proof: TlogProof;
  checkpoint: VerifiedCheckpoint;
}

/**
 * Verify a tlog-proof with a pinned log key. `entry` (raw bytes) or `leafHash` identifies the logged entry; when
 * both are given they must agree. Fails closed: with neither, it throws ENTRY_MISSING (after the checkpoint and
 * the path's shape were checked) unless the caller opts in to `shapeOnly` (it then knows the leaf some other way).
 * Throws EvidentError: INPUT_INVALID (unparsable), KEY_UNTRUSTED (not signed by the pinned key / wrong origin),
 * SIGNATURE_INVALID, PROOF_INVALID (path does not lead to the checkpoint root, or entry and leaf hash differ),
 * ENTRY_MISSING.
 */
export function verifyTlogProof(
  input: string | Uint8Array,
  logKey: NoteVerifier,
  opts: { entry?: Uint8Array; leafHash?: Uint8Array; shapeOnly?: boolean; origin?: string; witnesses?: NoteVerifier[]; quorum?: number } = {},
): TlogProofVerified {
  const proof = parseTlogProof(input);
  const checkpoint = openCheckpoint(proof.checkpoint, logKey, opts);
  if (proof.index >= checkpoint.size) throw new EvidentError('PROOF_INVALID', `index ${proof.index} is not below the checkpoint size ${checkpoint.size}`);
  if (opts.leafHash && opts.leafHash.length !== HASH_SIZE) throw new EvidentError('INPUT_INVALID', 'leaf hash must be 32 bytes');
  const entryLeaf = opts.entry ? hashLeaf(opts.entry) : undefined;
  if (entryLeaf && opts.leafHash && !timingSafeEqualBytes(entryLeaf, opts.leafHash)) {
    throw new EvidentError('PROOF_INVALID', 'the entry does not hash to the given leaf hash');
  }
  const leaf = opts.leafHash ?? entryLeaf;
  if (leaf) {
    let root: Uint8Array;
    try {
      root = rootFromInclusionProof(proof.index, checkpoint.size, leaf, proof.proof);
    } catch (e) {
      throw new EvidentError('PROOF_INVALID', `inclusion proof: ${(e as Error).message}`);
    }
    if (!timingSafeEqualBytes(root, checkpoint.rootHash)) throw new EvidentError('PROOF_INVALID', 'inclusion proof does not lead to the checkpoint root');
  } else if (expectedPathLength(proof.index, checkpoint.size) !== proof.proof.length) {
    throw new EvidentError('PROOF_INVALID', `inclusion proof has ${proof.proof.length} hashes; index ${proof.index} in size ${checkpoint.size} needs ${expectedPathLength(proof.index, checkpoint.size)}`);
  } else if (!opts.shapeOnly) {
    throw new EvidentError('ENTRY_MISSING', 'the inclusion was not checked: the proof carries no entry bytes and no entry or leaf hash was given');
  }
  return { proof, checkpoint };
}

/** Number of hashes in an inclusion proof for (index, size). */
export function expectedPathLength(index: number, size: number): number {
  let fn = index;
  let sn = size - 1;
  let n = 0;
  while (sn > 0) {
    // a sibling exists unless the node is the lone last node of its level (fn == sn, even)
    if (fn % 2 === 1 || fn !== sn) n++;
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return n;
}
