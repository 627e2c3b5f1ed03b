/**
 * Transparency-log entries of a Sigstore bundle (Rekor v1 and v2): one report check per step.
 *
 * - `body`: the logged entry (canonicalizedBody) is about this bundle — kind/version as declared, same signature,
 *   same digest, same verifier (certificate or key). Own code: `@sigstore/verify` 3 does not accept the Rekor v2
 *   "hashedrekord over DSSE" encoding (hashedrekord/0.0.2 recording SHA-256(PAE) of the envelope) and never
 *   compares the verifier. Kinds: hashedrekord 0.0.1/0.0.2, dsse 0.0.1/0.0.2, intoto 0.0.2.
 * - `set`: Rekor v1 signed entry timestamp, checked by `@sigstore/verify`'s verifyTLogSET after the log is found
 *   in the trusted root and its key is valid at the integrated time (so untrusted log, window and bad signature are
 *   told apart).
 * - `checkpoint` + `inclusion`: the checkpoint is signed by the log (checkpoint.ts) and the RFC 6962 inclusion
 *   proof of SHA-256(0x00 || body) leads to its root (Evident's log/merkle.ts).
 */
import { createPublicKey, type KeyObject } from '../../kernel/crypto/index.ts';
import { dsse as cdsse } from '@sigstore/core';
import type { TransparencyLogEntry } from '@sigstore/protobuf-specs';
import type { TLogAuthority } from '@sigstore/verify/dist/trust/trust.types.js';
import { verifyTLogSET } from '@sigstore/verify/dist/tlog/set.js';
import type { Report } from '../../verify/report.ts';
import { hashLeaf, verifyInclusion } from '../../log/merkle.ts';
import { bytesView, toHex } from '../../kernel/encoding.ts';
import { CheckpointError, verifyRekorCheckpoint } from './checkpoint.ts';
import { sha256 } from '../../kernel/digest.ts';

/** What the bundle signs, as the log entry must record it. */
export type SignedContent =
  | { kind: 'message'; signature: Buffer; digest: Buffer; digestAlg: string }
  | { kind: 'dsse'; signature: Buffer; payload: Buffer; payloadType: string };

export interface Signer {
  /** DER of the signing certificate, when the bundle has one. */
  certDer?: Buffer;
  /** The signing key (certificate key or pinned key). */
  key?: KeyObject;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const get = (o: unknown, ...path: string[]): unknown => path.reduce<unknown>((a, k) => (isObj(a) ? a[k] : undefined), o);

function b64(v: unknown): Buffer | undefined {
  return typeof v === 'string' ? Buffer.from(v, 'base64') : undefined;
}
function hex(v: unknown): Buffer | undefined {
  return typeof v === 'string' && /^[0-9a-fA-F]*$/.test(v) && v.length % 2 === 0 ? Buffer.from(v, 'hex') : undefined;
}
const eq = (a: Uint8Array | undefined, b: Uint8Array | undefined): boolean => !!a && !!b && a.length === b.length && Buffer.compare(a, b) === 0;

/** A verifier as logged: a PEM (v1, base64 of PEM text) or v2 `{x509Certificate|publicKey: {rawBytes}}`. */
type LoggedVerifier = { pem: string } | { certDer: Buffer } | { keyDer: Buffer };

function pemDer(pem: string, label: string): Buffer | undefined {
  const m = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`).exec(pem);
  return m ? Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64') : undefined;
}

function spki(k: KeyObject): Buffer {
  return k.export({ type: 'spki', format: 'der' });
}

function verifierMatches(v: LoggedVerifier | undefined, signer: Signer): boolean {
  if (!v) return false;
  let certDer: Buffer | undefined;
  let keyDer: Buffer | undefined;
  if ('pem' in v) {
    certDer = pemDer(v.pem, 'CERTIFICATE');
    keyDer = certDer ? undefined : pemDer(v.pem, 'PUBLIC KEY');
  } else if ('certDer' in v) certDer = v.certDer;
  else keyDer = v.keyDer;
  if (certDer) return eq(certDer, signer.certDer);
  if (keyDer && signer.key && !signer.certDer) {
    try {
      return eq(spki(createPublicKey({ key: keyDer, format: 'der', type: 'spki' })), spki(signer.key));
    } catch {
      return false;
    }
  }
  return false;
}

function v2Verifier(v: unknown): LoggedVerifier | undefined {
  const cert = b64(get(v, 'x509Certificate', 'rawBytes'));
  if (cert) return { certDer: cert };
  const key = b64(get(v, 'publicKey', 'rawBytes'));
  return key ? { keyDer: key } : undefined;
}

function pemVerifier(v: unknown): LoggedVerifier | undefined {
  const t = b64(v);
  return t ? { pem: t.toString('utf8') } : undefined;
}

function paeDigest(c: { payloadType: string; payload: Buffer }): Uint8Array {
  return sha256(cdsse.preAuthEncoding(c.payloadType, c.payload));
}

/** Compare the logged body with the bundle content; returns a mismatch description or undefined when it matches. */
export function bodyMismatch(entry: TransparencyLogEntry, content: SignedContent, signer: Signer): string | undefined {
  let body: unknown;
  try {
    body = JSON.parse(entry.canonicalizedBody.toString('utf8'));
  } catch {
    return 'canonicalizedBody is not JSON';
  }
  const { kind, version } = entry.kindVersion ?? { kind: '', version: '' };
  if (get(body, 'kind') !== kind || get(body, 'apiVersion') !== version) {
    return `kind/version ${kind}/${version} does not match the body (${String(get(body, 'kind'))}/${String(get(body, 'apiVersion'))})`;
  }
  let sig: Buffer | undefined;
  let digest: Buffer | undefined;
  let want: Uint8Array;
  let verifier: LoggedVerifier | undefined;
  const spec = get(body, 'spec');
  const key = `${kind}/${version}`;
  if (key === 'hashedrekord/0.0.1') {
    if (content.kind !== 'message') return 'a hashedrekord/0.0.1 entry records a message signature, the bundle has a DSSE envelope';
    sig = b64(get(spec, 'signature', 'content'));
    digest = hex(get(spec, 'data', 'hash', 'value'));
    if (get(spec, 'data', 'hash', 'algorithm') !== content.digestAlg) return `digest algorithm ${String(get(spec, 'data', 'hash', 'algorithm'))} is not ${content.digestAlg}`;
    want = content.digest;
    verifier = pemVerifier(get(spec, 'signature', 'publicKey', 'content'));
  } else if (key === 'hashedrekord/0.0.2') {
    const s = get(spec, 'hashedRekordV002');
    sig = b64(get(s, 'signature', 'content'));
    digest = b64(get(s, 'data', 'digest'));
    // a DSSE envelope logged as hashedrekord records SHA-256(PAE(payloadType, payload)) (rekor-v2-spec §6.1.4)
    want = content.kind === 'message' ? content.digest : paeDigest(content);
    verifier = v2Verifier(get(s, 'signature', 'verifier'));
  } else if (key === 'dsse/0.0.1' || key === 'dsse/0.0.2') {
    if (content.kind !== 'dsse') return 'a dsse entry records a DSSE envelope, the bundle has a message signature';
    const v2 = version === '0.0.2';
    const s = v2 ? get(spec, 'dsseV002') : spec;
    const sigs = get(s, 'signatures');
    if (!Array.isArray(sigs) || sigs.length !== 1) return 'the entry must record exactly one signature';
    sig = b64(get(sigs[0], v2 ? 'content' : 'signature'));
    digest = v2 ? b64(get(s, 'payloadHash', 'digest')) : hex(get(s, 'payloadHash', 'value'));
    want = sha256(content.payload);
    verifier = v2 ? v2Verifier(get(sigs[0], 'verifier')) : pemVerifier(get(sigs[0], 'verifier'));
  } else if (key === 'intoto/0.0.2') {
    if (content.kind !== 'dsse') return 'an intoto entry records a DSSE envelope, the bundle has a message signature';
    const sigs = get(spec, 'content', 'envelope', 'signatures');
    if (!Array.isArray(sigs) || sigs.length !== 1) return 'the entry must record exactly one signature';
    // the signature is base64 twice in intoto entries
    const inner = b64(get(sigs[0], 'sig'));
    sig = inner ? b64(inner.toString('utf8')) : undefined;
    digest = hex(get(spec, 'content', 'payloadHash', 'value'));
    want = sha256(content.payload);
    verifier = pemVerifier(get(sigs[0], 'publicKey'));
  } else {
    return `unsupported entry kind ${key}`;
  }
  if (!eq(sig, content.signature)) return 'the logged signature is not the bundle signature';
  if (!eq(digest, want)) return `the logged digest ${digest ? toHex(bytesView(digest)) : '(none)'} is not the content digest ${toHex(want)}`;
  // (no established signer — a pinned key that did not verify — leaves that to the signature check)
  if ((signer.certDer || signer.key) && !verifierMatches(verifier, signer)) return 'the logged verifier (certificate or key) is not the bundle signer';
  return undefined;
}

export function tlogsFor(entry: TransparencyLogEntry, tlogs: TLogAuthority[]): TLogAuthority[] {
  const id = entry.logId?.keyId;
  return id ? tlogs.filter((t) => t.logID.equals(id)) : [];
}

/**
 * Is a trusted-root window [start, end] (end inclusive) open at `at`? Sigstore times are whole seconds (Rekor
 * integrated time; RFC 3161 genTime usually), so the start is taken at second resolution: a window opened at
 * 12:00:00.400 covers a timestamp of 12:00:00.
 */
export function windowOpen(validFor: { start: Date; end: Date }, at: Date): boolean {
  return Math.floor(validFor.start.getTime() / 1000) * 1000 <= at.getTime() && at.getTime() <= validFor.end.getTime();
}

export function validAt(t: TLogAuthority, at: Date): boolean {
  return windowOpen(t.validFor, at);
}

/** Rekor v1 SET; records `${id}.set`. Returns the integrated time when the SET verified. */
export function checkSet(report: Report, id: string, entry: TransparencyLogEntry, logs: TLogAuthority[]): Date | undefined {
  if (!entry.inclusionPromise) return undefined;
  const t = Number(entry.integratedTime);
  const at = new Date(t * 1000);
  if (!Number.isSafeInteger(t) || t <= 0 || Number.isNaN(at.getTime())) {
    report.fail(`${id}.set`, 'integrity', 'SET_INVALID', 'an inclusion promise needs a positive integrated time');
    return undefined;
  }
  if (!logs.some((l) => validAt(l, at))) {
    report.fail(`${id}.set`, 'policy', 'TLOG_KEY_OUTSIDE_VALIDITY', `integrated time ${at.toISOString()} is outside the log key's trusted-root validity`);
    return undefined;
  }
  try {
    verifyTLogSET(entry as Parameters<typeof verifyTLogSET>[0], logs);
  } catch {
    report.fail(`${id}.set`, 'signature', 'SET_INVALID', 'the signed entry timestamp does not verify with the log key');
    return undefined;
  }
  report.pass(`${id}.set`, `signed entry timestamp verified (integrated time ${at.toISOString()})`);
  return at;
}

/** Checkpoint signature and inclusion proof; records `${id}.checkpoint` and `${id}.inclusion`. */
export function checkInclusion(report: Report, id: string, entry: TransparencyLogEntry, logs: TLogAuthority[]): boolean {
  const proof = entry.inclusionProof;
  if (!proof) return false;
  if (!proof.checkpoint?.envelope) {
    report.fail(`${id}.checkpoint`, 'integrity', 'CHECKPOINT_INVALID', 'the inclusion proof has no checkpoint');
    return false;
  }
  let cp: ReturnType<typeof verifyRekorCheckpoint> | undefined;
  let lastErr: CheckpointError | undefined;
  for (const log of logs) {
    try {
      cp = verifyRekorCheckpoint(proof.checkpoint.envelope, log);
      break;
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw e;
      lastErr = e;
    }
  }
  if (!cp) {
    const err = lastErr ?? new CheckpointError('CHECKPOINT_UNTRUSTED', 'no trusted log');
    const cat = err.code === 'CHECKPOINT_INVALID' ? 'integrity' : err.code === 'CHECKPOINT_UNTRUSTED' ? 'key' : 'signature';
    report.fail(`${id}.checkpoint`, cat, err.code, err.message);
    return false;
  }
  report.pass(`${id}.checkpoint`, `checkpoint ${cp.origin} @ ${cp.size} signed by the log`);
  const index = Number(proof.logIndex);
  const size = Number(proof.treeSize);
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || size !== cp.size || !eq(proof.rootHash, Buffer.from(cp.rootHash))) {
    report.fail(`${id}.inclusion`, 'integrity', 'INCLUSION_PROOF_INVALID', 'the inclusion proof tree size / root hash is not the checkpoint\'s', {
      expected: `${cp.size} ${Buffer.from(cp.rootHash).toString('base64')}`,
      actual: `${proof.treeSize} ${proof.rootHash?.toString('base64')}`,
    });
    return false;
  }
  const leaf = hashLeaf(bytesView(entry.canonicalizedBody));
  if (index >= size || !verifyInclusion(index, size, leaf, proof.hashes.map((h) => bytesView(h)), cp.rootHash)) {
    report.fail(`${id}.inclusion`, 'integrity', 'INCLUSION_PROOF_INVALID', `the inclusion proof of leaf ${index} does not lead to the checkpoint root`);
    return false;
  }
  report.pass(`${id}.inclusion`, `entry included at index ${index} of ${size}`);
  return true;
}
