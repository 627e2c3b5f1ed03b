/**
 * The issuing CA and CT log keys beside the other service keys (`<data-dir>/keys/ca/`), created on first start:
 *
 *   ca.json            {"version":1,"valid_from","ct_valid_from"}  (the trusted root's validFor windows)
 *   ca-private.pem     the CA key (ECDSA P-256, PKCS#8, 0600); ca.pem: the self-signed CA certificate
 *   ct-private.pem     the CT log key (ECDSA P-256, PKCS#8, 0600); ct-public.pem
 *   issued/<kid>.pem   (kid e.g. sha256:<hex>) the signer certificate of each service key, issued on its first receipt
 *
 * The directory is built under a temporary name and renamed into place, so instances starting together end up with
 * one CA. A certificate is issued once per key (per process: concurrent requests share one issuance; across
 * instances the issued/<kid>.pem file is written exclusively and the loser uses the winner's). Every issued
 * certificate is first appended to the transparency log (ca.ts ctLogEntry): its SCT's promise of inclusion holds.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes, type KeyObject } from 'node:crypto';
import { EvidentError } from '../kernel/errors.ts';
import { writeFileAtomic, writeFileExclusive } from '../store/atomic.ts';
import { loadPrivateKey, loadPublicKey, readKeyText, writePrivateKeyPem } from '../store/keyfiles.ts';
import { publicKeyPem, spkiDer, toPublicKey } from '../kernel/keys.ts';
import { certificatePem, parseCertificate, parseCertificatePems } from '../tsa/tsa.ts';
import { createCaRoot, createCtKey, ctLogEntry, ctLogId, issueSignerCertificate, type SignerIdentity } from './ca.ts';
import type { TrustedRootCa, TrustedRootCtlog } from '../receipts/trusted-root.ts';

export interface CaStore {
  /** The CA certificate (DER) and its window, for the trusted root. */
  authorities: TrustedRootCa[];
  ctlogs: TrustedRootCtlog[];
  /**
   * The signer certificate of a service key: loaded from issued/<kid>.pem, or issued now (its log entry appended
   * with `append` first). `keyCreatedAt` starts the certificate's validity (no earlier than the CA's).
   */
  certificateFor(kid: string, publicKey: KeyObject, keyCreatedAt: string, identity: SignerIdentity, append: (entry: Uint8Array) => Promise<unknown>): Promise<Uint8Array>;
}

const KID_RE = /^[A-Za-z0-9_:-]{1,128}$/;

/** The signer identity of a service key in a deployment: SAN https://<origin>/keys/<kid>, issuer https://<origin>. */
export function signerIdentity(baseUrl: string, kid: string): SignerIdentity {
  return { san: `${baseUrl.replace(/\/$/, '')}/keys/${kid}`, issuer: baseUrl.replace(/\/$/, '') };
}

async function create(dir: string, now: Date): Promise<void> {
  const tmp = `${dir}.tmp-${randomBytes(4).toString('hex')}`;
  fs.mkdirSync(path.join(tmp, 'issued'), { recursive: true, mode: 0o700 });
  try {
    const root = await createCaRoot({ now });
    const ct = createCtKey();
    writePrivateKeyPem(path.join(tmp, 'ca-private.pem'), root.key, { exclusive: true });
    writeFileAtomic(path.join(tmp, 'ca.pem'), certificatePem(root.cert), 0o644);
    writePrivateKeyPem(path.join(tmp, 'ct-private.pem'), ct, { exclusive: true });
    writeFileAtomic(path.join(tmp, 'ct-public.pem'), publicKeyPem(toPublicKey(ct)), 0o644);
    const from = parseCertificate(root.cert).notBefore.value.toISOString();
    writeFileAtomic(path.join(tmp, 'ca.json'), JSON.stringify({ version: 1, valid_from: from, ct_valid_from: from }, null, 2) + '\n', 0o644);
    fs.renameSync(tmp, dir);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    // another instance sharing the data directory created it first: use theirs
    if (!fs.existsSync(path.join(dir, 'ca.json'))) throw e;
  }
}

/** Open (creating on first use) the CA in `dir` (e.g. <data-dir>/keys/ca). `create: false` only reads. */
export async function openCaStore(dir: string, opts: { now?: Date; create?: boolean } = {}): Promise<CaStore> {
  if (!fs.existsSync(path.join(dir, 'ca.json'))) {
    if (opts.create === false) throw new EvidentError('IO_ERROR', `no CA in ${dir}: start the service once`);
    fs.mkdirSync(path.dirname(dir), { recursive: true, mode: 0o700 });
    await create(dir, opts.now ?? new Date());
  }
  let meta: { version?: unknown; valid_from?: unknown; ct_valid_from?: unknown };
  try {
    meta = JSON.parse(readKeyText(path.join(dir, 'ca.json'), 'CA metadata'));
  } catch (e) {
    if (e instanceof EvidentError) throw e;
    throw new EvidentError('KEY_INVALID', `${path.join(dir, 'ca.json')}: not JSON`);
  }
  if (meta?.version !== 1 || typeof meta.valid_from !== 'string' || typeof meta.ct_valid_from !== 'string') throw new EvidentError('KEY_INVALID', `${path.join(dir, 'ca.json')}: expected {"version":1,"valid_from","ct_valid_from"}`);
  const caCert = parseCertificatePems(readKeyText(path.join(dir, 'ca.pem'), 'CA certificate'))[0];
  if (!caCert) throw new EvidentError('KEY_INVALID', `${path.join(dir, 'ca.pem')}: no certificate`);
  const ctPub = loadPublicKey(path.join(dir, 'ct-public.pem'));
  const caNotAfter = parseCertificate(caCert).notAfter.value;
  const validFrom = meta.valid_from;
  let keys: { ca: KeyObject; ct: KeyObject } | undefined;
  const cache = new Map<string, Promise<Uint8Array>>();

  async function issue(kid: string, publicKey: KeyObject, keyCreatedAt: string, identity: SignerIdentity, append: (entry: Uint8Array) => Promise<unknown>): Promise<Uint8Array> {
    const file = path.join(dir, 'issued', `${kid}.pem`);
    const existing = () => {
      const c = fs.existsSync(file) ? parseCertificatePems(readKeyText(file, 'signer certificate'))[0] : undefined;
      if (c && !Buffer.from(parseCertificate(c).subjectPublicKeyInfo.toSchema().toBER(false)).equals(spkiDer(toPublicKey(publicKey)))) throw new EvidentError('KEY_INVALID', `${file}: the certificate is not for key ${kid}`);
      return c;
    };
    const have = existing();
    if (have) return have;
    keys ??= { ca: loadPrivateKey(path.join(dir, 'ca-private.pem')), ct: loadPrivateKey(path.join(dir, 'ct-private.pem')) };
    const created = Date.parse(keyCreatedAt);
    const notBefore = new Date(Math.max(Number.isFinite(created) ? created - 60_000 : 0, Date.parse(validFrom)));
    const issued = await issueSignerCertificate({ caKey: keys.ca, caCert, ctKey: keys.ct, subjectSpki: spkiDer(toPublicKey(publicKey)), identity, notBefore, notAfter: caNotAfter });
    await append(ctLogEntry(issued, ctLogId(keys.ct)));
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      writeFileExclusive(file, certificatePem(issued.cert), 0o644);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return existing()!; // another instance issued one first (also logged); use theirs
      // logged but not saved (a full or read-only disk): valid all the same; this process keeps it, a restart issues another
      process.emitWarning(`${file}: the issued certificate was not saved: ${(e as Error).message}`, { code: 'EVIDENT_CA' });
    }
    return issued.cert;
  }

  return {
    authorities: [{ chain: [caCert], validFrom }],
    ctlogs: [{ publicKey: ctPub, validFrom: meta.ct_valid_from }],
    certificateFor(kid, publicKey, keyCreatedAt, identity, append) {
      if (!KID_RE.test(kid)) return Promise.reject(new EvidentError('KEY_INVALID', `key id ${JSON.stringify(kid)} cannot name a certificate`));
      let p = cache.get(kid);
      if (!p) {
        p = issue(kid, publicKey, keyCreatedAt, identity, append);
        cache.set(kid, p);
        p.catch(() => cache.delete(kid));
      }
      return p;
    },
  };
}
