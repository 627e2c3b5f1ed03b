/**
 * Sigstore bundle shape (protobuf-specs `dev.sigstore.bundle.v1.Bundle`, JSON encoding), media types v0.1–v0.3.
 *
 * The JSON → protobuf mapping and the per-version required fields (v0.1: inclusion promise; v0.2+: inclusion
 * proof with checkpoint; v0.3: single certificate, no chain) come from `@sigstore/bundle` (`bundleFromJSON`).
 * On top of it, this module rejects what that parser lets through and a verifier must not accept:
 * - a media type that is none of the four published ones (the library accepts any `version=\d.\d`);
 * - bytes fields that are not base64 (protobuf JSON: standard or URL-safe alphabet, padding optional) — Node's
 *   decoder skips junk silently;
 * - int64 fields (log index, integrated time, tree size) that are not non-negative decimal integers;
 * - an x509CertificateChain that carries a self-signed (root) certificate: trust anchors come only from the
 *   trusted root, never from the bundle;
 * - more than one DSSE signature, oversize arrays.
 * Every failure throws {@link BundleShapeError} (input category, exit 10).
 */
import { bundleFromJSON, type Bundle } from '@sigstore/bundle';
import { X509Certificate } from '@sigstore/core';

export const BUNDLE_MEDIA_TYPES: Readonly<Record<string, '0.1' | '0.2' | '0.3'>> = {
  'application/vnd.dev.sigstore.bundle+json;version=0.1': '0.1',
  'application/vnd.dev.sigstore.bundle+json;version=0.2': '0.2',
  'application/vnd.dev.sigstore.bundle+json;version=0.3': '0.3',
  'application/vnd.dev.sigstore.bundle.v0.3+json': '0.3',
};

/** Prefix every Sigstore bundle media type starts with (also unknown future versions, so they are reported). */
export const BUNDLE_MEDIA_TYPE_PREFIX = 'application/vnd.dev.sigstore.bundle';

const MAX_ARRAY = 64;
const MAX_CHAIN = 10;

export class BundleShapeError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'BundleShapeError';
  }
}

export interface ParsedBundle {
  bundle: Bundle;
  version: '0.1' | '0.2' | '0.3';
  mediaType: string;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;
const B64URL = /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}(?:==)?|[A-Za-z0-9_-]{3}=?)?$/;

function bytesField(v: unknown, where: string, opts: { required?: boolean } = {}): void {
  if (v === undefined || v === null) {
    if (opts.required) throw new BundleShapeError('BUNDLE_INVALID', `${where} is missing`);
    return;
  }
  if (typeof v !== 'string') throw new BundleShapeError('BUNDLE_INVALID', `${where} must be a base64 string`);
  // protobuf JSON bytes: standard or URL-safe alphabet, padding optional; line breaks are skipped as Go's decoder
  // (protojson, sigstore-go) and Node's do
  const t = v.includes('\n') || v.includes('\r') ? v.replace(/\r?\n/g, '') : v;
  if (!B64.test(t) && !B64URL.test(t)) throw new BundleShapeError('BUNDLE_BASE64_INVALID', `${where} is not valid base64`);
}

function int64Field(v: unknown, where: string, opts: { required?: boolean } = {}): void {
  if (v === undefined || v === null) {
    if (opts.required) throw new BundleShapeError('BUNDLE_INVALID', `${where} is missing`);
    return;
  }
  const s = typeof v === 'number' ? String(v) : v;
  if (typeof s !== 'string' || !/^(0|[1-9][0-9]{0,18})$/.test(s) || BigInt(s) > 0x7fffffffffffffffn) {
    throw new BundleShapeError('BUNDLE_INVALID', `${where} must be a non-negative 64-bit integer, got ${JSON.stringify(v)}`);
  }
}

function arrayField(v: unknown, where: string, max = MAX_ARRAY): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new BundleShapeError('BUNDLE_INVALID', `${where} must be an array`);
  if (v.length > max) throw new BundleShapeError('BUNDLE_INVALID', `${where} has more than ${max} items`);
  return v;
}

function objField(v: unknown, where: string): Obj | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) throw new BundleShapeError('BUNDLE_INVALID', `${where} must be an object`);
  return v;
}

function checkTlogEntry(e: unknown, where: string): void {
  if (!isObj(e)) throw new BundleShapeError('BUNDLE_INVALID', `${where} must be an object`);
  int64Field(e.logIndex, `${where}.logIndex`, { required: true });
  int64Field(e.integratedTime, `${where}.integratedTime`);
  bytesField(objField(e.logId, `${where}.logId`)?.keyId, `${where}.logId.keyId`, { required: true });
  bytesField(e.canonicalizedBody, `${where}.canonicalizedBody`, { required: true });
  const kv = objField(e.kindVersion, `${where}.kindVersion`);
  if (!kv || typeof kv.kind !== 'string' || typeof kv.version !== 'string') {
    throw new BundleShapeError('BUNDLE_INVALID', `${where}.kindVersion needs string kind and version`);
  }
  const promise = objField(e.inclusionPromise, `${where}.inclusionPromise`);
  if (promise) bytesField(promise.signedEntryTimestamp, `${where}.inclusionPromise.signedEntryTimestamp`, { required: true });
  const proof = objField(e.inclusionProof, `${where}.inclusionProof`);
  if (proof) {
    int64Field(proof.logIndex, `${where}.inclusionProof.logIndex`, { required: true });
    int64Field(proof.treeSize, `${where}.inclusionProof.treeSize`, { required: true });
    bytesField(proof.rootHash, `${where}.inclusionProof.rootHash`, { required: true });
    arrayField(proof.hashes, `${where}.inclusionProof.hashes`).forEach((h, i) => bytesField(h, `${where}.inclusionProof.hashes[${i}]`, { required: true }));
    const cp = objField(proof.checkpoint, `${where}.inclusionProof.checkpoint`);
    if (cp && typeof cp.envelope !== 'string') throw new BundleShapeError('BUNDLE_INVALID', `${where}.inclusionProof.checkpoint.envelope must be a string`);
  }
}

/** Field-level checks on the plain JSON, before the protobuf mapping (which is lenient). */
function checkRaw(j: Obj): void {
  const vm = objField(j.verificationMaterial, 'verificationMaterial');
  if (!vm) throw new BundleShapeError('BUNDLE_INVALID', 'verificationMaterial is missing');
  const ms = objField(j.messageSignature, 'messageSignature');
  const env = objField(j.dsseEnvelope, 'dsseEnvelope');
  if ((ms ? 1 : 0) + (env ? 1 : 0) !== 1) throw new BundleShapeError('BUNDLE_INVALID', 'the bundle needs exactly one of messageSignature and dsseEnvelope');
  if (ms) {
    bytesField(ms.signature, 'messageSignature.signature', { required: true });
    const md = objField(ms.messageDigest, 'messageSignature.messageDigest');
    if (md) bytesField(md.digest, 'messageSignature.messageDigest.digest', { required: true });
  }
  if (env) {
    bytesField(env.payload, 'dsseEnvelope.payload', { required: true });
    if (typeof env.payloadType !== 'string') throw new BundleShapeError('BUNDLE_INVALID', 'dsseEnvelope.payloadType must be a string');
    const sigs = arrayField(env.signatures, 'dsseEnvelope.signatures');
    if (sigs.length !== 1) throw new BundleShapeError('BUNDLE_INVALID', `dsseEnvelope must carry exactly one signature, got ${sigs.length}`);
    sigs.forEach((s, i) => bytesField(objField(s, `dsseEnvelope.signatures[${i}]`)?.sig, `dsseEnvelope.signatures[${i}].sig`, { required: true }));
  }
  const chain = objField(vm.x509CertificateChain, 'verificationMaterial.x509CertificateChain');
  const cert = objField(vm.certificate, 'verificationMaterial.certificate');
  const pk = objField(vm.publicKey, 'verificationMaterial.publicKey');
  if ((chain ? 1 : 0) + (cert ? 1 : 0) + (pk ? 1 : 0) !== 1) {
    throw new BundleShapeError('BUNDLE_INVALID', 'verificationMaterial needs exactly one of x509CertificateChain, certificate and publicKey');
  }
  if (chain) {
    const certs = arrayField(chain.certificates, 'x509CertificateChain.certificates', MAX_CHAIN);
    if (certs.length === 0) throw new BundleShapeError('BUNDLE_INVALID', 'x509CertificateChain.certificates is empty');
    certs.forEach((c, i) => bytesField(objField(c, `x509CertificateChain.certificates[${i}]`)?.rawBytes, `x509CertificateChain.certificates[${i}].rawBytes`, { required: true }));
  }
  if (cert) bytesField(cert.rawBytes, 'verificationMaterial.certificate.rawBytes', { required: true });
  if (pk && pk.hint !== undefined && typeof pk.hint !== 'string') throw new BundleShapeError('BUNDLE_INVALID', 'verificationMaterial.publicKey.hint must be a string');
  arrayField(vm.tlogEntries, 'verificationMaterial.tlogEntries').forEach((e, i) => checkTlogEntry(e, `tlogEntries[${i}]`));
  const tvd = objField(vm.timestampVerificationData, 'verificationMaterial.timestampVerificationData');
  if (tvd) {
    arrayField(tvd.rfc3161Timestamps, 'timestampVerificationData.rfc3161Timestamps').forEach((t, i) =>
      bytesField(objField(t, `rfc3161Timestamps[${i}]`)?.signedTimestamp, `rfc3161Timestamps[${i}].signedTimestamp`, { required: true }),
    );
  }
}

/** Parse and shape-check a bundle from plain JSON. Throws {@link BundleShapeError}. */
export function parseBundle(json: unknown): ParsedBundle {
  if (!isObj(json)) throw new BundleShapeError('BUNDLE_INVALID', 'a Sigstore bundle is a JSON object');
  const mediaType = json.mediaType;
  if (typeof mediaType !== 'string') throw new BundleShapeError('BUNDLE_INVALID', 'mediaType is missing');
  const version = BUNDLE_MEDIA_TYPES[mediaType];
  if (!version) throw new BundleShapeError('BUNDLE_VERSION_UNSUPPORTED', `unsupported bundle media type ${JSON.stringify(mediaType)} (known: v0.1, v0.2, v0.3)`);
  checkRaw(json);
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(json);
  } catch (e) {
    const fields = (e as { fields?: string[] }).fields;
    throw new BundleShapeError('BUNDLE_INVALID', `${(e as Error).message}${fields?.length ? `: ${fields.join(', ')}` : ''}`);
  }
  const vm = bundle.verificationMaterial;
  if (vm.content.$case === 'x509CertificateChain') {
    vm.content.x509CertificateChain.certificates.forEach((c, i) => {
      let x: X509Certificate;
      try {
        x = X509Certificate.parse(Buffer.from(c.rawBytes));
      } catch (e) {
        throw new BundleShapeError('BUNDLE_CERTIFICATE_INVALID', `x509CertificateChain.certificates[${i}] is not a DER certificate: ${(e as Error).message}`);
      }
      if (selfSigned(x)) throw new BundleShapeError('BUNDLE_CHAIN_HAS_ROOT', `x509CertificateChain.certificates[${i}] is a self-signed root: trust anchors come only from the trusted root`);
    });
  }
  return { bundle, version, mediaType };
}

function selfSigned(x: X509Certificate): boolean {
  if (!x.subject.equals(x.issuer)) return false;
  try {
    return x.verify();
  } catch {
    return false;
  }
}
