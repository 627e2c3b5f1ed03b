/**
 * C2SP tlog-checkpoint bodies, signed as C2SP signed notes (kernel/note.ts), with witness cosignatures
 * (cosignature/v1) checked against pinned witness keys.
 *
 *   <origin>\n<decimal tree size, no leading zeros>\n<base64 root hash (32 bytes)>\n[<extension line>\n]*
 */
import { EvidentError } from '../kernel/errors.ts';
import { parseBase64, toBase64 } from '../kernel/encoding.ts';
import { openNote, signNote, NOTE_SIG_COSIGNATURE_V1, type NoteSigner, type NoteVerifier, type OpenedNote } from '../kernel/note.ts';
import { HASH_SIZE } from './merkle.ts';

export interface Checkpoint {
  origin: string;
  size: number;
  rootHash: Uint8Array;
  extensions: string[];
}

export const MAX_CHECKPOINT_EXTENSIONS = 64;

export function formatCheckpoint(cp: { origin: string; size: number; rootHash: Uint8Array; extensions?: string[] }): string {
  if (!cp.origin || /[\n\r]/.test(cp.origin)) throw new EvidentError('INPUT_INVALID', 'checkpoint origin must be a non-empty single line');
  if (!Number.isSafeInteger(cp.size) || cp.size < 0) throw new EvidentError('INPUT_INVALID', 'checkpoint size must be a non-negative integer');
  if (cp.rootHash.length !== HASH_SIZE) throw new EvidentError('INPUT_INVALID', 'checkpoint root hash must be 32 bytes');
  const ext = cp.extensions ?? [];
  for (const e of ext) if (!e || /[\n\r]/.test(e)) throw new EvidentError('INPUT_INVALID', 'checkpoint extension lines must be non-empty single lines');
  return `${cp.origin}\n${cp.size}\n${toBase64(cp.rootHash)}\n${ext.map((e) => e + '\n').join('')}`;
}

/** Parse a checkpoint body (the note text). Throws NOTE_INVALID. */
export function parseCheckpoint(text: string): Checkpoint {
  if (typeof text !== 'string' || !text.endsWith('\n')) throw new EvidentError('NOTE_INVALID', 'checkpoint must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw new EvidentError('NOTE_INVALID', 'checkpoint needs origin, size and root hash lines');
  if (lines.length - 3 > MAX_CHECKPOINT_EXTENSIONS) throw new EvidentError('NOTE_INVALID', 'too many checkpoint extension lines');
  const [origin, sizeS, rootS, ...extensions] = lines as [string, string, string, ...string[]];
  if (!origin) throw new EvidentError('NOTE_INVALID', 'empty checkpoint origin');
  if (!/^(0|[1-9][0-9]{0,15})$/.test(sizeS) || !Number.isSafeInteger(Number(sizeS))) throw new EvidentError('NOTE_INVALID', `invalid checkpoint tree size ${JSON.stringify(sizeS)}`);
  let rootHash: Uint8Array;
  try {
    rootHash = parseBase64(rootS);
  } catch {
    throw new EvidentError('NOTE_INVALID', 'checkpoint root hash is not standard base64');
  }
  if (rootHash.length !== HASH_SIZE) throw new EvidentError('NOTE_INVALID', 'checkpoint root hash must be 32 bytes');
  for (const e of extensions) if (e.length === 0) throw new EvidentError('NOTE_INVALID', 'empty checkpoint extension line');
  return { origin, size: Number(sizeS), rootHash, extensions };
}

export function signCheckpoint(cp: { origin: string; size: number; rootHash: Uint8Array; extensions?: string[] }, signer: NoteSigner | NoteSigner[]): string {
  return signNote(formatCheckpoint(cp), signer);
}

export interface VerifiedCheckpoint extends Checkpoint {
  note: OpenedNote;
  /** Witness names whose cosignature verified. */
  witnesses: string[];
}

/**
 * Open a signed checkpoint with a pinned log key. The log key's signature is required (KEY_UNTRUSTED if absent,
 * SIGNATURE_INVALID if bad); the origin must equal the log key name (or `opts.origin`). With `witnesses` and a
 * `quorum`, at least `quorum` of those cosignatures must verify (SIGNATURE_MISSING otherwise).
 */
export function openCheckpoint(signed: string | Uint8Array, logKey: NoteVerifier, opts: { origin?: string; witnesses?: NoteVerifier[]; quorum?: number } = {}): VerifiedCheckpoint {
  const witnesses = (opts.witnesses ?? []).filter((w) => w.type === NOTE_SIG_COSIGNATURE_V1);
  const note = openNote(signed, [logKey, ...witnesses]);
  if (!note.verified.some((v) => v.name === logKey.name && v.keyHash === logKey.keyHash && v.type === logKey.type)) {
    throw new EvidentError('KEY_UNTRUSTED', `checkpoint is not signed by the pinned log key ${logKey.name}`);
  }
  const cp = parseCheckpoint(note.text);
  const wantOrigin = opts.origin ?? logKey.name;
  if (cp.origin !== wantOrigin) throw new EvidentError('KEY_UNTRUSTED', `checkpoint origin ${JSON.stringify(cp.origin)} does not match the log ${JSON.stringify(wantOrigin)}`);
  const cosigned = note.verified.filter((v) => v.type === NOTE_SIG_COSIGNATURE_V1).map((v) => v.name);
  const quorum = opts.quorum ?? 0;
  if (cosigned.length < quorum) throw new EvidentError('SIGNATURE_MISSING', `only ${cosigned.length} of the required ${quorum} witness cosignatures verified`);
  return { ...cp, note, witnesses: cosigned };
}
