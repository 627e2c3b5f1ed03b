/**
 * Detector for C2SP tlog-proof@v1 receipts (`evident verify PROOF --log-key PUB`).
 *
 * Checks, in order: parse (input, exit 10) → pinned log key given and loadable (key, exit 4) → checkpoint note
 * signed by that key with the log's origin (KEY_UNTRUSTED → 4, SIGNATURE_INVALID → 3, malformed note → 10) →
 * inclusion (integrity, exit 2). The logged entry is `--entry FILE` when given, else the proof's `extra` field
 * (Evident's `log prove` puts the entry bytes there); `--leaf-hash HEX` names the leaf instead (with an entry too,
 * both must agree). Fails closed: with none of them the inclusion cannot be checked, so the report fails with
 * ENTRY_MISSING (input, exit 10) after the checkpoint signature and the path's shape were checked.
 * The log key is a C2SP vkey (string or file) or an Ed25519 public key file (then its name is the checkpoint
 * origin). Keys carried by the artifact are never trusted.
 *
 * Witnesses (`--witness VKEY`, repeatable, `--witness-quorum N`, default: all given) for tlog-proofs, receipts
 * (through their tlog-proof) and checkpoints (`tlog-checkpoint`, a signed note whose text is a checkpoint):
 * a pinned witness's cosignature that does not verify is SIGNATURE_INVALID (exit 3); fewer than N valid ones is
 * WITNESS_QUORUM (policy, exit 1). Cosignatures by keys not given are ignored.
 */
import fs from 'node:fs';
import type { Detector, VerifyInput, VerifyOptions } from '../verify/input.ts';
import { Report, type FailureCategory } from '../verify/report.ts';
import { EvidentError } from '../kernel/errors.ts';
import { looksLikeSignedNote, looksLikeVkey, noteVerifier, parseNote, parseVkey, NOTE_SIG_COSIGNATURE_V1, type NoteVerifier } from '../kernel/note.ts';
import { loadVkeys } from './witness/keys.ts';
import { algOfKey } from '../kernel/keys.ts';
import { loadPublicKey, readKeyText } from '../store/keyfiles.ts';
import { TLOG_PROOF_HEADER, parseTlogProof, verifyTlogProof, type TlogProof } from './tlogproof.ts';
import { openCheckpoint, parseCheckpoint } from './checkpoint.ts';
import { parseHex, toHex } from '../kernel/encoding.ts';
import { hashLeaf } from './merkle.ts';

const HEADER = new TextEncoder().encode(TLOG_PROOF_HEADER + '\n');

function code(e: unknown, fallback: string): string {
  return (e as { code?: string })?.code ?? fallback;
}

/** Load the pinned log key (vkey string, vkey file or Ed25519 public key file) for a log origin. */
export function loadLogKey(spec: string, origin: string): NoteVerifier {
  const s = spec.trim();
  if (looksLikeVkey(s)) return parseVkey(s);
  if (!s.includes('-----BEGIN') && !s.startsWith('{')) {
    const text = readKeyText(s, 'log key file').trim();
    if (looksLikeVkey(text)) return parseVkey(text);
  }
  const key = loadPublicKey(s);
  if (algOfKey(key) !== 'ed25519') throw new EvidentError('KEY_UNSUPPORTED', 'log keys must be Ed25519');
  return noteVerifier(origin, key);
}

function category(c: string): FailureCategory {
  if (c === 'SIGNATURE_INVALID' || c === 'SIGNATURE_MISSING') return 'signature';
  if (/^KEY_/.test(c)) return 'key';
  if (c === 'PROOF_INVALID') return 'integrity';
  return 'input';
}

/**
 * The witness check of a checkpoint already verified with the log key: nothing when no --witness / quorum is
 * asked for; else the cosignatures of the pinned witness keys (bad one: signature; too few: policy).
 */
function checkWitnesses(report: Report, note: string, logKey: NoteVerifier, opts: VerifyOptions): void {
  const specs = Array.isArray(opts.witnesses) ? (opts.witnesses as string[]) : [];
  const quorum = typeof opts.witnessQuorum === 'number' ? opts.witnessQuorum : specs.length;
  if (specs.length === 0 && quorum === 0) return;
  if (!Number.isSafeInteger(quorum) || quorum < 0) {
    report.fail('witness', 'input', 'INPUT_INVALID', '--witness-quorum must be a non-negative integer');
    return;
  }
  let witnesses: NoteVerifier[];
  try {
    witnesses = loadVkeys(specs, NOTE_SIG_COSIGNATURE_V1);
  } catch (e) {
    report.fail('witness', 'key', code(e, 'KEY_INVALID'), (e as Error).message);
    return;
  }
  let names: string[];
  try {
    names = openCheckpoint(note, logKey, { witnesses }).witnesses;
  } catch (e) {
    const c = code(e, 'INPUT_INVALID');
    report.fail('witness', category(c), c, `witness cosignatures: ${(e as Error).message}`);
    return;
  }
  if (names.length < quorum) {
    report.fail('witness', 'policy', 'WITNESS_QUORUM', `${names.length} valid cosignature(s) from the pinned witnesses${names.length ? ` (${names.join(', ')})` : ''}; ${quorum} required`);
  } else report.pass('witness', `cosigned by ${names.join(', ') || 'no witness'} (${names.length} of ${quorum} required)`);
}

async function verify(input: VerifyInput, opts: VerifyOptions): Promise<Report> {
  const report = new Report('tlog-proof', opts.mode);
  let proof: TlogProof;
  let origin: string;
  try {
    proof = parseTlogProof(input.bytes ?? new Uint8Array());
    origin = parseCheckpoint(parseNote(proof.checkpoint).text).origin;
  } catch (e) {
    return report.fail('parse', 'input', code(e, 'INPUT_INVALID'), (e as Error).message);
  }
  report.pass('parse', `tlog-proof for index ${proof.index}, ${proof.proof.length} proof hash(es), log ${origin}`);
  const spec = typeof opts.logKey === 'string' ? opts.logKey : opts.keys?.[0];
  if (!spec) return report.fail('key', 'key', 'KEY_MISSING', 'no log key: give --log-key VKEY|FILE (keys inside the proof are never trusted)');
  let logKey: NoteVerifier;
  try {
    logKey = loadLogKey(spec, origin);
  } catch (e) {
    return report.fail('key', 'key', code(e, 'KEY_INVALID'), (e as Error).message);
  }
  // entry bytes given in memory (POST /v1/verify entry_base64) win over the proof's extra, as --entry does
  let entry: Uint8Array | undefined = opts.entryBytes instanceof Uint8Array ? opts.entryBytes : proof.extra;
  const entryFile = typeof opts.entry === 'string' ? opts.entry : undefined;
  if (entryFile) {
    try {
      entry = fs.readFileSync(entryFile);
    } catch (e) {
      return report.fail('entry', 'input', 'IO_ERROR', `cannot read entry ${entryFile}: ${(e as Error).message}`);
    }
  }
  let leafHash: Uint8Array | undefined;
  if (typeof opts.leafHash === 'string') {
    try {
      leafHash = parseHex(opts.leafHash, { length: 32 });
    } catch {
      return report.fail('entry', 'input', 'INPUT_INVALID', '--leaf-hash must be 64 hex digits (the RFC 6962 leaf hash, SHA-256(0x00 || entry))');
    }
  }
  const known = entry !== undefined || leafHash !== undefined;
  try {
    const v = verifyTlogProof(input.bytes!, logKey, { entry, leafHash, shapeOnly: !known });
    report.pass('checkpoint', `checkpoint signed by ${logKey.name}: size ${v.checkpoint.size}`, { actual: toHex(v.checkpoint.rootHash) });
    checkWitnesses(report, proof.checkpoint, logKey, opts);
    if (known) {
      const leaf = toHex(leafHash ?? hashLeaf(entry!));
      const source = entryFile ? `--entry ${entryFile}` : opts.entryBytes instanceof Uint8Array ? 'the given entry' : entry ? 'the proof\'s extra' : '--leaf-hash';
      report.pass('inclusion', `entry ${proof.index} (leaf ${leaf}, from ${source}) is in the tree of size ${v.checkpoint.size}`, { actual: leaf });
    } else {
      report.fail('inclusion', 'input', 'ENTRY_MISSING', 'inclusion not checked: the proof carries no entry bytes (no extra line); give the logged entry with --entry FILE or its leaf hash with --leaf-hash HEX');
    }
  } catch (e) {
    const c = code(e, 'INPUT_INVALID');
    const id = c === 'PROOF_INVALID' ? 'inclusion' : 'checkpoint';
    report.fail(id, category(c), c, (e as Error).message);
  }
  return report;
}

export const tlogProofDetector: Detector = {
  format: 'tlog-proof',
  detect(input: VerifyInput): boolean {
    const b = input.bytes;
    if (!b || b.length < HEADER.length) return false;
    for (let i = 0; i < HEADER.length; i++) if (b[i] !== HEADER[i]) return false;
    return true;
  },
  verify,
};

/** A signed note whose text is a C2SP checkpoint (origin, size, 32-byte root). */
function looksLikeCheckpoint(b: Uint8Array | undefined): boolean {
  if (!b || !looksLikeSignedNote(b)) return false;
  try {
    parseCheckpoint(parseNote(b).text);
    return true;
  } catch {
    return false;
  }
}

async function verifyCheckpointNote(input: VerifyInput, opts: VerifyOptions): Promise<Report> {
  const report = new Report('tlog-checkpoint', opts.mode);
  let origin: string;
  let note: string;
  try {
    note = new TextDecoder('utf-8', { fatal: true }).decode(input.bytes ?? new Uint8Array());
    const cp = parseCheckpoint(parseNote(note).text);
    origin = cp.origin;
    report.pass('parse', `checkpoint of ${origin}, size ${cp.size}`);
  } catch (e) {
    return report.fail('parse', 'input', code(e, 'NOTE_INVALID'), (e as Error).message);
  }
  const spec = typeof opts.logKey === 'string' ? opts.logKey : opts.keys?.[0];
  if (!spec) return report.fail('key', 'key', 'KEY_MISSING', 'no log key: give --log-key VKEY|FILE (or --key)');
  let logKey: NoteVerifier;
  try {
    logKey = loadLogKey(spec, origin);
  } catch (e) {
    return report.fail('key', 'key', code(e, 'KEY_INVALID'), (e as Error).message);
  }
  try {
    const v = openCheckpoint(note, logKey);
    report.pass('checkpoint', `checkpoint signed by ${logKey.name}: size ${v.size}`, { actual: toHex(v.rootHash) });
  } catch (e) {
    const c = code(e, 'INPUT_INVALID');
    return report.fail('checkpoint', category(c), c, (e as Error).message);
  }
  checkWitnesses(report, note, logKey, opts);
  return report;
}

/** Checkpoints (signed notes of a C2SP checkpoint body): log key, then witness cosignatures. */
export const checkpointDetector: Detector = {
  format: 'tlog-checkpoint',
  detect: (input) => !input.isDirectory && input.json === undefined && looksLikeCheckpoint(input.bytes),
  verify: verifyCheckpointNote,
};

/** Detectors for transparency-log artifacts (tlog-proof, checkpoints). */
export const detectors: Detector[] = [tlogProofDetector, checkpointDetector];
