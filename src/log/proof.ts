/**
 * Proof helpers shared by the log, the CLI and the service: re-exports of the pure verifiers plus text encodings
 * of proofs (one base64 hash per line, as in C2SP tlog-proof / tlog-witness).
 */
import { EvidentError } from '../kernel/errors.ts';
import { parseBase64, toBase64 } from '../kernel/encoding.ts';
import { HASH_SIZE } from './merkle.ts';

export {
  verifyInclusion, verifyConsistency, rootFromInclusionProof, verifySubtreeInclusion, verifySubtreeConsistency,
  inclusionProofPlan, consistencyProofPlan, assembleProof, planNodeIds,
} from './merkle.ts';

export function formatProofLines(proof: Uint8Array[]): string {
  return proof.map((h) => toBase64(h) + '\n').join('');
}

export function parseProofLines(text: string, max = 64): Uint8Array[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length > max) throw new EvidentError('INPUT_INVALID', `proof longer than ${max} hashes`);
  return lines.map((l, i) => {
    let h: Uint8Array;
    try {
      h = parseBase64(l);
    } catch {
      throw new EvidentError('INPUT_INVALID', `proof line ${i + 1} is not standard base64`);
    }
    if (h.length !== HASH_SIZE) throw new EvidentError('INPUT_INVALID', `proof line ${i + 1} is not a 32-byte hash`);
    return h;
  });
}
