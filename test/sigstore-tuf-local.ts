/**
 * A minimal signed TUF repository (spec 1.0: root, timestamp, snapshot, targets; one Ed25519 key for every role)
 * whose only target is a given trusted_root.json, written straight into a sigstore-js TUF cache directory. With
 * `tufForceCache: true`, sigstore@4's own `verify(bundle, options)` then loads that trusted root offline, through
 * its full TUF client (signatures, versions, expiry, target length and hash checked by tuf-js) — the way a private
 * Sigstore deployment distributes its root, with no network.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { canonicalBytes } from '../src/kernel/json/index.ts';

export const LOCAL_TUF_MIRROR = 'https://tuf.evident.invalid';

/** Returns the sigstore `verify` options that read `trustedRootJson` from a fresh cache under `dir`. */
export function localTufOptions(dir: string, trustedRootJson: string): { tufMirrorURL: string; tufRootPath: string; tufCachePath: string; tufForceCache: true } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pubHex = Buffer.from((publicKey.export({ format: 'der', type: 'spki' }) as Buffer).subarray(12)).toString('hex');
  const key = { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: pubHex } };
  const keyid = createHash('sha256').update(canonicalBytes(key)).digest('hex');
  const expires = new Date(Date.now() + 7 * 86400_000).toISOString().replace(/\.\d+Z$/, 'Z');
  const role = { keyids: [keyid], threshold: 1 };
  const signed = (s: Record<string, unknown>) => JSON.stringify({ signed: s, signatures: [{ keyid, sig: sign(null, canonicalBytes(s), privateKey).toString('hex') }] });
  const base = { spec_version: '1.0.31', version: 1, expires };
  const target = Buffer.from(trustedRootJson, 'utf8');

  const url = new URL(LOCAL_TUF_MIRROR);
  const cache = path.join(dir, 'tuf-cache');
  const repo = path.join(cache, encodeURIComponent(url.host + url.pathname.replace(/\/$/, '')));
  fs.mkdirSync(path.join(repo, 'targets'), { recursive: true });
  const root = signed({ _type: 'root', ...base, consistent_snapshot: false, keys: { [keyid]: key }, roles: { root: role, timestamp: role, snapshot: role, targets: role } });
  fs.writeFileSync(path.join(dir, 'root.json'), root);
  fs.writeFileSync(path.join(repo, 'root.json'), root);
  fs.writeFileSync(path.join(repo, 'targets.json'), signed({ _type: 'targets', ...base, targets: { 'trusted_root.json': { length: target.length, hashes: { sha256: createHash('sha256').update(target).digest('hex') } } } }));
  fs.writeFileSync(path.join(repo, 'snapshot.json'), signed({ _type: 'snapshot', ...base, meta: { 'targets.json': { version: 1 } } }));
  fs.writeFileSync(path.join(repo, 'timestamp.json'), signed({ _type: 'timestamp', ...base, meta: { 'snapshot.json': { version: 1 } } }));
  fs.writeFileSync(path.join(repo, 'targets', 'trusted_root.json'), target);
  return { tufMirrorURL: LOCAL_TUF_MIRROR, tufRootPath: path.join(dir, 'root.json'), tufCachePath: cache, tufForceCache: true };
}
