/**
 * Offline Sigstore bundle verification (`evident verify BUNDLE --artifact FILE --trusted-root ROOT …`), one report
 * check per Sigstore step, each failure in its exit-code category:
 *
 *   bundle            shape, media type, encodings                         input (10)
 *   trust.root/key    trusted root / pinned key present and valid          key (4)
 *   artifact.*        artifact given; digest = messageDigest / subject     input (10) / integrity (2)
 *   timestamp.tsa[i]  RFC 3161: imprint = signature, TSA trusted, window,  integrity / key / policy / signature
 *                     TSA chain at signing time, CMS signature
 *   cert.chain        leaf chains to a trusted CA (valid at each time)     key (4), policy (1) when only time fails
 *   cert.sct          SCT(s) from a trusted CT log                         key (4)
 *   identity          --certificate-identity[-regexp], -oidc-issuer        policy (1)
 *   signature         over the artifact (message) or the DSSE PAE          signature (3)
 *   tlog[i].*         body = bundle, SET, checkpoint, inclusion proof      integrity / key / signature / policy
 *
 * Timestamps: a Fulcio certificate is checked at every trusted time — RFC 3161 timestamps that verified and Rekor
 * v1 integrated times whose SET verified (as sigstore-go and @sigstore/verify do); with none the bundle fails
 * (TIMESTAMP_MISSING, policy): "now" is never used for short-lived certificates. A pinned key (managed-key
 * bundles) has no validity window; without a timestamp it is used at the current time, as cosign and sigstore-go
 * (WithCurrentTime) do for keys.
 *
 * Library use: the bundle's JSON mapping and per-version shape come from @sigstore/bundle; X.509 parsing, chain
 * building (CertificateChainVerifier), SCT and SET checks and RFC 3161 parsing from @sigstore/core and
 * @sigstore/verify's modules, called step by step (its Verifier stops at the first failure and folds trust, time
 * and signature errors into one code). Own code where the library lags the conformance suite: trust-root
 * validation (validFor.start required), checkpoints (C2SP, Evident's note/checkpoint code), Merkle inclusion
 * (log/merkle.ts), tlog body matching (Rekor v2 hashedrekord-over-DSSE, verifier comparison) and the TSA step
 * split.
 */
import { createHash, type KeyObject } from '../../kernel/crypto/index.ts';
import { RFC3161Timestamp, X509Certificate, crypto as score, dsse as cdsse } from '@sigstore/core';
import { HashAlgorithm } from '@sigstore/protobuf-specs';
import type { TransparencyLogEntry } from '@sigstore/protobuf-specs';
import type { CertAuthority } from '@sigstore/verify/dist/trust/trust.types.js';
import { CertificateChainVerifier } from '@sigstore/verify/dist/key/certificate.js';
import { verifySCTs } from '@sigstore/verify/dist/key/sct.js';
import { Report, type Mode } from '../../verify/report.ts';
import { toHex, bytesView } from '../../kernel/encoding.ts';
import { parseJson, toPlain } from '../../kernel/json/index.ts';
import { IN_TOTO_PAYLOAD_TYPE } from '../../kernel/dsse.ts';
import { matchArtifacts, statementProblems, subjectsOf } from '../../kernel/intoto.ts';
import { BundleShapeError, parseBundle, type ParsedBundle } from './bundle.ts';
import { TrustRootError, loadTrust, loadSigstoreKey, type SigstoreTrust } from './trust.ts';
import { bodyMismatch, checkInclusion, checkSet, tlogsFor, validAt, windowOpen, type SignedContent, type Signer } from './tlog.ts';

export const SIGSTORE_FORMAT = 'sigstore.bundle';

export interface SigstoreOptions {
  mode?: Mode;
  /** TrustedRoot: file path, JSON text or parsed object. */
  trustedRoot?: unknown;
  /** Pinned public keys (file paths or PEM). */
  keys?: string[];
  artifacts?: Array<{ name: string; bytes: Uint8Array }>;
  certificateIdentity?: string;
  certificateIdentityRegexp?: string;
  certificateOidcIssuer?: string;
  now?: Date;
}

const OID_FULCIO_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';
const OID_FULCIO_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';
/** Tolerated clock skew for "integrated time / timestamp in the future". */
const FUTURE_SKEW_MS = 5 * 60 * 1000;

const HASH_NAMES: Partial<Record<number, { node: string; rekor: string }>> = {
  [HashAlgorithm.HASH_ALGORITHM_UNSPECIFIED]: { node: 'sha256', rekor: 'sha256' },
  [HashAlgorithm.SHA2_256]: { node: 'sha256', rekor: 'sha256' },
  [HashAlgorithm.SHA2_384]: { node: 'sha384', rekor: 'sha384' },
  [HashAlgorithm.SHA2_512]: { node: 'sha512', rekor: 'sha512' },
};

const msg = (e: unknown): string => (e as Error)?.message ?? String(e);

/** Signature algorithm argument for node's verify: none for Ed25519/Ed448, the digest otherwise. */
function sigAlg(key: KeyObject, hash: string): string | undefined {
  return key.asymmetricKeyType === 'ed25519' || key.asymmetricKeyType === 'ed448' ? undefined : hash;
}

export function verifySigstoreBundle(json: unknown, opts: SigstoreOptions): Report {
  const report = new Report(SIGSTORE_FORMAT, opts.mode ?? 'strict');
  let parsed: ParsedBundle;
  try {
    parsed = parseBundle(json);
  } catch (e) {
    if (!(e instanceof BundleShapeError)) throw e;
    return report.fail('bundle', 'input', e.code, e.message);
  }
  const { bundle } = parsed;
  report.pass('bundle', `Sigstore bundle v${parsed.version} (${bundle.content.$case}, ${bundle.verificationMaterial.content.$case})`);
  const vm = bundle.verificationMaterial;
  const now = opts.now ?? new Date();

  // --- trust material -------------------------------------------------------------------------------------
  let trust: SigstoreTrust | undefined;
  if (opts.trustedRoot !== undefined && opts.trustedRoot !== null) {
    try {
      trust = loadTrust(opts.trustedRoot);
      report.pass('trust.root', `trusted root: ${trust.root.tlogs.length} tlog(s), ${trust.root.certificateAuthorities.length} CA(s), ${trust.root.ctlogs.length} CT log(s), ${trust.root.timestampAuthorities.length} TSA(s)`);
    } catch (e) {
      if (!(e instanceof TrustRootError)) throw e;
      return report.fail('trust.root', 'key', e.code, e.message);
    }
  }
  const pinned: KeyObject[] = [];
  for (const k of opts.keys ?? []) {
    try {
      pinned.push(loadSigstoreKey(k));
    } catch (e) {
      return report.fail('key.load', 'key', 'KEY_INVALID', `cannot load --key ${k.includes('-----BEGIN') ? '(inline PEM)' : k}: ${msg(e)}`);
    }
  }
  const isCert = vm.content.$case !== 'publicKey';
  if (!trust && pinned.length === 0) {
    return report.fail('trust.root', 'key', 'TRUST_ROOT_MISSING', 'no trust: give --trusted-root trusted_root.json (or --key for a managed-key bundle); trust never comes from the bundle or the network');
  }
  if (isCert && !trust) {
    return report.fail('trust.root', 'key', 'TRUST_ROOT_MISSING', 'a certificate bundle needs --trusted-root (Fulcio CAs, CT logs, tlogs, TSAs)');
  }
  if (!isCert && pinned.length === 0) {
    return report.fail('key', 'key', 'KEY_MISSING', 'the bundle is signed with a managed key: give it with --key key.pub');
  }

  // --- content and artifact -------------------------------------------------------------------------------
  let content: SignedContent;
  let artifact: Uint8Array | undefined;
  if (bundle.content.$case === 'messageSignature') {
    const ms = bundle.content.messageSignature;
    const alg = HASH_NAMES[ms.messageDigest?.algorithm ?? HashAlgorithm.SHA2_256];
    if (!alg) return report.fail('bundle.digest', 'input', 'BUNDLE_INVALID', `unsupported message digest algorithm ${ms.messageDigest?.algorithm}`);
    const arts = opts.artifacts ?? [];
    if (arts.length !== 1) {
      return report.fail('artifact', 'input', arts.length === 0 ? 'ARTIFACT_MISSING' : 'ARTIFACT_AMBIGUOUS', `a message-signature bundle signs one blob: give it with --artifact FILE (${arts.length} given)`);
    }
    artifact = arts[0]!.bytes;
    const digest = createHash(alg.node).update(artifact).digest();
    const claimed = ms.messageDigest?.digest;
    if (claimed && !digest.equals(claimed)) {
      report.fail('artifact.digest', 'integrity', 'ARTIFACT_DIGEST_MISMATCH', `${arts[0]!.name}: digest is not the bundle's messageDigest`, { expected: toHex(bytesView(claimed)), actual: toHex(bytesView(digest)) });
    } else {
      report.pass('artifact.digest', `${arts[0]!.name}: ${alg.rekor}:${toHex(bytesView(digest))}`);
    }
    content = { kind: 'message', signature: ms.signature, digest, digestAlg: alg.rekor };
  } else {
    const env = bundle.content.dsseEnvelope;
    content = { kind: 'dsse', signature: env.signatures[0]!.sig, payload: env.payload, payloadType: env.payloadType };
    checkSubjects(report, env.payloadType, env.payload, opts.artifacts ?? []);
  }

  // --- timestamps -----------------------------------------------------------------------------------------
  const times: Date[] = [];
  (vm.timestampVerificationData?.rfc3161Timestamps ?? []).forEach((ts, i) => {
    if (!trust) {
      report.warn(`timestamp.tsa[${i}]`, 'TIMESTAMP_NOT_VERIFIED', 'RFC 3161 timestamp not verified: no --trusted-root (no trusted TSA)');
      return;
    }
    const t = checkTsa(report, `timestamp.tsa[${i}]`, Buffer.from(ts.signedTimestamp), content.signature, trust.material.timestampAuthorities, now);
    if (t) times.push(t);
  });
  const setTimes: Array<Date | undefined> = [];
  if (trust) {
    vm.tlogEntries.forEach((entry, i) => {
      const logs = tlogsFor(entry, trust.material.tlogs);
      const t = logs.length ? checkSet(report, `tlog[${i}]`, entry, logs) : undefined;
      setTimes[i] = t;
      if (t) {
        if (t.getTime() > now.getTime() + FUTURE_SKEW_MS) report.fail(`tlog[${i}].time`, 'policy', 'TIMESTAMP_IN_FUTURE', `integrated time ${t.toISOString()} is in the future`);
        times.push(t);
      }
    });
  }

  // --- signer ---------------------------------------------------------------------------------------------
  const signer: Signer = {};
  let keys: KeyObject[];
  if (isCert) {
    const der = vm.content.$case === 'x509CertificateChain' ? vm.content.x509CertificateChain.certificates[0]!.rawBytes : vm.content.$case === 'certificate' ? vm.content.certificate.rawBytes : Buffer.alloc(0);
    let leaf: X509Certificate;
    try {
      leaf = X509Certificate.parse(Buffer.from(der));
    } catch (e) {
      return report.fail('cert', 'input', 'BUNDLE_CERTIFICATE_INVALID', `signing certificate: ${msg(e)}`);
    }
    signer.certDer = Buffer.from(der);
    try {
      signer.key = score.createPublicKey(leaf.publicKey);
    } catch (e) {
      return report.fail('cert', 'input', 'BUNDLE_CERTIFICATE_INVALID', `signing certificate key: ${msg(e)}`);
    }
    keys = [signer.key];
    if (pinned.length) report.warn('key', 'KEY_IGNORED', 'the bundle is signed with a certificate: --key is not used (trust comes from the trusted root and the identity policy)');
    checkCertificate(report, leaf, signer.certDer, times, trust!);
    checkIdentity(report, leaf, opts);
  } else {
    keys = pinned;
    if (opts.certificateIdentity !== undefined || opts.certificateIdentityRegexp !== undefined || opts.certificateOidcIssuer !== undefined) {
      report.warn('identity', 'IDENTITY_POLICY_IGNORED', 'the bundle is signed with a managed key, not a certificate: the identity policy does not apply');
    }
    if (times.length === 0) report.pass('key.time', `no trusted timestamp: the pinned key is used at the current time (${now.toISOString()})`);
  }

  // --- signature ------------------------------------------------------------------------------------------
  const good = keys.find((k) => verifyContent(content, artifact, k));
  if (good) {
    signer.key = good;
    report.pass('signature', content.kind === 'message' ? 'signature over the artifact verified' : `DSSE signature over PAE(${content.payloadType}) verified`);
  } else {
    report.fail('signature', 'signature', 'SIGNATURE_INVALID', isCert ? 'the signature does not verify with the certificate key' : `the signature does not verify with the ${pinned.length} pinned key(s)`);
  }

  // --- transparency log -----------------------------------------------------------------------------------
  if (!trust) {
    if (vm.tlogEntries.length) report.warn('tlog', 'TLOG_NOT_VERIFIED', `${vm.tlogEntries.length} tlog entry(ies) not verified: no --trusted-root`);
    return report;
  }
  let verified = 0;
  vm.tlogEntries.forEach((entry, i) => {
    if (checkEntry(report, `tlog[${i}]`, entry, content, signer, trust, setTimes[i], times)) verified++;
  });
  if (verified < 1) report.fail('tlog', 'policy', 'TLOG_THRESHOLD', `no verified transparency-log entry (${vm.tlogEntries.length} in the bundle, 1 required)`);
  else report.pass('tlog', `${verified} transparency-log entry(ies) verified`);
  return report;
}

function verifyContent(content: SignedContent, artifact: Uint8Array | undefined, key: KeyObject): boolean {
  if (content.kind === 'message') {
    if (!artifact) return false;
    return score.verify(Buffer.from(artifact), key, content.signature, sigAlg(key, content.digestAlg === 'sha256' ? 'sha256' : content.digestAlg));
  }
  return score.verify(cdsse.preAuthEncoding(content.payloadType, content.payload), key, content.signature, sigAlg(key, 'sha256'));
}

/** DSSE/in-toto: every --artifact must match a subject digest (kernel/intoto.ts rules, as for plain DSSE). */
function checkSubjects(report: Report, payloadType: string, payload: Buffer, artifacts: Array<{ name: string; bytes: Uint8Array }>): void {
  if (artifacts.length === 0) {
    report.warn('artifact', 'ARTIFACT_NOT_CHECKED', 'no --artifact given: the in-toto subjects were not compared with any file');
    return;
  }
  if (payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    report.fail('artifact', 'input', 'ARTIFACT_NOT_CHECKED', `payload type ${JSON.stringify(payloadType)} has no subjects to check --artifact files against`);
    return;
  }
  let st: unknown;
  try {
    st = toPlain(parseJson(payload, { maxDepth: 64 }));
  } catch (e) {
    report.fail('statement', 'input', (e as { code?: string }).code ?? 'JSON_SYNTAX', `in-toto payload is not valid JSON: ${msg(e)}`);
    return;
  }
  const problems = statementProblems(st);
  if (problems.length) {
    for (const p of problems) report.fail(p.path ? `statement.${p.path}` : 'statement', 'input', 'INTOTO_INVALID', p.message);
    return;
  }
  matchArtifacts(subjectsOf(st as Record<string, unknown>), artifacts).forEach((m, i) => {
    if (m.ok) report.pass(`artifact[${i}]`, m.message, { actual: m.actual });
    else report.fail(`artifact[${i}]`, 'integrity', 'ARTIFACT_MISMATCH', m.message, { actual: m.actual });
  });
}

/** RFC 3161 timestamp over the signature bytes; returns its time when every step passed. */
function checkTsa(report: Report, id: string, der: Buffer, data: Buffer, tsas: CertAuthority[], now: Date): Date | undefined {
  let ts: RFC3161Timestamp;
  let at: Date;
  try {
    ts = RFC3161Timestamp.parse(der as Buffer<ArrayBuffer>);
    at = ts.signingTime;
    if (Number.isNaN(at.getTime())) throw new Error('invalid genTime');
  } catch (e) {
    report.fail(id, 'input', 'TIMESTAMP_INVALID', `RFC 3161 timestamp does not parse: ${msg(e)}`);
    return undefined;
  }
  try {
    ts.tstInfo.verify(data);
  } catch {
    report.fail(id, 'integrity', 'TIMESTAMP_MESSAGE_MISMATCH', 'the timestamp\'s message imprint is not the bundle signature');
    return undefined;
  }
  let serial: Buffer;
  let issuer: Buffer;
  try {
    serial = ts.signerSerialNumber;
    issuer = ts.signerIssuer;
  } catch (e) {
    report.fail(id, 'input', 'TIMESTAMP_INVALID', `RFC 3161 signer info: ${msg(e)}`);
    return undefined;
  }
  const mine = tsas.filter((ca) => ca.certChain.length > 0 && ca.certChain[0]!.serialNumber.equals(serial) && ca.certChain[0]!.issuer.equals(issuer));
  if (mine.length === 0) {
    report.fail(id, 'key', 'TSA_UNTRUSTED', 'the timestamp is not signed by a TSA of the trusted root');
    return undefined;
  }
  const windowed = mine.filter((ca) => inWindow(ca, at));
  if (windowed.length === 0) {
    report.fail(id, 'policy', 'TSA_OUTSIDE_VALIDITY', `timestamp time ${at.toISOString()} is outside the TSA's trusted-root validity`);
    return undefined;
  }
  const usable = windowed.filter((ca) => tsaPath(ca));
  if (usable.length === 0) {
    report.fail(id, 'key', 'TSA_CHAIN_INVALID', 'the TSA certificate chain in the trusted root does not verify');
    return undefined;
  }
  for (const ca of usable) {
    if (!pathValidAt(tsaPath(ca)!, at)) continue;
    try {
      ts.verify(data, tsaKey(ca));
    } catch (e) {
      report.fail(id, 'signature', 'TIMESTAMP_SIGNATURE_INVALID', `RFC 3161 timestamp signature: ${msg(e)}`);
      return undefined;
    }
    if (at.getTime() > now.getTime() + FUTURE_SKEW_MS) {
      report.fail(id, 'policy', 'TIMESTAMP_IN_FUTURE', `timestamp time ${at.toISOString()} is in the future`);
      return undefined;
    }
    report.pass(id, `RFC 3161 timestamp ${at.toISOString()} verified`);
    return at;
  }
  report.fail(id, 'policy', 'TSA_CERT_OUTSIDE_VALIDITY', `the TSA certificate chain is not valid at ${at.toISOString()}`);
  return undefined;
}

/**
 * The certificate path from `leaf` to a trusted anchor in `trusted`, built and checked (signatures, CA flags, name
 * chaining, path length) by @sigstore/verify's CertificateChainVerifier — its `verify()` minus the date check,
 * which is done here per trusted time so that the path is built once (and "untrusted" told from "not valid then").
 */
function buildPath(leaf: X509Certificate, trusted: X509Certificate[]): X509Certificate[] | undefined {
  const v = new CertificateChainVerifier({ trustedCerts: trusted, untrustedCert: leaf, timestamp: new Date(0) }) as unknown as {
    sort(): X509Certificate[];
    checkPath(p: X509Certificate[]): void;
  };
  try {
    const path = v.sort();
    v.checkPath(path);
    return path;
  } catch {
    return undefined;
  }
}

const inWindow = (ca: CertAuthority, t: Date): boolean => windowOpen(ca.validFor, t);
const pathValidAt = (path: X509Certificate[], t: Date): boolean => path.every((c) => c.validForDate(t));

const tsaKeys = new WeakMap<CertAuthority, KeyObject>();
function tsaKey(ca: CertAuthority): KeyObject {
  let k = tsaKeys.get(ca);
  if (!k) tsaKeys.set(ca, (k = score.createPublicKey(ca.certChain[0]!.publicKey)));
  return k;
}

/** TSA chains come only from the (cached, immutable) trust material: built once per authority. */
const tsaPaths = new WeakMap<CertAuthority, X509Certificate[] | null>();
function tsaPath(ca: CertAuthority): X509Certificate[] | undefined {
  let p = tsaPaths.get(ca);
  if (p === undefined) {
    const [leaf, ...rest] = ca.certChain;
    p = (leaf && buildPath(leaf, rest)) || null;
    tsaPaths.set(ca, p);
  }
  return p ?? undefined;
}

/**
 * Built paths per trusted CA (immutable, cached trust material) and leaf certificate (by DER digest), bounded: a
 * service or batch verifying many bundles of one signer builds the chain once (the library re-encodes every TBS
 * to DER for each signature check, which is most of a verification's time).
 */
const leafPaths = new WeakMap<CertAuthority, Map<string, X509Certificate[] | null>>();
const MAX_LEAF_PATHS = 256;
function leafPath(leaf: X509Certificate, leafKey: string, ca: CertAuthority): X509Certificate[] | undefined {
  let m = leafPaths.get(ca);
  if (!m) leafPaths.set(ca, (m = new Map()));
  let p = m.get(leafKey);
  if (p === undefined) {
    p = buildPath(leaf, ca.certChain) ?? null;
    if (m.size >= MAX_LEAF_PATHS) m.delete(m.keys().next().value!);
    m.set(leafKey, p);
  }
  return p ?? undefined;
}

/** SCT results per issuer (trust material) and leaf digest, bounded: verifySCTs re-encodes the leaf's TBS. */
const sctResults = new WeakMap<X509Certificate, Map<string, { count: number; error?: string }>>();
function sctResult(leaf: X509Certificate, leafKey: string, issuer: X509Certificate, trust: SigstoreTrust): { count: number; error?: string } {
  let m = sctResults.get(issuer);
  if (!m) sctResults.set(issuer, (m = new Map()));
  let r = m.get(leafKey);
  if (!r) {
    try {
      r = { count: verifySCTs(leaf, issuer, trust.material.ctlogs).length };
    } catch (e) {
      r = { count: 0, error: msg(e) };
    }
    if (m.size >= MAX_LEAF_PATHS) m.delete(m.keys().next().value!);
    m.set(leafKey, r);
  }
  return r;
}

/** Fulcio leaf: chain to a trusted CA, valid (certificates and the CA's trusted-root window) at every trusted time; SCTs. */
function checkCertificate(report: Report, leaf: X509Certificate, leafDer: Buffer, times: Date[], trust: SigstoreTrust): void {
  const built: Array<{ ca: CertAuthority; path: X509Certificate[] }> = [];
  const leafKey = createHash('sha256').update(leafDer).digest('hex');
  for (const ca of trust.material.certificateAuthorities) {
    const path = leafPath(leaf, leafKey, ca);
    if (path) built.push({ ca, path });
  }
  if (times.length === 0) {
    report.fail('timestamp', 'policy', 'TIMESTAMP_MISSING', 'no trusted time (RFC 3161 timestamp or Rekor v1 SET): the short-lived certificate cannot be checked at its signing time');
  }
  if (built.length === 0) {
    report.fail('cert.chain', 'key', 'CERT_CHAIN_UNTRUSTED', 'the signing certificate does not chain to a trusted CA');
    return;
  }
  if (times.length === 0) return;
  const ok = built.find((b) => times.every((t) => inWindow(b.ca, t) && pathValidAt(b.path, t)));
  if (!ok) {
    const t = times.find((t) => !built.some((b) => inWindow(b.ca, t) && pathValidAt(b.path, t))) ?? times[0]!;
    report.fail('cert.chain', 'policy', 'CERT_OUTSIDE_VALIDITY', `the signing certificate or its CA is not valid at ${t.toISOString()} (certificate ${leaf.notBefore.toISOString()} – ${leaf.notAfter.toISOString()})`);
    return;
  }
  const path = ok.path;
  report.pass('cert.chain', `certificate chains to a trusted CA and is valid at ${times.map((t) => t.toISOString()).join(', ')}`);
  const scts = path.length > 1 ? sctResult(path[0]!, leafKey, path[1]!, trust) : { count: 0 };
  if (scts.error !== undefined) {
    report.fail('cert.sct', 'key', 'SCT_INVALID', `SCT: ${scts.error}`);
    return;
  }
  if (scts.count < 1) report.fail('cert.sct', 'key', 'SCT_MISSING', 'the certificate carries no SCT from a trusted CT log');
  else report.pass('cert.sct', `${scts.count} SCT(s) verified`);
}

function certIssuer(cert: X509Certificate): string | undefined {
  try {
    const v2 = cert.extension(OID_FULCIO_ISSUER_V2);
    if (v2) return v2.valueObj.subs?.[0]?.value.toString('utf8');
    return cert.extension(OID_FULCIO_ISSUER_V1)?.value.toString('utf8');
  } catch {
    return undefined;
  }
}

function checkIdentity(report: Report, cert: X509Certificate, opts: SigstoreOptions): void {
  const { certificateIdentity: id, certificateIdentityRegexp: re, certificateOidcIssuer: iss } = opts;
  if (id === undefined && re === undefined && iss === undefined) {
    report.fail('identity', 'policy', 'IDENTITY_POLICY_MISSING', 'no identity policy: give --certificate-identity (or --certificate-identity-regexp) and --certificate-oidc-issuer');
    return;
  }
  let san: string | undefined;
  try {
    san = cert.subjectAltName;
  } catch {
    san = undefined;
  }
  if (id !== undefined || re !== undefined) {
    let ok: boolean;
    if (id !== undefined) ok = san === id;
    else {
      let rx: RegExp;
      try {
        rx = new RegExp(re!, 'u');
      } catch (e) {
        report.fail('identity', 'input', 'INPUT_INVALID', `--certificate-identity-regexp: ${msg(e)}`);
        return;
      }
      ok = san !== undefined && rx.test(san);
    }
    if (ok) report.pass('identity', `certificate identity ${san}`, { actual: san });
    else report.fail('identity', 'policy', 'IDENTITY_MISMATCH', 'certificate identity (SAN) does not match the policy', { expected: id ?? `/${re}/`, actual: san ?? '(none)' });
  }
  if (iss !== undefined) {
    const got = certIssuer(cert);
    if (got === iss) report.pass('identity.issuer', `OIDC issuer ${got}`, { actual: got });
    else report.fail('identity.issuer', 'policy', 'ISSUER_MISMATCH', 'certificate OIDC issuer does not match the policy', { expected: iss, actual: got ?? '(none)' });
  }
}

/** One tlog entry: trusted log, body, SET (done earlier), checkpoint + inclusion, key validity. */
function checkEntry(report: Report, id: string, entry: TransparencyLogEntry, content: SignedContent, signer: Signer, trust: SigstoreTrust, setTime: Date | undefined, times: Date[]): boolean {
  const logs = tlogsFor(entry, trust.material.tlogs);
  if (logs.length === 0) {
    report.fail(id, 'key', 'TLOG_UNTRUSTED', `log ${entry.logId?.keyId?.toString('base64') ?? '(no id)'} is not in the trusted root`);
    return false;
  }
  const mismatch = bodyMismatch(entry, content, signer);
  if (mismatch) report.fail(`${id}.body`, 'integrity', 'TLOG_BODY_MISMATCH', mismatch);
  else report.pass(`${id}.body`, `${entry.kindVersion?.kind}/${entry.kindVersion?.version} entry records this bundle`);
  let included = !!setTime;
  if (entry.inclusionProof) {
    included = checkInclusion(report, id, entry, logs) && (included || !entry.inclusionPromise);
    // the log key must be trusted at the entry's time: its integrated time (v1) or each trusted timestamp (v2)
    const at = setTime ? [setTime] : Number(entry.integratedTime) > 0 ? [new Date(Number(entry.integratedTime) * 1000)] : times;
    const outside = at.find((t) => !logs.some((l) => validAt(l, t)));
    if (outside) {
      report.fail(`${id}.validity`, 'policy', 'TLOG_KEY_OUTSIDE_VALIDITY', `the log key is not trusted at ${outside.toISOString()}`);
      included = false;
    }
  } else if (!entry.inclusionPromise) {
    report.fail(`${id}.inclusion`, 'integrity', 'TLOG_INCLUSION_MISSING', 'the entry has neither an inclusion proof nor an inclusion promise');
  }
  return included && !mismatch;
}
