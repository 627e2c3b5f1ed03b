/**
 * The Sigstore TrustedRoot (application/vnd.dev.sigstore.trustedroot+json;version=0.1) of an Evident deployment:
 *
 *   tlogs[]                 the transparency log: Ed25519 key (SPKI, PKIX_ED25519), logId = checkpointKeyId = the
 *                           C2SP key id SHA-256(origin ‖ 0x0A ‖ 0x01 ‖ key) as Rekor v2 computes it, baseUrl
 *                           "https://<origin>" (Sigstore verifiers match the checkpoint signer name against it)
 *   timestampAuthorities[]  the TSA chain (leaf first, root last), one per TSA key, validFor start … end: a rotated
 *                           TSA key keeps its window (end = its replacement's start) so old timestamps still verify
 *   certificateAuthorities  the issuing CA (src/ca/): its certificate and validFor window (empty without a CA)
 *   ctlogs                  the CT log that signs the SCTs of issued certificates: ECDSA P-256 key, logId =
 *                           SHA-256(SPKI) (RFC 6962), validFor (empty without a CA)
 */
import { createHash, type KeyObject } from '../kernel/crypto/index.ts';
import { toBase64 } from '../kernel/encoding.ts';
import { spkiDer } from '../kernel/keys.ts';
import { logKeyId } from './receipt-v2.ts';

export const TRUSTED_ROOT_MEDIA_TYPE = 'application/vnd.dev.sigstore.trustedroot+json;version=0.1';

export interface TrustedRootLog {
  origin: string;
  publicKey: KeyObject;
  /** When the log key started signing (RFC 3339). */
  validFrom: string;
  validTo?: string;
  /** Default https://<origin>. */
  baseUrl?: string;
}

export interface TrustedRootTsa {
  /** DER certificates, leaf first, root last. */
  chain: Uint8Array[];
  validFrom: string;
  validTo?: string;
  uri?: string;
  commonName?: string;
}

export interface TrustedRootCa {
  /** DER certificates, leaf (issuing) first, root last. */
  chain: Uint8Array[];
  validFrom: string;
  validTo?: string;
  uri?: string;
  commonName?: string;
}

export interface TrustedRootCtlog {
  /** ECDSA P-256 public key. */
  publicKey: KeyObject;
  validFrom: string;
  validTo?: string;
  baseUrl?: string;
}

/** The base URL Sigstore verifiers match a checkpoint signer name against: it must contain the origin. */
export function logBaseUrl(origin: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(origin) ? origin : `https://${origin}`;
}

const window = (start: string, end?: string) => (end ? { start, end } : { start });

export function buildTrustedRoot(o: { logs: TrustedRootLog[]; tsas: TrustedRootTsa[]; cas?: TrustedRootCa[]; ctlogs?: TrustedRootCtlog[] }): Record<string, unknown> {
  return {
    mediaType: TRUSTED_ROOT_MEDIA_TYPE,
    tlogs: o.logs.map((l) => {
      const keyId = { keyId: toBase64(logKeyId(l.origin, l.publicKey)) };
      return {
        baseUrl: l.baseUrl ?? logBaseUrl(l.origin),
        hashAlgorithm: 'SHA2_256',
        publicKey: { rawBytes: toBase64(spkiDer(l.publicKey)), keyDetails: 'PKIX_ED25519', validFor: window(l.validFrom, l.validTo) },
        logId: keyId,
        checkpointKeyId: keyId,
      };
    }),
    certificateAuthorities: (o.cas ?? []).map((c) => ({
      subject: { organization: 'Evident', commonName: c.commonName ?? 'Evident CA' },
      uri: c.uri ?? logBaseUrl(o.logs[0]?.origin ?? 'evident.invalid'),
      certChain: { certificates: c.chain.map((d) => ({ rawBytes: toBase64(d) })) },
      validFor: window(c.validFrom, c.validTo),
    })),
    ctlogs: (o.ctlogs ?? []).map((c) => {
      const spki = spkiDer(c.publicKey);
      const keyId = { keyId: toBase64(createHash('sha256').update(spki).digest()) };
      return {
        baseUrl: c.baseUrl ?? `${logBaseUrl(o.logs[0]?.origin ?? 'evident.invalid')}/ct`,
        hashAlgorithm: 'SHA2_256',
        publicKey: { rawBytes: toBase64(spki), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: window(c.validFrom, c.validTo) },
        logId: keyId,
      };
    }),
    timestampAuthorities: o.tsas.map((t) => ({
      subject: { organization: 'Evident', commonName: t.commonName ?? 'Evident TSA' },
      ...(t.uri ? { uri: t.uri } : {}),
      certChain: { certificates: t.chain.map((c) => ({ rawBytes: toBase64(c) })) },
      validFor: window(t.validFrom, t.validTo),
    })),
  };
}
