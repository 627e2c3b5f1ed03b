/**
 * Evident's RFC 3161 time-stamp authority: TimeStampReq → TimeStampResp (CMS SignedData over a TSTInfo, RFC 5652),
 * signed by a TSA leaf certificate (ECDSA P-256, EKU id-kp-timeStamping critical, RFC 3161 §2.3) issued by a
 * self-signed TSA root. All ASN.1 (requests, responses, CMS, X.509) is built and parsed with pkijs / asn1js;
 * keys and signatures are node:crypto's WebCrypto.
 *
 * The response carries ESS signingCertificateV2 (RFC 5816, required by `openssl ts -verify`), the nonce of the
 * request, accuracy 1 s, genTime in whole seconds, and the leaf certificate when the request sets certReq.
 * Sigstore bundles timestamp the DSSE signature bytes with it (messageImprint = SHA-256(signature)).
 */
import { createHash, createPublicKey, sign as nodeSign, webcrypto, type KeyObject } from 'node:crypto';
import { EvidentError } from '../kernel/errors.ts';
import { ab, asn1js, distinguishedName, keyIdOf, keyUsageExtension, newP256Key, pkiEngine, pkijs, positiveSerial, u8, type Asn1js, type CryptoKey, type Pkijs } from '../pki/pkix.ts';

export { pkiEngine };

export const OID = {
  signedData: '1.2.840.113549.1.7.2',
  tstInfo: '1.2.840.113549.1.9.16.1.4',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingCertificateV2: '1.2.840.113549.1.9.16.2.47',
  timeStamping: '1.3.6.1.5.5.7.3.8',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectKeyId: '2.5.29.14',
  authorityKeyId: '2.5.29.35',
} as const;

/** Evident's TSA policy (a 2.25 UUID OID, ITU-T X.667: no registration needed). */
export const EVIDENT_TSA_POLICY = '2.25.216080162337151286612962311829306212870';

const DIGEST_LENGTHS: Record<string, number> = { [OID.sha256]: 32, [OID.sha384]: 48, [OID.sha512]: 64 };

/** PKIFailureInfo bits (RFC 3161 §2.4.2). */
export const FAIL = { badAlg: 0, badRequest: 2, badDataFormat: 5, unacceptedPolicy: 15, systemFailure: 25 } as const;

async function cryptoKeys(priv: KeyObject): Promise<{ privateKey: CryptoKey; publicKey: CryptoKey }> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256' };
  const pkcs8 = priv.export({ type: 'pkcs8', format: 'der' });
  const spki = createPublicKeyDer(priv);
  const privateKey = (await webcrypto.subtle.importKey('pkcs8', pkcs8, alg, false, ['sign'])) as unknown as CryptoKey;
  const publicKey = (await webcrypto.subtle.importKey('spki', spki, alg, true, ['verify'])) as unknown as CryptoKey;
  return { privateKey, publicKey };
}

function createPublicKeyDer(priv: KeyObject): Buffer {
  return createPublicKey(priv).export({ type: 'spki', format: 'der' });
}

export interface TsaChain {
  /** The TSA signing key (ECDSA P-256). */
  leafKey: KeyObject;
  /** The root key: signs the leaf only. */
  rootKey: KeyObject;
  leaf: Uint8Array;
  root: Uint8Array;
}

/**
 * A new TSA chain: a self-signed root (CA, keyCertSign) and a leaf (digitalSignature, EKU timeStamping critical),
 * both valid from `now` − 1 min for `years` (default 10).
 */
export async function createTsaChain(opts: { commonName?: string; now?: Date; years?: number } = {}): Promise<TsaChain> {
  pkiEngine();
  const now = opts.now ?? new Date();
  const notBefore = new Date(Math.floor(now.getTime() / 1000) * 1000 - 60_000);
  const notAfter = new Date(notBefore.getTime());
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + (opts.years ?? 10));
  const cn = opts.commonName ?? 'Evident TSA';
  const rootKey = newP256Key();
  const leafKey = newP256Key();
  const rk = await cryptoKeys(rootKey);
  const lk = await cryptoKeys(leafKey);

  const root = new pkijs.Certificate();
  root.version = 2;
  root.serialNumber = positiveSerial();
  root.issuer = distinguishedName(`${cn} root`);
  root.subject = distinguishedName(`${cn} root`);
  root.notBefore.value = notBefore;
  root.notAfter.value = notAfter;
  await root.subjectPublicKeyInfo.importKey(rk.publicKey);
  const rootKid = keyIdOf(root.subjectPublicKeyInfo);
  const bcRoot = new pkijs.BasicConstraints({ cA: true, pathLenConstraint: 0 });
  root.extensions = [
    new pkijs.Extension({ extnID: OID.basicConstraints, critical: true, extnValue: bcRoot.toSchema().toBER(false), parsedValue: bcRoot }),
    keyUsageExtension(0x06, 1), // keyCertSign, cRLSign
    new pkijs.Extension({ extnID: OID.subjectKeyId, critical: false, extnValue: new asn1js.OctetString({ valueHex: ab(rootKid) }).toBER(false) }),
  ];
  await root.sign(rk.privateKey, 'SHA-256');

  const leaf = new pkijs.Certificate();
  leaf.version = 2;
  leaf.serialNumber = positiveSerial();
  leaf.issuer = distinguishedName(`${cn} root`);
  leaf.subject = distinguishedName(cn);
  leaf.notBefore.value = notBefore;
  leaf.notAfter.value = notAfter;
  await leaf.subjectPublicKeyInfo.importKey(lk.publicKey);
  const bcLeaf = new pkijs.BasicConstraints({ cA: false });
  const eku = new pkijs.ExtKeyUsage({ keyPurposes: [OID.timeStamping] });
  const aki = new pkijs.AuthorityKeyIdentifier({ keyIdentifier: new asn1js.OctetString({ valueHex: ab(rootKid) }) });
  leaf.extensions = [
    new pkijs.Extension({ extnID: OID.basicConstraints, critical: true, extnValue: bcLeaf.toSchema().toBER(false), parsedValue: bcLeaf }),
    keyUsageExtension(0x80, 7), // digitalSignature
    new pkijs.Extension({ extnID: OID.extKeyUsage, critical: true, extnValue: eku.toSchema().toBER(false), parsedValue: eku }),
    new pkijs.Extension({ extnID: OID.subjectKeyId, critical: false, extnValue: new asn1js.OctetString({ valueHex: ab(keyIdOf(leaf.subjectPublicKeyInfo)) }).toBER(false) }),
    new pkijs.Extension({ extnID: OID.authorityKeyId, critical: false, extnValue: aki.toSchema().toBER(false), parsedValue: aki }),
  ];
  await leaf.sign(rk.privateKey, 'SHA-256');
  return { leafKey, rootKey, leaf: u8(leaf.toSchema(true).toBER(false)), root: u8(root.toSchema(true).toBER(false)) };
}

export function parseCertificate(der: Uint8Array): Pkijs.Certificate {
  try {
    return pkijs.Certificate.fromBER(ab(der));
  } catch (e) {
    throw new EvidentError('INPUT_INVALID', `not a DER X.509 certificate: ${(e as Error).message}`, { cause: e });
  }
}

export function certificatePem(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

export function parseCertificatePems(text: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const m of text.matchAll(/-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/g)) out.push(u8(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64')));
  return out;
}

/** A parsed, acceptable TimeStampReq. */
export interface TimestampRequest {
  hashAlgorithm: string;
  hashedMessage: Uint8Array;
  nonce?: Asn1js.Integer;
  certReq: boolean;
}

export class TimestampRejection extends Error {
  constructor(readonly failInfo: number, message: string) {
    super(message);
  }
}

/** Parse and check a DER TimeStampReq (throws TimestampRejection with the PKIFailureInfo bit). */
export function parseTimestampRequest(der: Uint8Array): TimestampRequest {
  let req: Pkijs.TimeStampReq;
  try {
    const asn = asn1js.fromBER(ab(der));
    if (asn.offset === -1 || asn.offset !== der.length) throw new Error('not one DER value');
    req = new pkijs.TimeStampReq({ schema: asn.result });
  } catch (e) {
    throw new TimestampRejection(FAIL.badDataFormat, `not a DER TimeStampReq: ${(e as Error).message}`);
  }
  if (req.version !== 1) throw new TimestampRejection(FAIL.badRequest, `unsupported TimeStampReq version ${req.version}`);
  const alg = req.messageImprint.hashAlgorithm.algorithmId;
  const want = DIGEST_LENGTHS[alg];
  if (want === undefined) throw new TimestampRejection(FAIL.badAlg, `unsupported hash algorithm ${alg} (SHA-256, SHA-384, SHA-512)`);
  const hashed = u8(req.messageImprint.hashedMessage.valueBlock.valueHexView);
  if (hashed.length !== want) throw new TimestampRejection(FAIL.badDataFormat, `hashedMessage is ${hashed.length} bytes, ${want} expected`);
  if (req.reqPolicy !== undefined && req.reqPolicy !== EVIDENT_TSA_POLICY) throw new TimestampRejection(FAIL.unacceptedPolicy, `policy ${req.reqPolicy} is not offered (${EVIDENT_TSA_POLICY})`);
  if (req.extensions?.length) throw new TimestampRejection(FAIL.badRequest, 'request extensions are not supported');
  return { hashAlgorithm: alg, hashedMessage: hashed, nonce: req.nonce, certReq: req.certReq === true };
}

/** A DER TimeStampReq for data (SHA-256, certReq, random nonce) — what Evident itself sends. */
export function timestampRequestFor(data: Uint8Array, opts: { nonce?: boolean } = {}): Uint8Array {
  const req = new pkijs.TimeStampReq({
    version: 1,
    messageImprint: new pkijs.MessageImprint({
      hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID.sha256 }),
      hashedMessage: new asn1js.OctetString({ valueHex: ab(u8(createHash('sha256').update(data).digest())) }),
    }),
    certReq: true,
    ...(opts.nonce === false ? {} : { nonce: positiveSerial() }),
  });
  return u8(req.toSchema().toBER(false));
}

function rejection(failInfo: number, text: string): Uint8Array {
  const bits = new Uint8Array(Math.floor(failInfo / 8) + 1);
  bits[Math.floor(failInfo / 8)] = 0x80 >> failInfo % 8;
  const unused = 7 - (failInfo % 8);
  const resp = new pkijs.TimeStampResp({
    status: new pkijs.PKIStatusInfo({
      status: 2, // rejection
      statusStrings: [new asn1js.Utf8String({ value: text.slice(0, 200) })],
      failInfo: new asn1js.BitString({ valueHex: ab(bits), unusedBits: unused }),
    }),
  });
  return u8(resp.toSchema().toBER(false));
}

/** DER order of a SET OF (X.690 §11.6): the encodings sorted as octet strings. */
function derSorted(items: Uint8Array[]): Uint8Array[] {
  return [...items].sort((x, y) => Buffer.compare(x, y));
}

function messageDigestAttr(digest: Uint8Array): Pkijs.Attribute {
  return new pkijs.Attribute({ type: OID.messageDigest, values: [new asn1js.OctetString({ valueHex: ab(digest) })] });
}

/**
 * An already-encoded DER value inside an asn1js structure: written as is (asn1js's constructed encoders call each
 * child's toBER with their writer).
 */
class RawDer extends asn1js.Sequence {
  private readonly der: ArrayBuffer;
  constructor(der: Uint8Array) {
    super();
    this.der = ab(der);
  }
  override toBER(_sizeOnly?: boolean, writer?: { write(b: ArrayBuffer): void }): ArrayBuffer {
    writer?.write(this.der);
    return this.der;
  }
}

/** The TSA: a signing key and its certificate chain (leaf first). */
export class TimestampAuthority {
  readonly leafCert: Pkijs.Certificate;
  /** The leaf as pkijs embeds it: its DER bytes as they are (pkijs would re-parse and re-encode it every time). */
  private readonly leafForToken: Pkijs.Certificate;
  /** The signed attributes in DER SET OF order; the messageDigest one (index `digestAt`) is built per token. */
  private readonly constantAttrs: { contentType: Pkijs.Attribute; signingCertificateV2: Pkijs.Attribute; digestAt: number };

  constructor(
    readonly key: KeyObject,
    /** DER certificates, leaf first, root last. */
    readonly chain: Uint8Array[],
  ) {
    pkiEngine();
    if (chain.length === 0) throw new EvidentError('KEY_INVALID', 'TSA chain is empty');
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new EvidentError('KEY_UNSUPPORTED', 'the TSA key must be ECDSA P-256');
    this.leafCert = parseCertificate(chain[0]!);
    const leafSpki = Buffer.from(this.leafCert.subjectPublicKeyInfo.toSchema().toBER(false));
    if (!leafSpki.equals(createPublicKeyDer(key))) throw new EvidentError('KEY_INVALID', 'the TSA key does not match the TSA leaf certificate');
    const leafDer = chain[0]!;
    const raw = new RawDer(leafDer);
    this.leafForToken = Object.assign(parseCertificate(leafDer), { toSchema: () => raw }) as Pkijs.Certificate;
    const essCertIdV2 = new asn1js.Sequence({ value: [new asn1js.OctetString({ valueHex: ab(u8(createHash('sha256').update(leafDer).digest())) })] }); // hashAlgorithm DEFAULT sha256
    const signingCertV2 = new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [essCertIdV2] })] });
    const contentType = new pkijs.Attribute({ type: OID.contentType, values: [new asn1js.ObjectIdentifier({ value: OID.tstInfo })] });
    const signingCertificateV2 = new pkijs.Attribute({ type: OID.signingCertificateV2, values: [signingCertV2] });
    // DER order of the SET OF depends only on the encodings' lengths and OIDs: fixed once, with a dummy digest
    const order = derSorted([contentType, signingCertificateV2, messageDigestAttr(new Uint8Array(32))].map((a, i) => Object.assign(u8(a.toSchema().toBER(false)), { i })));
    this.constantAttrs = { contentType, signingCertificateV2, digestAt: order.findIndex((x) => (x as unknown as { i: number }).i === 2) };
  }

  /** Validity of the leaf certificate. */
  get validity(): { notBefore: Date; notAfter: Date } {
    return { notBefore: this.leafCert.notBefore.value, notAfter: this.leafCert.notAfter.value };
  }

  /** Answer a DER TimeStampReq with a DER TimeStampResp (granted, or a rejection naming the failure). */
  async respond(reqDer: Uint8Array, now: Date = new Date()): Promise<{ granted: boolean; response: Uint8Array; message?: string }> {
    let req: TimestampRequest;
    try {
      req = parseTimestampRequest(reqDer);
    } catch (e) {
      if (e instanceof TimestampRejection) return { granted: false, response: rejection(e.failInfo, e.message), message: e.message };
      throw e;
    }
    return { granted: true, response: await this.grant(req, now) };
  }

  /** RFC 3161 TimeStampResp (granted) for the digest of `data` (SHA-256), with the leaf certificate. */
  async stamp(data: Uint8Array, now: Date = new Date()): Promise<Uint8Array> {
    return this.grant({ hashAlgorithm: OID.sha256, hashedMessage: u8(createHash('sha256').update(data).digest()), certReq: true }, now);
  }

  private async grant(req: TimestampRequest, now: Date): Promise<Uint8Array> {
    const { notBefore, notAfter } = this.validity;
    if (now < notBefore || now > notAfter) throw new EvidentError('KEY_INVALID', 'the TSA certificate is not valid now');
    const genTime = new Date(Math.floor(now.getTime() / 1000) * 1000);
    const tst = new pkijs.TSTInfo({
      version: 1,
      policy: EVIDENT_TSA_POLICY,
      messageImprint: new pkijs.MessageImprint({
        hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: req.hashAlgorithm }),
        hashedMessage: new asn1js.OctetString({ valueHex: ab(req.hashedMessage) }),
      }),
      serialNumber: positiveSerial(),
      genTime,
      accuracy: new pkijs.Accuracy({ seconds: 1 }),
      ...(req.nonce ? { nonce: req.nonce } : {}),
    });
    const tstDer = u8(tst.toSchema().toBER(false));
    const attrs = [this.constantAttrs.contentType, this.constantAttrs.signingCertificateV2];
    attrs.splice(this.constantAttrs.digestAt, 0, messageDigestAttr(u8(createHash('sha256').update(tstDer).digest())));
    // the signature over the DER SET OF the signed attributes (RFC 5652 §5.4), by node:crypto (ECDSA P-256 SHA-256, DER)
    const signedAttrsDer = u8(new asn1js.Set({ value: attrs.map((a) => a.toSchema()) }).toBER(false));
    const signature = nodeSign('sha256', signedAttrsDer, { key: this.key, dsaEncoding: 'der' });
    const signed = new pkijs.SignedData({
      version: 3,
      encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: OID.tstInfo, eContent: new asn1js.OctetString({ valueHex: ab(tstDer) }) }),
      signerInfos: [
        new pkijs.SignerInfo({
          version: 1,
          sid: new pkijs.IssuerAndSerialNumber({ issuer: this.leafCert.issuer, serialNumber: this.leafCert.serialNumber }),
          digestAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID.sha256 }),
          signedAttrs: new pkijs.SignedAndUnsignedAttributes({ type: 0, attributes: attrs }),
          signatureAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID.ecdsaWithSha256 }),
          signature: new asn1js.OctetString({ valueHex: ab(u8(signature)) }),
        }),
      ],
      digestAlgorithms: [new pkijs.AlgorithmIdentifier({ algorithmId: OID.sha256 })],
      ...(req.certReq ? { certificates: [this.leafForToken] } : {}),
    });
    // pkijs re-wraps eContent as a constructed (BER) OCTET STRING; DER (and Sigstore's parser) wants it primitive
    signed.encapContentInfo.eContent = new asn1js.OctetString({ valueHex: ab(tstDer) });
    const resp = new pkijs.TimeStampResp({
      status: new pkijs.PKIStatusInfo({ status: 0 }),
      timeStampToken: new pkijs.ContentInfo({ contentType: OID.signedData, content: signed.toSchema(true) }),
    });
    return u8(resp.toSchema().toBER(false));
  }
}
