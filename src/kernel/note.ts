/**
 * C2SP signed notes (c2sp.org/signed-note) with Ed25519 (type 0x01) signatures and Ed25519 witness cosignatures
 * (type 0x04, c2sp.org/tlog-cosignature `cosignature/v1`).
 *
 * Note = text (ends in "\n") + "\n" + signature lines "— <name> base64(keyID(4, big-endian) || sig)\n".
 * Key ID = SHA-256(name || 0x0A || type || 32-byte public key)[:4].
 * vkey = "<name>+<8 hex keyID>+base64(type || pubkey)"; skey = "PRIVATE+KEY+<name>+<8 hex keyID>+base64(type || seed)".
 * Cosignature (0x04): sig = u64 big-endian timestamp || Ed25519 signature over
 *   "cosignature/v1\ntime <timestamp>\n" || note text.
 *
 * Verification rules (C2SP + Go sumdb/note behaviour):
 * - the whole note must be valid UTF-8 without ASCII control characters other than "\n" (NOTE_INVALID);
 * - text and signatures are split at the last blank line; every signature line must be well formed, names
 *   non-empty without Unicode spaces or "+", base64 standard and strict, at least 5 bytes (NOTE_INVALID);
 * - at most 100 signature lines and 1 MiB per note (NOTE_INVALID);
 * - signatures whose (name, key ID) match no known verifier are ignored (reported as unverified);
 * - a signature from a known verifier that fails to verify rejects the note (SIGNATURE_INVALID);
 * - repeated signatures by the same verifier are counted once;
 * - if no known verifier verified, the note is rejected (KEY_UNTRUSTED: nothing trusted signed it).
 */
import { createHash, type KeyObject } from './crypto/index.ts';
import { EvidentError } from './errors.ts';
import { parseBase64, toBase64, utf8, concatBytes } from './encoding.ts';
import { ed25519PrivateKeyFromSeed, ed25519PublicKeyFromRaw, ed25519Seed, rawPublicKey, toPublicKey, algOfKey } from './keys.ts';
import { sign, verify } from './sign.ts';

export const NOTE_SIG_ED25519 = 0x01;
export const NOTE_SIG_COSIGNATURE_V1 = 0x04;
export type NoteSigType = typeof NOTE_SIG_ED25519 | typeof NOTE_SIG_COSIGNATURE_V1;

export const NOTE_MAX_SIGNATURES = 100;
export const NOTE_MAX_BYTES = 1024 * 1024;
const EM_DASH_PREFIX = '\u2014 ';
const MAX_TIMESTAMP = (1n << 63n) - 1n;

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Key names: non-empty, no Unicode whitespace, no "+". */
export function isValidNoteKeyName(name: string): boolean {
  return typeof name === 'string' && name.length > 0 && name.length <= 1024 && !/[\s+\u0085]/u.test(name) && !/[\x00-\x1f]/.test(name);
}

/** SHA-256(name || "\n" || type || pub)[:4] as an unsigned 32-bit integer. */
export function noteKeyHash(name: string, type: number, pub: Uint8Array): number {
  const h = createHash('sha256').update(utf8(name)).update(Uint8Array.from([0x0a, type])).update(pub).digest();
  return h.readUInt32BE(0);
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

export interface NoteVerifier {
  name: string;
  keyHash: number;
  type: NoteSigType;
  publicKey: KeyObject;
  /** The 32 raw Ed25519 bytes. */
  raw: Uint8Array;
}

export interface NoteSigner {
  name: string;
  keyHash: number;
  type: NoteSigType;
  privateKey: KeyObject;
}

function checkType(type: number): NoteSigType {
  if (type !== NOTE_SIG_ED25519 && type !== NOTE_SIG_COSIGNATURE_V1) {
    throw new EvidentError('KEY_UNSUPPORTED', `unsupported note signature type 0x${type.toString(16).padStart(2, '0')} (only 0x01 Ed25519, 0x04 cosignature/v1)`);
  }
  return type;
}

function checkName(name: string): void {
  if (!isValidNoteKeyName(name)) throw new EvidentError('KEY_INVALID', `invalid note key name ${JSON.stringify(name)} (non-empty, no spaces, no "+")`);
}

/** Verifier for a public key (Ed25519) under a name. */
export function noteVerifier(name: string, publicKey: KeyObject, type: NoteSigType = NOTE_SIG_ED25519): NoteVerifier {
  checkName(name);
  checkType(type);
  if (algOfKey(publicKey) !== 'ed25519') throw new EvidentError('KEY_UNSUPPORTED', 'note keys must be Ed25519');
  const pub = toPublicKey(publicKey);
  const raw = rawPublicKey(pub);
  return { name, keyHash: noteKeyHash(name, type, raw), type, publicKey: pub, raw };
}

/** Signer for an Ed25519 private key under a name. */
export function noteSigner(name: string, privateKey: KeyObject, type: NoteSigType = NOTE_SIG_ED25519): NoteSigner {
  checkName(name);
  checkType(type);
  if (privateKey.type !== 'private' || algOfKey(privateKey) !== 'ed25519') throw new EvidentError('KEY_UNSUPPORTED', 'note signing keys must be Ed25519 private keys');
  return { name, keyHash: noteKeyHash(name, type, rawPublicKey(privateKey)), type, privateKey };
}

/** Parse "<name>+<hash>+<base64(type||pub)>"; the hash must match. Throws KEY_INVALID / KEY_UNSUPPORTED. */
/** Shape of a C2SP verifier key `<name>+<8 hex key hash>+<base64 key>` (cheap test; parseVkey validates fully). */
export const VKEY_RE = /^[^\s+]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*$/;

/** True when a string has the shape of a C2SP verifier key. */
export function looksLikeVkey(s: string): boolean {
  return VKEY_RE.test(s);
}

/** Split "<name>+<8 hex key hash>+<base64 key>" (vkey, and skey after its PRIVATE+KEY+ prefix); checks each part's form. */
function splitKeyString(s: string, what: 'vkey' | 'skey'): { name: string; hash: string; key: Uint8Array } {
  const i1 = s.indexOf('+');
  const i2 = i1 < 0 ? -1 : s.indexOf('+', i1 + 1);
  if (i1 < 0 || i2 < 0) throw new EvidentError('KEY_INVALID', `malformed ${what} (expected name+hash+key)`);
  const name = s.slice(0, i1);
  const hash = s.slice(i1 + 1, i2);
  checkName(name);
  if (!/^[0-9a-f]{8}$/.test(hash)) throw new EvidentError('KEY_INVALID', `malformed ${what} key hash (8 lowercase hex)`);
  try {
    return { name, hash, key: parseBase64(s.slice(i2 + 1)) };
  } catch {
    throw new EvidentError('KEY_INVALID', `malformed ${what} key (standard base64)`);
  }
}

export function parseVkey(vkey: string): NoteVerifier {
  if (typeof vkey !== 'string' || vkey.length > 4096) throw new EvidentError('KEY_INVALID', 'vkey must be a short string');
  const { name, hash, key } = splitKeyString(vkey.trim(), 'vkey');
  if (key.length < 1) throw new EvidentError('KEY_INVALID', 'empty vkey key');
  const type = checkType(key[0]!);
  if (key.length !== 33) throw new EvidentError('KEY_INVALID', `vkey Ed25519 key must be 32 bytes, got ${key.length - 1}`);
  const raw = key.slice(1);
  const keyHash = noteKeyHash(name, type, raw);
  if (hex8(keyHash) !== hash) throw new EvidentError('KEY_INVALID', `vkey key hash ${hash} does not match the key (${hex8(keyHash)})`);
  return { name, keyHash, type, publicKey: ed25519PublicKeyFromRaw(raw), raw };
}

/** Format a verifier key string. */
export function formatVkey(name: string, publicKey: KeyObject, type: NoteSigType = NOTE_SIG_ED25519): string {
  const v = noteVerifier(name, publicKey, type);
  return `${v.name}+${hex8(v.keyHash)}+${toBase64(concatBytes(Uint8Array.of(type), v.raw))}`;
}

/** Parse "PRIVATE+KEY+<name>+<hash>+<base64(type||seed)>"; hash must match the derived public key. */
export function parseSkey(skey: string): NoteSigner {
  if (typeof skey !== 'string' || skey.length > 4096) throw new EvidentError('KEY_INVALID', 'skey must be a short string');
  const s = skey.trim();
  if (!s.startsWith('PRIVATE+KEY+')) throw new EvidentError('KEY_INVALID', 'malformed skey (expected PRIVATE+KEY+name+hash+key)');
  const { name, hash, key } = splitKeyString(s.slice('PRIVATE+KEY+'.length), 'skey');
  if (key.length !== 33) throw new EvidentError('KEY_INVALID', 'skey Ed25519 seed must be 32 bytes');
  const type = checkType(key[0]!);
  const signer = noteSigner(name, ed25519PrivateKeyFromSeed(key.slice(1)), type);
  if (hex8(signer.keyHash) !== hash) throw new EvidentError('KEY_INVALID', `skey key hash ${hash} does not match the key`);
  return signer;
}

/** Format a private signer key string (handle as a secret). */
export function formatSkey(name: string, privateKey: KeyObject, type: NoteSigType = NOTE_SIG_ED25519): string {
  const s = noteSigner(name, privateKey, type);
  return `PRIVATE+KEY+${name}+${hex8(s.keyHash)}+${toBase64(concatBytes(Uint8Array.of(type), ed25519Seed(privateKey)))}`;
}

/** The message a cosignature/v1 signs. */
export function cosignatureMessage(text: Uint8Array | string, timestamp: bigint | number): Uint8Array {
  const t = typeof text === 'string' ? utf8(text) : text;
  return concatBytes(utf8(`cosignature/v1\ntime ${BigInt(timestamp).toString()}\n`), t);
}

function noteBytes(msg: string | Uint8Array): { bytes: Uint8Array; str: string } {
  const bytes = typeof msg === 'string' ? utf8(msg) : msg;
  if (bytes.length > NOTE_MAX_BYTES) throw new EvidentError('NOTE_INVALID', `note larger than ${NOTE_MAX_BYTES} bytes`);
  let str: string;
  try {
    str = typeof msg === 'string' ? msg : decoder.decode(bytes);
  } catch {
    throw new EvidentError('NOTE_INVALID', 'note is not valid UTF-8');
  }
  if (typeof msg === 'string' && /[\ud800-\udfff]/u.test(msg.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''))) {
    throw new EvidentError('NOTE_INVALID', 'note contains a lone surrogate');
  }
  if (/[\x00-\x09\x0b-\x1f]/.test(str)) throw new EvidentError('NOTE_INVALID', 'note contains ASCII control characters other than newline');
  return { bytes, str };
}

/** Check note text for signing: valid, non-empty, ends in "\n". */
function checkText(text: string): void {
  noteBytes(text);
  if (text.length === 0 || !text.endsWith('\n')) throw new EvidentError('NOTE_INVALID', 'note text must end with a newline');
}

function signatureBytes(signer: NoteSigner, text: string, timestamp?: bigint | number): Uint8Array {
  const id = Buffer.alloc(4);
  id.writeUInt32BE(signer.keyHash >>> 0);
  if (signer.type === NOTE_SIG_COSIGNATURE_V1) {
    const ts = BigInt(timestamp ?? Math.floor(Date.now() / 1000));
    if (ts < 0n || ts > MAX_TIMESTAMP) throw new EvidentError('INPUT_INVALID', 'cosignature timestamp out of range');
    const tsb = Buffer.alloc(8);
    tsb.writeBigUInt64BE(ts);
    return concatBytes(id, tsb, sign(signer.privateKey, cosignatureMessage(text, ts)));
  }
  return concatBytes(id, sign(signer.privateKey, text));
}

/** A signature line "— name base64\n" for `text` (cosigners use `timestamp`, default now). */
export function noteSignatureLine(signer: NoteSigner, text: string, timestamp?: bigint | number): string {
  checkText(text);
  return `${EM_DASH_PREFIX}${signer.name} ${toBase64(signatureBytes(signer, text, timestamp))}\n`;
}

/** Sign note text (must end in "\n") with one or more signers. */
export function signNote(text: string, signers: NoteSigner | NoteSigner[], opts: { timestamp?: bigint | number } = {}): string {
  checkText(text);
  const list = Array.isArray(signers) ? signers : [signers];
  if (list.length === 0) throw new EvidentError('INPUT_INVALID', 'no signer');
  if (list.length > NOTE_MAX_SIGNATURES) throw new EvidentError('INPUT_INVALID', 'too many signers');
  return text + '\n' + list.map((s) => noteSignatureLine(s, text, opts.timestamp)).join('');
}

/** Append signatures (e.g. cosignatures) to an already signed note; existing lines are kept byte for byte. */
export function appendNoteSignatures(signedNote: string, signers: NoteSigner[], opts: { timestamp?: bigint | number } = {}): string {
  const p = parseNote(signedNote);
  if (p.signatures.length + signers.length > NOTE_MAX_SIGNATURES) throw new EvidentError('NOTE_INVALID', 'too many signatures');
  return signedNote + signers.map((s) => noteSignatureLine(s, p.text, opts.timestamp)).join('');
}

export interface NoteSignatureLine {
  name: string;
  keyHash: number;
  /** Signature bytes after the 4-byte key ID. */
  sig: Uint8Array;
  base64: string;
  line: string;
}

export interface ParsedNote {
  text: string;
  textBytes: Uint8Array;
  signatures: NoteSignatureLine[];
}

/** Split and syntax-check a signed note. Throws NOTE_INVALID. */
export function parseNote(msg: string | Uint8Array): ParsedNote {
  const { str } = noteBytes(msg);
  const split = str.lastIndexOf('\n\n');
  if (split < 0) throw new EvidentError('NOTE_INVALID', 'malformed note: no blank line before the signatures');
  const text = str.slice(0, split + 1);
  const sigs = str.slice(split + 2);
  if (sigs.length === 0 || !sigs.endsWith('\n')) throw new EvidentError('NOTE_INVALID', 'malformed note: signature block must end with a newline');
  const lines = sigs.slice(0, -1).split('\n');
  if (lines.length > NOTE_MAX_SIGNATURES) throw new EvidentError('NOTE_INVALID', `more than ${NOTE_MAX_SIGNATURES} signature lines`);
  const signatures = lines.map((line, i) => {
    if (!line.startsWith(EM_DASH_PREFIX)) throw new EvidentError('NOTE_INVALID', `signature line ${i + 1} does not start with "— "`);
    const rest = line.slice(EM_DASH_PREFIX.length);
    const sp = rest.indexOf(' ');
    if (sp < 0) throw new EvidentError('NOTE_INVALID', `signature line ${i + 1}: no signature`);
    const name = rest.slice(0, sp);
    const b64 = rest.slice(sp + 1);
    if (!isValidNoteKeyName(name)) throw new EvidentError('NOTE_INVALID', `signature line ${i + 1}: invalid key name`);
    let raw: Uint8Array;
    try {
      raw = parseBase64(b64);
    } catch {
      throw new EvidentError('NOTE_INVALID', `signature line ${i + 1}: signature is not standard base64`);
    }
    if (raw.length < 5) throw new EvidentError('NOTE_INVALID', `signature line ${i + 1}: signature too short`);
    const keyHash = Buffer.from(raw.buffer, raw.byteOffset, 4).readUInt32BE(0);
    return { name, keyHash, sig: raw.subarray(4), base64: b64, line };
  });
  return { text, textBytes: utf8(text), signatures };
}

export interface NoteVerified {
  name: string;
  keyHash: number;
  type: NoteSigType;
  /** cosignature/v1 timestamp (POSIX seconds). */
  timestamp?: bigint;
}

export interface OpenedNote {
  text: string;
  verified: NoteVerified[];
  unverified: Array<{ name: string; keyHash: number }>;
}

function verifyLine(v: NoteVerifier, text: Uint8Array, sig: Uint8Array): { ok: boolean; timestamp?: bigint } {
  if (v.type === NOTE_SIG_COSIGNATURE_V1) {
    if (sig.length !== 72) return { ok: false };
    const ts = Buffer.from(sig.buffer, sig.byteOffset, 8).readBigUInt64BE(0);
    if (ts > MAX_TIMESTAMP) return { ok: false };
    return { ok: verify(v.publicKey, cosignatureMessage(text, ts), sig.subarray(8)), timestamp: ts };
  }
  return { ok: sig.length === 64 && verify(v.publicKey, text, sig) };
}

/**
 * Parse and verify a signed note against known verifiers. See the module comment for the rules.
 * Throws NOTE_INVALID, SIGNATURE_INVALID (a known key's signature failed) or KEY_UNTRUSTED (no known key signed).
 */
export function openNote(msg: string | Uint8Array, verifiers: NoteVerifier[]): OpenedNote {
  const p = parseNote(msg);
  const known = new Map<string, NoteVerifier>();
  for (const v of verifiers) {
    const k = `${v.name}\n${v.keyHash}`;
    const prev = known.get(k);
    if (prev && !prev.publicKey.equals(v.publicKey)) throw new EvidentError('KEY_INVALID', `ambiguous verifiers for ${v.name}+${hex8(v.keyHash)}`);
    known.set(k, v);
  }
  const verified: NoteVerified[] = [];
  const unverified: Array<{ name: string; keyHash: number }> = [];
  const seen = new Set<string>();
  const seenUnverified = new Set<string>();
  for (const s of p.signatures) {
    const k = `${s.name}\n${s.keyHash}`;
    const v = known.get(k);
    if (!v) {
      if (!seenUnverified.has(s.line)) {
        seenUnverified.add(s.line);
        unverified.push({ name: s.name, keyHash: s.keyHash });
      }
      continue;
    }
    if (seen.has(k)) continue;
    seen.add(k);
    const r = verifyLine(v, p.textBytes, s.sig);
    if (!r.ok) throw new EvidentError('SIGNATURE_INVALID', `invalid signature for key ${s.name}+${hex8(s.keyHash)}`);
    const out: NoteVerified = { name: s.name, keyHash: s.keyHash, type: v.type };
    if (r.timestamp !== undefined) out.timestamp = r.timestamp;
    verified.push(out);
  }
  if (verified.length === 0) {
    throw new EvidentError('KEY_UNTRUSTED', `no signature from a known key (${p.signatures.length} signature(s) from unknown keys)`);
  }
  return { text: p.text, verified, unverified };
}

/** Does this text look like a signed note (UTF-8, blank line, last line an em-dash signature line)? */
export function looksLikeSignedNote(bytes: Uint8Array): boolean {
  if (bytes.length < 8 || bytes.length > NOTE_MAX_BYTES || bytes[bytes.length - 1] !== 0x0a) return false;
  let s: string;
  try {
    s = decoder.decode(bytes);
  } catch {
    return false;
  }
  const split = s.lastIndexOf('\n\n');
  return split >= 0 && s.slice(split + 2).startsWith(EM_DASH_PREFIX);
}

export { hex8 as formatKeyHash };
