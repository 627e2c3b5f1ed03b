/**
 * Evident's issuing CA and CT log (a small private Fulcio + RFC 6962 log), so that Sigstore verifiers can check a
 * receipt's signer with nothing but the deployment's trusted root (docs/sigstore.md):
 *
 *   CA root        self-signed ECDSA P-256 (CA, keyCertSign, pathLen 0): the trusted root's certificateAuthorities
 *   CT log key     ECDSA P-256; logId = SHA-256(SPKI DER) (RFC 6962 §3.2): the trusted root's ctlogs
 *   signer cert    one per service signing key: SAN URI https://<origin>/keys/<kid>, Fulcio OIDC issuer extensions
 *                  (1.3.6.1.4.1.57264.1.1 raw, 1.3.6.1.4.1.57264.1.8 DER UTF8String) = https://<origin>,
 *                  KeyUsage digitalSignature, EKU codeSigning, and an embedded precertificate SCT
 *
 * Issuing a certificate follows RFC 6962 §3.1: the precertificate (the same TBSCertificate plus the critical poison
 * extension 1.3.6.1.4.1.11129.2.4.3) is signed by the CA; the CT key signs the SCT over PreCert {SHA-256 of the CA's
 * SPKI, the TBSCertificate without the poison}; the final certificate carries the SCT list (1.3.6.1.4.1.11129.2.4.2)
 * in place of the poison. The caller appends the MerkleTreeLeaf (ctLogEntry) to the transparency log, so the SCT's
 * promise of inclusion holds. X.509/ASN.1 through pkijs/asn1js; signatures are node:crypto's.
 */
import { createPublicKey, sign as nodeSign, type KeyObject } from 'node:crypto';
import { generateKeyPair } from '../kernel/keys.ts';
import { canonicalBytes } from '../kernel/json/index.ts';
import { toBase64 } from '../kernel/encoding.ts';
import { ab, asn1js, distinguishedName, keyIdOf, keyUsageExtension, p256SigningKey, pkiEngine, pkijs, positiveSerial, u8, type Pkijs } from '../pki/pkix.ts';
import { sha256 } from '../kernel/digest.ts';


export const CA_OID = {
  fulcioIssuerV1: '1.3.6.1.4.1.57264.1.1',
  fulcioIssuerV2: '1.3.6.1.4.1.57264.1.8',
  ctPoison: '1.3.6.1.4.1.11129.2.4.3',
  ctSctList: '1.3.6.1.4.1.11129.2.4.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectKeyId: '2.5.29.14',
  authorityKeyId: '2.5.29.35',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
} as const;

const spkiOf = (k: KeyObject) => u8(createPublicKey(k).export({ type: 'spki', format: 'der' }));

function ext(extnID: string, critical: boolean, value: Uint8Array | ArrayBuffer): Pkijs.Extension {
  return new pkijs.Extension({ extnID, critical, extnValue: value instanceof ArrayBuffer ? value : ab(value) });
}

const floorSec = (d: Date) => new Date(Math.floor(d.getTime() / 1000) * 1000);

export const der = (c: Pkijs.Certificate): Uint8Array => u8(c.toSchema(true).toBER(false));

/** A new CA root (self-signed, ECDSA P-256, CA with pathLen 0, keyCertSign), valid from now − 1 min for `years`. */
export async function createCaRoot(opts: { now?: Date; years?: number; commonName?: string } = {}): Promise<{ key: KeyObject; cert: Uint8Array }> {
  pkiEngine();
  const notBefore = new Date(floorSec(opts.now ?? new Date()).getTime() - 60_000);
  const notAfter = new Date(notBefore.getTime());
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + (opts.years ?? 10));
  const key = generateKeyPair('es256').privateKey;
  const c = new pkijs.Certificate();
  c.version = 2;
  c.serialNumber = positiveSerial();
  c.issuer = distinguishedName(opts.commonName ?? 'Evident CA');
  c.subject = distinguishedName(opts.commonName ?? 'Evident CA');
  c.notBefore.value = notBefore;
  c.notAfter.value = notAfter;
  c.subjectPublicKeyInfo = pkijs.PublicKeyInfo.fromBER(ab(spkiOf(key)));
  c.extensions = [
    ext(CA_OID.basicConstraints, true, new pkijs.BasicConstraints({ cA: true, pathLenConstraint: 0 }).toSchema().toBER(false)),
    keyUsageExtension(0x06, 1), // keyCertSign, cRLSign
    ext(CA_OID.subjectKeyId, false, new asn1js.OctetString({ valueHex: ab(keyIdOf(c.subjectPublicKeyInfo)) }).toBER(false)),
  ];
  await c.sign(await p256SigningKey(key), 'SHA-256');
  return { key, cert: der(c) };
}

/** A new CT log key (ECDSA P-256). */
export function createCtKey(): KeyObject {
  return generateKeyPair('es256').privateKey;
}

/** RFC 6962 §3.2 LogID: SHA-256 of the log key's SPKI DER. */
export function ctLogId(ctKey: KeyObject): Uint8Array {
  return sha256(spkiOf(ctKey));
}

export interface SignerIdentity {
  /** SAN URI, e.g. https://<origin>/keys/<kid>. */
  san: string;
  /** The OIDC issuer extensions' value, e.g. https://<origin>. */
  issuer: string;
}

export interface IssuedCertificate {
  /** The final certificate (DER) with the embedded SCT. */
  cert: Uint8Array;
  /** The precertificate (DER, with the poison extension) the SCT was issued for. */
  precert: Uint8Array;
  /** The RFC 6962 MerkleTreeLeaf (timestamped precert_entry) of the precertificate. */
  merkleTreeLeaf: Uint8Array;
  sctTimestamp: Date;
}

const u16 = (n: number) => Uint8Array.from([(n >> 8) & 0xff, n & 0xff]);
const u24 = (n: number) => Uint8Array.from([(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
const u64 = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return u8(b);
};
const cat = (...parts: Uint8Array[]) => u8(Buffer.concat(parts));

/**
 * Issue the code-signing certificate of `subjectSpki` (any key type: the CA signs with ECDSA P-256), valid
 * `notBefore` … `notAfter`, with an embedded SCT from the CT key.
 */
export async function issueSignerCertificate(o: {
  caKey: KeyObject;
  caCert: Uint8Array;
  ctKey: KeyObject;
  subjectSpki: Uint8Array;
  identity: SignerIdentity;
  notBefore: Date;
  notAfter: Date;
  now?: Date;
}): Promise<IssuedCertificate> {
  pkiEngine();
  const ca = pkijs.Certificate.fromBER(ab(o.caCert));
  const caSpki = u8(ca.subjectPublicKeyInfo.toSchema().toBER(false));
  const caKey = await p256SigningKey(o.caKey);
  const sn = positiveSerial();
  const subjectInfo = () => pkijs.PublicKeyInfo.fromBER(ab(o.subjectSpki));
  const san = new pkijs.GeneralNames({ names: [new pkijs.GeneralName({ type: 6, value: o.identity.san })] });
  const aki = new pkijs.AuthorityKeyIdentifier({ keyIdentifier: new asn1js.OctetString({ valueHex: ab(keyIdOf(ca.subjectPublicKeyInfo)) }) });
  const base = (): Pkijs.Extension[] => [
    keyUsageExtension(0x80, 7), // digitalSignature
    ext(CA_OID.extKeyUsage, false, new pkijs.ExtKeyUsage({ keyPurposes: [CA_OID.codeSigning] }).toSchema().toBER(false)),
    ext(CA_OID.subjectKeyId, false, new asn1js.OctetString({ valueHex: ab(keyIdOf(subjectInfo())) }).toBER(false)),
    ext(CA_OID.authorityKeyId, false, aki.toSchema().toBER(false)),
    ext(CA_OID.subjectAltName, true, san.toSchema().toBER(false)), // empty subject: SAN critical (RFC 5280 §4.2.1.6)
    ext(CA_OID.fulcioIssuerV1, false, u8(Buffer.from(o.identity.issuer, 'utf8'))),
    ext(CA_OID.fulcioIssuerV2, false, new asn1js.Utf8String({ value: o.identity.issuer }).toBER(false)),
  ];
  const make = async (extra: Pkijs.Extension[]): Promise<Pkijs.Certificate> => {
    const c = new pkijs.Certificate();
    c.version = 2;
    c.serialNumber = sn;
    c.issuer = ca.subject;
    c.subject = new pkijs.RelativeDistinguishedNames({ valueBeforeDecode: ab(Uint8Array.of(0x30, 0x00)) }); // empty Name (as Fulcio): an empty SEQUENCE
    c.notBefore.value = floorSec(o.notBefore);
    c.notAfter.value = floorSec(o.notAfter);
    c.subjectPublicKeyInfo = subjectInfo();
    c.extensions = [...base(), ...extra];
    await c.sign(caKey, 'SHA-256');
    return c;
  };
  // RFC 6962 §3.1: the precertificate = the TBSCertificate plus the critical poison (ASN.1 NULL)
  const precert = await make([ext(CA_OID.ctPoison, true, new asn1js.Null().toBER(false))]);
  // the TBSCertificate the SCT covers: the precertificate's without the poison (= the final one without the SCT list)
  const tbs = u8((await make([])).tbsView);
  const issuerKeyHash = sha256(caSpki);
  const ts = Date.now();
  const signed = cat(Uint8Array.of(0, 0), u64(ts), u16(1), issuerKeyHash, u24(tbs.length), tbs, u16(0)); // v1, certificate_timestamp, precert_entry
  const sig = u8(nodeSign('sha256', signed, { key: o.ctKey, dsaEncoding: 'der' }));
  const sct = cat(Uint8Array.of(0), ctLogId(o.ctKey), u64(ts), u16(0), Uint8Array.of(4, 3), u16(sig.length), sig); // sha256, ecdsa
  const list = cat(u16(sct.length + 2), u16(sct.length), sct);
  const cert = await make([ext(CA_OID.ctSctList, false, new asn1js.OctetString({ valueHex: ab(list) }).toBER(false))]);
  const merkleTreeLeaf = cat(Uint8Array.of(0, 0), u64(ts), u16(1), issuerKeyHash, u24(tbs.length), tbs, u16(0)); // v1, timestamped_entry
  return { cert: der(cert), precert: der(precert), merkleTreeLeaf, sctTimestamp: new Date(ts) };
}

/**
 * The transparency-log entry recording an issued certificate (canonical JSON, like every other entry): the RFC 6962
 * MerkleTreeLeaf of the precertificate, the precertificate and the final certificate, and the CT logId.
 */
export function ctLogEntry(issued: IssuedCertificate, logId: Uint8Array): Uint8Array {
  return canonicalBytes({
    apiVersion: '0.0.1',
    kind: 'evident.ct.precert',
    spec: { logId: toBase64(logId), merkleTreeLeaf: toBase64(issued.merkleTreeLeaf), precertificate: toBase64(issued.precert), certificate: toBase64(issued.cert) },
  });
}
