/**
 * `evident.receipt/v2`: an Evident receipt whose log entry is a Rekor v2 entry body (./rekor-v2.ts), so that it is
 * also a Sigstore bundle (./sigstore-export.ts) verifiable with nothing but the deployment's trusted root and the
 * issuer's public key.
 *
 *   {"format":"evident.receipt/v2","id":"sha256:…","envelope":{DSSE},
 *    "log":{"origin","index","key_id"},"tlog_proof":"c2sp.org/tlog-proof@v1…","rfc3161_timestamp":"<base64 TimeStampResp>"}
 *
 * - log entry = the dsse 0.0.2 body (canonical JSON) naming the issuer key; leaf = SHA-256(0x00 ‖ body) as in
 *   Rekor v2; `id` = sha256 of the entry; the tlog-proof carries the entry in its `extra` line.
 * - `log.key_id` = base64 of the log's C2SP key id, SHA-256(origin ‖ 0x0A ‖ 0x01 ‖ Ed25519 key) — the Sigstore
 *   logId of Rekor v2 logs (its first 4 bytes are the checkpoint signature's key hint).
 * - `rfc3161_timestamp`: the service TSA's timestamp over the DSSE signature bytes (Sigstore's signed timestamp).
 *
 * `evident.receipt/v1` receipts (entry = the canonical envelope) are still verified as before (./detector.ts).
 */
import { createHash, createPublicKey, type KeyObject } from '../kernel/crypto/index.ts';
import { RFC3161Timestamp } from '@sigstore/core';
import { formatTlogProof, parseTlogProof } from '../log/tlogproof.ts';
import { EvidentError } from '../kernel/errors.ts';
import { sha256Digest } from '../kernel/digest.ts';
import { checkDsse, parseDsse, type DsseEnvelope } from '../kernel/dsse.ts';
import { parseBase64, toBase64 } from '../kernel/encoding.ts';
import { NOTE_SIG_ED25519 } from '../kernel/note.ts';
import { rawPublicKey } from '../kernel/keys.ts';
import { ackInclusionProof, buildEnvelopeAsync, type IssuerKey, type ReceiptLog, type ReceiptRequest } from './receipt.ts';
import { checkDsseEntryBody, dsseEntryBody } from './rekor-v2.ts';

export const RECEIPT_FORMAT_V2 = 'evident.receipt/v2';

export interface ReceiptV2 {
  format: typeof RECEIPT_FORMAT_V2;
  id: string;
  envelope: DsseEnvelope;
  log: { origin: string; index: number; key_id: string };
  tlog_proof: string;
  /** base64 DER RFC 3161 TimeStampResp over the envelope's signature bytes. */
  rfc3161_timestamp?: string;
}

/** Timestamps the DSSE signature bytes (RFC 3161 TimeStampResp DER), e.g. TimestampAuthority.stamp. */
export type Timestamper = (signature: Uint8Array) => Promise<Uint8Array>;

/** The C2SP key id of an Ed25519 note key: SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key), all 32 bytes (Rekor v2 logId). */
export function logKeyId(origin: string, logPublicKey: KeyObject): Uint8Array {
  // computed once per log key and origin: exporting the raw key cost ~80 µs of every v2 receipt (bench/service)
  let byOrigin = logKeyIds.get(logPublicKey);
  if (!byOrigin) logKeyIds.set(logPublicKey, (byOrigin = new Map()));
  let id = byOrigin.get(origin);
  if (!id) byOrigin.set(origin, (id = new Uint8Array(createHash('sha256').update(origin, 'utf8').update(Uint8Array.from([0x0a, NOTE_SIG_ED25519])).update(rawPublicKey(logPublicKey)).digest())));
  return id.slice();
}
const logKeyIds = new WeakMap<KeyObject, Map<string, Uint8Array>>();

export interface ReceiptV2Log extends ReceiptLog {
  /** The log's Ed25519 public key (for log.key_id). */
  publicKey: KeyObject;
}

const publicKeys = new WeakMap<KeyObject, KeyObject>();

/** Sign, log the dsse 0.0.2 entry, timestamp the signature; the receipt carries the proof of the covering checkpoint. */
export async function issueReceiptV2(
  log: ReceiptV2Log,
  key: IssuerKey,
  req: ReceiptRequest,
  opts: { timestamp?: Timestamper; certificate?: (publicKey: KeyObject) => Promise<Uint8Array | undefined> } = {},
): Promise<{ receipt: ReceiptV2; entry: Uint8Array }> {
  let pub = publicKeys.get(key.privateKey);
  if (!pub) publicKeys.set(key.privateKey, (pub = createPublicKey(key.privateKey)));
  // the issuer key's signer certificate (src/ca/), when the service has a CA: the entry's verifier is the certificate
  const [envelope, certificate] = await Promise.all([buildEnvelopeAsync(req, key), opts.certificate?.(pub)]);
  const entry = dsseEntryBody(envelope, pub, certificate ? { certificate } : {});
  const sig = parseDsse(envelope).signatures[0]!.sig;
  const [ack, ts] = await Promise.all([log.append(entry), opts.timestamp?.(sig)]);
  const tlog_proof = formatTlogProof({ index: ack.index, proof: await ackInclusionProof(log, ack), checkpoint: ack.checkpoint, extra: entry });
  const receipt: ReceiptV2 = {
    format: RECEIPT_FORMAT_V2,
    id: sha256Digest(entry),
    envelope,
    log: { origin: log.origin, index: ack.index, key_id: toBase64(logKeyId(log.origin, log.publicKey)) },
    tlog_proof,
  };
  if (ts) receipt.rfc3161_timestamp = toBase64(ts);
  return { receipt, entry };
}

/** Re-bundle a stored v2 receipt (its envelope, entry and timestamp) with a fresh proof. */
export async function receiptV2At(log: ReceiptV2Log, stored: { envelope: DsseEnvelope; timestamp?: Uint8Array }, entry: Uint8Array, index: number, size?: number): Promise<ReceiptV2> {
  const receipt: ReceiptV2 = {
    format: RECEIPT_FORMAT_V2,
    id: sha256Digest(entry),
    envelope: stored.envelope,
    log: { origin: log.origin, index, key_id: toBase64(logKeyId(log.origin, log.publicKey)) },
    tlog_proof: await log.tlogProof(index, size, { extra: entry }),
  };
  if (stored.timestamp) receipt.rfc3161_timestamp = toBase64(stored.timestamp);
  return receipt;
}

/**
 * The log entry of a v2 receipt (the tlog-proof's `extra`), checked against the envelope: a canonical dsse 0.0.2
 * body with the envelope's payload hash and signature, naming a key that verifies that signature. Throws coded
 * errors when there is no usable entry; inconsistencies are returned as problems (integrity).
 */
export function receiptV2Entry(tlogProof: string, envelope: unknown): { entry: Uint8Array; problems: string[] } {
  const p = parseTlogProof(tlogProof);
  if (!p.extra) throw new EvidentError('RECEIPT_INVALID', 'the tlog-proof carries no entry (extra line)');
  const check = checkDsseEntryBody(p.extra, envelope);
  const problems = [...check.problems];
  if (!checkDsse(envelope, () => check.key).results.some((x) => x.status === 'verified')) problems.push('the key named by the log entry does not verify the envelope signature');
  return { entry: p.extra, problems };
}

/**
 * The receipt's RFC 3161 timestamp, checked without TSA trust material (that is the trusted root's job, in the
 * Sigstore bundle): a granted TimeStampResp whose message imprint is SHA-256 of the envelope's signature. Returns
 * undefined when the receipt has no timestamp, else the problems (empty = consistent) and the time it states.
 */
export function receiptV2TimestampCheck(receipt: { rfc3161_timestamp?: unknown; envelope?: unknown }): { problems: string[]; time?: Date } | undefined {
  if (receipt.rfc3161_timestamp === undefined) return undefined;
  if (typeof receipt.rfc3161_timestamp !== 'string') return { problems: ['rfc3161_timestamp must be a base64 string'] };
  try {
    const ts = RFC3161Timestamp.parse(Buffer.from(parseBase64(receipt.rfc3161_timestamp)));
    if (ts.status !== 0n && ts.status !== 1n) return { problems: [`the timestamp response is not granted (status ${ts.status})`] };
    const sig = parseDsse(receipt.envelope).signatures[0]!.sig;
    try {
      ts.tstInfo.verify(Buffer.from(sig));
    } catch {
      return { problems: ['the timestamp does not cover the envelope signature (message imprint differs)'], time: ts.signingTime };
    }
    return { problems: [], time: ts.signingTime };
  } catch (e) {
    return { problems: [`the timestamp is not a readable RFC 3161 TimeStampResp: ${(e as Error).message}`] };
  }
}
