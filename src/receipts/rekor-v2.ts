/**
 * Rekor v2 log entry bodies (sigstore/rekor-tiles, protobuf-specs rekor/v2 `Entry`), in RFC 8785 canonical JSON:
 * what `evident.receipt/v2` receipts put in the log, so that leaf = SHA-256(0x00 ‖ canonicalizedBody) exactly as
 * in Rekor v2 and a Sigstore verifier can compare the entry with the bundle.
 *
 *   dsse 0.0.2          {"apiVersion":"0.0.2","kind":"dsse","spec":{"dsseV002":{"payloadHash":{"algorithm":"SHA2_256",
 *                        "digest":b64},"signatures":[{"content":b64,"verifier":{"keyDetails":…,"publicKey":{"rawBytes":b64 SPKI}}}]}}}
 *   hashedrekord 0.0.2  {"apiVersion":"0.0.2","kind":"hashedrekord","spec":{"hashedRekordV002":{"data":{"algorithm":"SHA2_256",
 *                        "digest":b64},"signature":{"content":b64,"verifier":{…}}}}}
 */
import { X509Certificate, type KeyObject } from '../kernel/crypto/index.ts';
import { EvidentError } from '../kernel/errors.ts';
import { canonicalBytes } from '../kernel/json/index.ts';
import { parseBase64, toBase64 } from '../kernel/encoding.ts';
import { algOfKey, importPublicKey, rsaModulusBytes, samePublicKey, spkiDer, toPublicKey } from '../kernel/keys.ts';
import { parseDsse, type DsseEnvelope } from '../kernel/dsse.ts';
import { timingSafeEqualBytes, sha256 } from '../kernel/digest.ts';

export const REKOR_V2_VERSION = '0.0.2';

/** protobuf-specs PublicKeyDetails of a service key. */
export function keyDetails(key: KeyObject): string {
  const alg = algOfKey(key);
  if (alg === 'ed25519') return 'PKIX_ED25519';
  if (alg === 'es256') return 'PKIX_ECDSA_P256_SHA_256';
  const bits = rsaModulusBytes(key) * 8;
  if (bits === 2048 || bits === 3072 || bits === 4096) return `PKIX_RSA_PKCS1V15_${bits}_SHA256`;
  throw new EvidentError('KEY_UNSUPPORTED', `RSA-${bits} has no Sigstore key details (2048, 3072, 4096)`);
}

const verifiers = new WeakMap<KeyObject, Record<string, unknown>>();

/** The entry's `verifier` of a key (memoised per KeyObject: the service signs with the same key object). */
function verifier(key: KeyObject): Record<string, unknown> {
  let v = verifiers.get(key);
  if (!v) {
    v = { keyDetails: keyDetails(key), publicKey: { rawBytes: toBase64(spkiDer(toPublicKey(key))) } };
    verifiers.set(key, v);
  }
  return v;
}


/**
 * The dsse 0.0.2 entry of a one-signature envelope signed by `key` (canonical JSON bytes). With `certificate` (the
 * key's DER signer certificate, src/ca/) the verifier is `x509Certificate` {rawBytes}, as Rekor v2 logs
 * Fulcio-signed entries; else `publicKey` {rawBytes: SPKI}.
 */
export function dsseEntryBody(envelope: DsseEnvelope, key: KeyObject, opts: { certificate?: Uint8Array } = {}): Uint8Array {
  const p = parseDsse(envelope);
  if (p.signatures.length !== 1) throw new EvidentError('DSSE_INVALID', 'a Rekor v2 dsse entry needs exactly one signature');
  const v = opts.certificate ? { keyDetails: keyDetails(key), x509Certificate: { rawBytes: toBase64(opts.certificate) } } : verifier(key);
  return canonicalBytes({
    apiVersion: REKOR_V2_VERSION,
    kind: 'dsse',
    spec: { dsseV002: { payloadHash: { algorithm: 'SHA2_256', digest: toBase64(sha256(p.payload)) }, signatures: [{ content: toBase64(p.signatures[0]!.sig), verifier: v }] } },
  });
}

/** The hashedrekord 0.0.2 entry of a signature over an artifact whose SHA-256 is `digest` (canonical JSON bytes). */
export function hashedRekordEntryBody(digest: Uint8Array, signature: Uint8Array, key: KeyObject): Uint8Array {
  if (digest.length !== 32) throw new EvidentError('INPUT_INVALID', 'hashedrekord digest must be a 32-byte SHA-256');
  return canonicalBytes({
    apiVersion: REKOR_V2_VERSION,
    kind: 'hashedrekord',
    spec: { hashedRekordV002: { data: { algorithm: 'SHA2_256', digest: toBase64(digest) }, signature: { content: toBase64(signature), verifier: verifier(key) } } },
  });
}

export interface RekorEntryCheck {
  kind: 'dsse' | 'hashedrekord';
  /** The verifier key named by the entry. */
  key: KeyObject;
  /** The verifier's DER certificate, when the entry names one (x509Certificate). */
  certificate?: Uint8Array;
  problems: string[];
}

function b64(v: unknown, what: string): Uint8Array {
  if (typeof v !== 'string') throw new EvidentError('ENTRY_INVALID', `${what} must be a base64 string`);
  try {
    return parseBase64(v);
  } catch {
    throw new EvidentError('ENTRY_INVALID', `${what} is not standard base64`);
  }
}

function entryKey(v: unknown): KeyObject {
  const cert = (v as { x509Certificate?: { rawBytes?: unknown } } | undefined)?.x509Certificate;
  if (cert) {
    try {
      return new X509Certificate(b64(cert.rawBytes, 'verifier.x509Certificate.rawBytes')).publicKey;
    } catch (e) {
      throw new EvidentError('ENTRY_INVALID', `verifier certificate: ${(e as Error).message}`);
    }
  }
  const pk = (v as { publicKey?: { rawBytes?: unknown } } | undefined)?.publicKey;
  if (!pk) throw new EvidentError('ENTRY_INVALID', 'verifier.publicKey or verifier.x509Certificate is required');
  try {
    return importPublicKey(b64(pk.rawBytes, 'verifier.publicKey.rawBytes'));
  } catch (e) {
    throw new EvidentError('ENTRY_INVALID', `verifier public key: ${(e as Error).message}`);
  }
}

/**
 * Check a dsse 0.0.2 entry body against an envelope: canonical form, one signature equal to the envelope's, payload
 * hash = SHA-256 of the payload, and (with `keys`) a verifier key among them. Throws ENTRY_INVALID when the body
 * is not a dsse 0.0.2 entry; mismatches are returned as problems.
 */
export function checkDsseEntryBody(body: Uint8Array, envelope: unknown, keys: KeyObject[] = []): RekorEntryCheck {
  let j: { apiVersion?: unknown; kind?: unknown; spec?: { dsseV002?: { payloadHash?: { algorithm?: unknown; digest?: unknown }; signatures?: unknown } } };
  try {
    j = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    throw new EvidentError('ENTRY_INVALID', 'the log entry is not JSON');
  }
  if (j?.kind !== 'dsse' || j.apiVersion !== REKOR_V2_VERSION || !j.spec?.dsseV002) throw new EvidentError('ENTRY_INVALID', 'the log entry is not a Rekor v2 dsse 0.0.2 body');
  const problems: string[] = [];
  if (!timingSafeEqualBytes(canonicalBytes(j), body)) problems.push('the log entry is not in canonical JSON (RFC 8785)');
  const spec = j.spec.dsseV002;
  const sigs = Array.isArray(spec.signatures) ? (spec.signatures as Array<{ content?: unknown; verifier?: unknown }>) : [];
  if (sigs.length !== 1) throw new EvidentError('ENTRY_INVALID', 'the dsse entry must carry exactly one signature');
  const key = entryKey(sigs[0]!.verifier);
  const p = parseDsse(envelope);
  if (spec.payloadHash?.algorithm !== 'SHA2_256') problems.push('payloadHash.algorithm must be SHA2_256');
  if (!timingSafeEqualBytes(b64(spec.payloadHash?.digest, 'payloadHash.digest'), sha256(p.payload))) problems.push('payloadHash differs from the SHA-256 of the envelope payload');
  if (p.signatures.length !== 1 || !timingSafeEqualBytes(b64(sigs[0]!.content, 'signatures[0].content'), p.signatures[0]!.sig)) problems.push('the entry signature differs from the envelope signature');
  const vk = (sigs[0]!.verifier as { keyDetails?: unknown }).keyDetails;
  if (vk !== keyDetails(key)) problems.push(`verifier.keyDetails ${JSON.stringify(vk)} does not describe the verifier key (${keyDetails(key)})`);
  if (keys.length && !keys.some((k) => samePublicKey(k, key))) problems.push('the entry names a verifier key that is not pinned');
  const certB64 = (sigs[0]!.verifier as { x509Certificate?: { rawBytes?: unknown } }).x509Certificate?.rawBytes;
  return { kind: 'dsse', key, ...(certB64 !== undefined ? { certificate: b64(certB64, 'verifier.x509Certificate.rawBytes') } : {}), problems };
}
