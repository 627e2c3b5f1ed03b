/**
 * An `evident.receipt/v2` receipt as a Sigstore bundle v0.3 (application/vnd.dev.sigstore.bundle.v0.3+json):
 *
 *   verificationMaterial.certificate             the issuer key's signer certificate, when the log entry names one
 *                                                (x509Certificate verifier: receipts issued with the service CA)
 *   verificationMaterial.publicKey.hint          else the issuer key id (the envelope signature's keyid)
 *   verificationMaterial.tlogEntries[0]          logIndex, logId (receipt log.key_id), kindVersion dsse/0.0.2,
 *                                                canonicalizedBody (the log entry), inclusionProof {logIndex, rootHash,
 *                                                treeSize, hashes, checkpoint.envelope (the signed C2SP checkpoint)}
 *   verificationMaterial.timestampVerificationData.rfc3161Timestamps[0].signedTimestamp   the receipt's TSA timestamp
 *   dsseEnvelope                                 the receipt's envelope
 *
 * Nothing is re-signed: every byte comes from the receipt, so a Sigstore verifier checks exactly what Evident
 * issued. v1 receipts cannot be exported (their log entry is not a Rekor body): RECEIPT_NOT_EXPORTABLE.
 */
import { EvidentError } from '../kernel/errors.ts';
import { parseBase64, toBase64 } from '../kernel/encoding.ts';
import { parseDsse, type DsseEnvelope } from '../kernel/dsse.ts';
import { parseTlogProof } from '../log/tlogproof.ts';
import { parseCheckpoint } from '../log/checkpoint.ts';
import { parseNote } from '../kernel/note.ts';
import { RECEIPT_FORMAT_V2, type ReceiptV2 } from './receipt-v2.ts';
import { checkDsseEntryBody, REKOR_V2_VERSION } from './rekor-v2.ts';

export const SIGSTORE_BUNDLE_V03 = 'application/vnd.dev.sigstore.bundle.v0.3+json';

export interface SigstoreBundleJson {
  mediaType: typeof SIGSTORE_BUNDLE_V03;
  verificationMaterial: {
    /** Receipts whose log entry names the issuer key (no CA). */
    publicKey?: { hint: string };
    /** Receipts whose log entry names the issuer key's signer certificate (src/ca/): bundle v0.3 `certificate`. */
    certificate?: { rawBytes: string };
    tlogEntries: Array<{
      logIndex: string;
      logId: { keyId: string };
      kindVersion: { kind: string; version: string };
      integratedTime: string;
      canonicalizedBody: string;
      inclusionProof: { logIndex: string; rootHash: string; treeSize: string; hashes: string[]; checkpoint: { envelope: string } };
    }>;
    timestampVerificationData: { rfc3161Timestamps: Array<{ signedTimestamp: string }> };
  };
  dsseEnvelope: { payload: string; payloadType: string; signatures: Array<{ sig: string; keyid: string }> };
}

/** Export a v2 receipt as a Sigstore bundle. `logKeyId` (base64) overrides the receipt's log.key_id. */
export function toSigstoreBundle(receipt: unknown, opts: { logKeyId?: string; hint?: string } = {}): SigstoreBundleJson {
  const r = receipt as Partial<ReceiptV2> & { format?: unknown };
  if (!r || typeof r !== 'object') throw new EvidentError('INPUT_INVALID', 'receipt must be a JSON object');
  if (r.format !== RECEIPT_FORMAT_V2) {
    throw new EvidentError('RECEIPT_NOT_EXPORTABLE', `only ${RECEIPT_FORMAT_V2} receipts can be exported as Sigstore bundles (got ${JSON.stringify(r.format)}): a v1 receipt's log entry is not a Rekor entry body`);
  }
  if (typeof r.tlog_proof !== 'string' || !r.envelope || !r.log) throw new EvidentError('RECEIPT_INVALID', 'receipt needs "envelope", "log" and "tlog_proof"');
  const env = r.envelope as DsseEnvelope;
  const p = parseDsse(env);
  if (p.signatures.length !== 1) throw new EvidentError('RECEIPT_INVALID', 'the envelope must carry exactly one signature');
  const proof = parseTlogProof(r.tlog_proof);
  if (!proof.extra) throw new EvidentError('RECEIPT_INVALID', 'the tlog-proof carries no entry (extra line)');
  const check = checkDsseEntryBody(proof.extra, env);
  if (check.problems.length) throw new EvidentError('RECEIPT_INVALID', `the log entry does not match the envelope: ${check.problems.join('; ')}`);
  const cp = parseCheckpoint(parseNote(proof.checkpoint).text);
  const keyIdB64 = opts.logKeyId ?? r.log.key_id;
  if (typeof keyIdB64 !== 'string' || parseBase64(keyIdB64).length !== 32) throw new EvidentError('RECEIPT_INVALID', 'log.key_id must be the base64 32-byte log key id (or pass the log key)');
  const keyid = env.signatures[0]!.keyid ?? '';
  const hint = opts.hint ?? keyid;
  if (!hint && !check.certificate) throw new EvidentError('RECEIPT_INVALID', 'the envelope signature has no keyid to use as the public key hint');
  if (!r.rfc3161_timestamp) throw new EvidentError('RECEIPT_INVALID', 'the receipt has no RFC 3161 timestamp (issued without a TSA)');
  return {
    mediaType: SIGSTORE_BUNDLE_V03,
    verificationMaterial: {
      ...(check.certificate ? { certificate: { rawBytes: toBase64(check.certificate) } } : { publicKey: { hint } }),
      tlogEntries: [
        {
          logIndex: String(proof.index),
          logId: { keyId: keyIdB64 },
          kindVersion: { kind: 'dsse', version: REKOR_V2_VERSION },
          integratedTime: '0',
          canonicalizedBody: toBase64(proof.extra),
          inclusionProof: {
            logIndex: String(proof.index),
            rootHash: toBase64(cp.rootHash),
            treeSize: String(cp.size),
            hashes: proof.proof.map((h) => toBase64(h)),
            checkpoint: { envelope: proof.checkpoint },
          },
        },
      ],
      timestampVerificationData: { rfc3161Timestamps: [{ signedTimestamp: r.rfc3161_timestamp }] },
    },
    dsseEnvelope: { payload: toBase64(p.payload), payloadType: p.payloadType, signatures: [{ sig: toBase64(p.signatures[0]!.sig), keyid }] },
  };
}
