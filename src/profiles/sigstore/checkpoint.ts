/**
 * Rekor checkpoints (C2SP tlog-checkpoint in a C2SP signed note), verified with Evident's own note and checkpoint
 * parsers (kernel/note.ts, log/checkpoint.ts) against the tlog key from the trusted root.
 *
 * `@sigstore/verify` lags here: it accepts a note without origin / size / root-hash lines when enough other lines
 * exist, matches the signer name as a regular expression against the log URL, and takes any matching line as
 * sufficient. Rules applied instead:
 * - the note and the checkpoint body must be well formed (NOTE_INVALID → CHECKPOINT_INVALID);
 * - the log's signature line is one whose name is the log's name (its base URL without scheme) and whose key hint
 *   is the first 4 bytes of the log ID; for Ed25519 (Rekor v2) the hint must also be the C2SP key hash
 *   SHA-256(name || 0x0A || 0x01 || key)[:4];
 * - lines from other keys (witness cosignatures, other logs) are ignored; a checkpoint with no line from the log
 *   is untrusted (key), one whose log line does not verify is a bad signature;
 * - the origin line is the log name, or (Rekor v1) the log name followed by " - <tree ID>".
 */
import { crypto as score } from '@sigstore/core';
import type { TLogAuthority } from '@sigstore/verify/dist/trust/trust.types.js';
import { parseNote, noteKeyHash, NOTE_SIG_ED25519 } from '../../kernel/note.ts';
import { parseCheckpoint, type Checkpoint } from '../../log/checkpoint.ts';
import { rawPublicKey } from '../../kernel/keys.ts';
import { bufferView } from '../../kernel/encoding.ts';

export class CheckpointError extends Error {
  constructor(
    readonly code: 'CHECKPOINT_INVALID' | 'CHECKPOINT_UNTRUSTED' | 'CHECKPOINT_SIGNATURE_INVALID',
    message: string,
  ) {
    super(message);
    this.name = 'CheckpointError';
  }
}

/** The name a log signs its checkpoints with: its base URL without scheme or trailing slash. */
export function logName(baseURL: string): string {
  return baseURL.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/\/+$/, '');
}

/** Verify a checkpoint envelope as signed by `tlog`; returns the parsed checkpoint body. */
export function verifyRekorCheckpoint(envelope: string, tlog: TLogAuthority): Checkpoint {
  let note: ReturnType<typeof parseNote>;
  let cp: Checkpoint;
  try {
    note = parseNote(envelope);
    cp = parseCheckpoint(note.text);
  } catch (e) {
    throw new CheckpointError('CHECKPOINT_INVALID', `malformed checkpoint: ${(e as Error).message}`);
  }
  const name = logName(tlog.baseURL);
  if (cp.origin !== name && !cp.origin.startsWith(name + ' - ')) {
    throw new CheckpointError('CHECKPOINT_UNTRUSTED', `checkpoint origin ${JSON.stringify(cp.origin)} is not the log ${JSON.stringify(name)}`);
  }
  const hint = tlog.logID.length >= 4 ? tlog.logID.readUInt32BE(0) : -1;
  let c2spHash: number | undefined;
  if (tlog.publicKey.asymmetricKeyType === 'ed25519') c2spHash = noteKeyHash(name, NOTE_SIG_ED25519, rawPublicKey(tlog.publicKey));
  const mine = note.signatures.filter((s) => s.name === name && s.keyHash === hint && (c2spHash === undefined || s.keyHash === c2spHash));
  if (mine.length === 0) {
    throw new CheckpointError('CHECKPOINT_UNTRUSTED', `no checkpoint signature by the log ${name} (key hint ${hint.toString(16).padStart(8, '0')}); ${note.signatures.length} line(s) from other keys ignored`);
  }
  const text = Buffer.from(note.textBytes);
  for (const s of mine) {
    let ok = false;
    try {
      ok = score.verify(text, tlog.publicKey, bufferView(s.sig));
    } catch {
      ok = false;
    }
    if (!ok) throw new CheckpointError('CHECKPOINT_SIGNATURE_INVALID', `checkpoint signature by ${name} does not verify`);
  }
  return cp;
}
