/**
 * Evident receipts: a DSSE envelope signed by the issuer, logged in the transparency log, bundled with its
 * C2SP tlog-proof so that anyone can verify it offline with two pinned keys (issuer key, log key).
 *
 *   {"format":"evident.receipt/v1","id":"sha256:…","envelope":{DSSE},"log":{"origin","index"},"tlog_proof":"c2sp.org/tlog-proof@v1…"}
 *
 * The log entry is the RFC 8785 canonical form of the envelope; `id` is its `sha256:` digest; the tlog-proof
 * carries the entry in its `extra` line so the proof alone re-derives the leaf.
 */
import type { KeyObject } from 'node:crypto';
import type { AppendResult, TransparencyLog } from '../log/index.ts';
import { assembleProof, inclusionProofPlan, planNodeIds } from '../log/merkle.ts';
import { formatTlogProof } from '../log/tlogproof.ts';
import { EvidentError } from '../kernel/errors.ts';
import { checkStatement } from '../kernel/intoto.ts';
import { canonicalBytes } from '../kernel/json/index.ts';
import { sha256Digest } from '../kernel/digest.ts';
import { signDsse, signDsseAsync, IN_TOTO_PAYLOAD_TYPE, type DsseEnvelope } from '../kernel/dsse.ts';

export const RECEIPT_FORMAT = 'evident.receipt/v1';
/** Keeps every log entry below 64 KiB, the C2SP entry-bundle limit (uint16 length prefix). */
export const MAX_PAYLOAD_BYTES = 40 * 1024;
/**
 * The largest payload limit a service may configure (serve --max-receipt-payload): a v1 receipt's log entry is the
 * canonical envelope, whose base64 payload (4/3 of it) plus payload type, key id and signature must stay below the
 * 65,535-byte entry-bundle limit.
 */
export const MAX_PAYLOAD_LIMIT_BYTES = 47 * 1024;

/** The payload-limit refusal (PAYLOAD_TOO_LARGE; HTTP 413 in the service). */
export function payloadTooLarge(size: number, limit: number): EvidentError {
  return new EvidentError('PAYLOAD_TOO_LARGE', `receipt payload is ${size} bytes, over the limit of ${limit} bytes (the DSSE payload: the canonical statement for in-toto and profile formats)`);
}

/**
 * What is signed: an in-toto Statement (DSSE payload type application/vnd.in-toto+json) or any DSSE payload.
 * Profile formats (`hashmatch`, `eli`, `wcp`) are statements built by their profile (src/profiles/<x>/statement.ts,
 * composed in src/profiles/statements.ts: formatStatement) and then signed exactly like `in-toto`; this module
 * knows no profile.
 */
export type ReceiptRequest =
  | { format: 'in-toto'; statement: Record<string, unknown>; maxPayloadBytes?: number }
  | { format: 'dsse'; payloadType: string; payload: Uint8Array; maxPayloadBytes?: number };

/** The receipt formats this module signs (`format` of a request). */
export const RECEIPT_REQUEST_FORMATS = ['in-toto', 'dsse'] as const;

export interface Receipt {
  format: typeof RECEIPT_FORMAT;
  id: string;
  envelope: DsseEnvelope;
  log: { origin: string; index: number };
  tlog_proof: string;
}

/** The log surface a receipt issuer needs (src/log TransparencyLog). */
export type ReceiptLog = Pick<TransparencyLog, 'origin' | 'append' | 'tlogProof' | 'storage'>;

export interface IssuerKey {
  privateKey: KeyObject;
  kid: string;
}

/** The payload type and bytes a statement is signed as (validated by the Statement v1 rules every verifier applies
 * (kernel/intoto.ts), RFC 8785 canonical, size-bounded). */
function statementPayload(statement: Record<string, unknown>, limit: number): { payloadType: string; body: Uint8Array } {
  checkStatement(statement);
  const body = canonicalBytes(statement);
  if (body.length > limit) throw payloadTooLarge(body.length, limit);
  return { payloadType: IN_TOTO_PAYLOAD_TYPE, body };
}

/** What a request is signed as: DSSE payload type and payload bytes. Throws coded refusals. */
export function envelopePayload(req: ReceiptRequest, _key?: Pick<IssuerKey, 'kid'>): { payloadType: string; body: Uint8Array | string } {
  // the payload limit travels with the request (maxPayloadBytes, default MAX_PAYLOAD_BYTES)
  const limit = req.maxPayloadBytes ?? MAX_PAYLOAD_BYTES;
  if (req.format === 'in-toto') return statementPayload(req.statement, limit);
  if (req.format === 'dsse') {
    if (typeof req.payloadType !== 'string' || req.payloadType.length === 0 || req.payloadType.length > 256) throw new EvidentError('INPUT_INVALID', 'payloadType must be a non-empty string (≤ 256 characters)');
    if (req.payload.length > limit) throw payloadTooLarge(req.payload.length, limit);
    return { payloadType: req.payloadType, body: req.payload };
  }
  throw new EvidentError('INPUT_INVALID', `unknown receipt format ${JSON.stringify((req as { format?: unknown }).format)}`);
}

/** Sign the request into a DSSE envelope (deterministic for Ed25519). */
export function buildEnvelope(req: ReceiptRequest, key: IssuerKey): DsseEnvelope {
  const p = envelopePayload(req, key);
  return signDsse(p.payloadType, p.body, key.privateKey, key.kid);
}

/** {@link buildEnvelope} with the signature computed on the thread pool (same envelope). */
export async function buildEnvelopeAsync(req: ReceiptRequest, key: IssuerKey): Promise<DsseEnvelope> {
  const p = envelopePayload(req, key);
  return signDsseAsync(p.payloadType, p.body, key.privateKey, key.kid);
}

/** The log entry of an envelope: its RFC 8785 canonical bytes. */
export function receiptEntry(envelope: DsseEnvelope): Uint8Array {
  return canonicalBytes(envelope);
}

export function receiptId(envelope: DsseEnvelope): string {
  return sha256Digest(receiptEntry(envelope));
}

/**
 * The inclusion proof of an appended entry in the checkpoint its acknowledgement carries (the checkpoint that first
 * covered it): from the batch when the sequencer kept it, else one node read.
 */
export async function ackInclusionProof(log: Pick<ReceiptLog, 'storage'>, ack: AppendResult): Promise<Uint8Array[]> {
  const proof = ack.batchProof?.();
  if (proof) return proof;
  const plan = inclusionProofPlan(ack.index, ack.size);
  const nodes = await log.storage.getNodes(planNodeIds(plan));
  return assembleProof(plan, (id) => nodes.get(`${id.level}/${id.index}`));
}

/** Sign, log, and return the receipt with a tlog-proof against the checkpoint that first covered it. */
export async function issueReceipt(log: ReceiptLog, key: IssuerKey, req: ReceiptRequest): Promise<Receipt> {
  const envelope = await buildEnvelopeAsync(req, key);
  const entry = receiptEntry(envelope);
  const ack = await log.append(entry);
  const tlog_proof = formatTlogProof({ index: ack.index, proof: await ackInclusionProof(log, ack), checkpoint: ack.checkpoint, extra: entry });
  return { format: RECEIPT_FORMAT, id: sha256Digest(entry), envelope, log: { origin: log.origin, index: ack.index }, tlog_proof };
}

/** Re-bundle a stored receipt with a fresh proof (e.g. against the latest checkpoint). */
export async function receiptAt(log: ReceiptLog, envelope: DsseEnvelope, index: number, size?: number): Promise<Receipt> {
  const entry = receiptEntry(envelope);
  return { format: RECEIPT_FORMAT, id: sha256Digest(entry), envelope, log: { origin: log.origin, index }, tlog_proof: await log.tlogProof(index, size, { extra: entry }) };
}

