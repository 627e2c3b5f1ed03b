/**
 * Key files on disk: PEM / JWK public and private keys, trust store files, generated key directories.
 * Parsing lives in `kernel/keys.ts` and `kernel/truststore.ts`; this module only does I/O and error mapping.
 * File errors → EvidentError IO_ERROR; unparsable keys → KEY_INVALID / KEY_UNSUPPORTED; bad stores →
 * TRUST_STORE_INVALID.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { KeyObject } from 'node:crypto';
import { EvidentError } from '../kernel/errors.ts';
import {
  generateKeyPair,
  importPrivateKey,
  importPublicKey,
  keyId,
  privateKeyPem,
  publicKeyJwk,
  publicKeyPem,
  JOSE_ALG,
  algOfKey,
  type SigAlg,
} from '../kernel/keys.ts';
import { TrustStore } from '../kernel/truststore.ts';
import { writeFileAtomic, writeFileExclusive } from './atomic.ts';

const MAX_KEY_FILE = 1024 * 1024;
const MAX_TRUST_FILE = 16 * 1024 * 1024;

function ioError(what: string, file: string, e: unknown): EvidentError {
  const code = (e as NodeJS.ErrnoException)?.code;
  const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (code ?? (e as Error)?.message);
  return new EvidentError('IO_ERROR', `cannot read ${what} ${file}: ${why}`, { cause: e });
}

/** Read a small text file (bounded), mapping errors to IO_ERROR. */
export function readKeyText(file: string, what = 'key file', max = MAX_KEY_FILE): string {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    throw ioError(what, file, e);
  }
  if (st.isDirectory()) throw new EvidentError('IO_ERROR', `cannot read ${what} ${file}: is a directory`);
  if (st.size > max) throw new EvidentError('KEY_INVALID', `${what} ${file} is too large (${st.size} bytes)`);
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw ioError(what, file, e);
  }
}

function isInlineKey(s: string): boolean {
  return s.includes('-----BEGIN ') || s.trimStart().startsWith('{');
}

function withSource<T>(src: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof EvidentError) throw new EvidentError(e.code, `${src}: ${e.message}`, { cause: e });
    throw e;
  }
}

/**
 * Load a public key from a file path or an inline PEM/JWK string. The file may hold an SPKI PEM, a PKCS#1 RSA
 * public PEM, a JWK (JSON), or a private key (PEM/JWK) whose public half is returned.
 */
export function loadPublicKey(pathOrPem: string, hint?: SigAlg): KeyObject {
  if (typeof pathOrPem !== 'string' || pathOrPem.length === 0) throw new EvidentError('KEY_INVALID', 'no key given');
  if (isInlineKey(pathOrPem)) return withSource('inline key', () => importPublicKey(pathOrPem, hint));
  const text = readKeyText(pathOrPem);
  return withSource(pathOrPem, () => importPublicKey(text, hint));
}

/** Load a private key file: PKCS#8 / PKCS#1 / SEC1 PEM, or a JWK with "d". */
export function loadPrivateKey(file: string, hint?: SigAlg): KeyObject {
  const text = readKeyText(file, 'private key file');
  return withSource(file, () => importPrivateKey(text, hint));
}

/** Load and validate a trust store file. */
export function loadTrustStore(file: string): TrustStore {
  const text = readKeyText(file, 'trust store', MAX_TRUST_FILE);
  return withSource(file, () => TrustStore.parse(text));
}

/** Write a trust store atomically (pretty JSON, trailing newline). */
export function saveTrustStore(file: string, store: TrustStore): void {
  try {
    writeFileAtomic(file, store.serialize(), 0o644);
  } catch (e) {
    throw new EvidentError('IO_ERROR', `cannot write trust store ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
}

/** Write a private key as PKCS#8 PEM, mode 0600, atomically. */
export function writePrivateKeyPem(file: string, key: KeyObject, opts: { exclusive?: boolean } = {}): void {
  const pem = privateKeyPem(key);
  try {
    if (opts.exclusive) writeFileExclusive(file, pem, 0o600);
    else writeFileAtomic(file, pem, 0o600);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new EvidentError('OUTPUT_EXISTS', `${file} already exists (use --force to overwrite)`, { cause: e });
    throw new EvidentError('IO_ERROR', `cannot write private key ${file}: ${code ?? (e as Error).message}`, { cause: e });
  }
}

export interface KeyDir {
  kid: string;
  alg: SigAlg;
  privatePath: string;
  publicPath: string;
  jwkPath: string;
}

export const KEY_DIR_FILES = { private: 'private.pem', public: 'public.pem', jwk: 'public.jwk' } as const;

/**
 * Generate a key pair into `dir` (created 0700 if missing): private.pem (PKCS#8, 0600), public.pem (SPKI),
 * public.jwk (with kid = RFC 7638 "sha256:" id, alg, use "sig"). Refuses to overwrite existing key files unless
 * `force` (OUTPUT_EXISTS, an input error).
 */
export function writeKeyDir(dir: string, alg: SigAlg, opts: { force?: boolean } = {}): KeyDir {
  const privatePath = path.join(dir, KEY_DIR_FILES.private);
  const publicPath = path.join(dir, KEY_DIR_FILES.public);
  const jwkPath = path.join(dir, KEY_DIR_FILES.jwk);
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new EvidentError('IO_ERROR', `cannot create key directory ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  if (!opts.force) {
    for (const p of [privatePath, publicPath, jwkPath]) {
      if (fs.existsSync(p)) throw new EvidentError('OUTPUT_EXISTS', `${p} already exists (use --force to overwrite)`);
    }
  }
  const { privateKey, publicKey } = generateKeyPair(alg);
  const kid = keyId(publicKey, 'jwk');
  // without --force the private key is created exclusively: of two processes creating the same key directory at
  // once, exactly one key wins and the other gets OUTPUT_EXISTS (it can then load the winner's key)
  writePrivateKeyPem(privatePath, privateKey, { exclusive: !opts.force });
  try {
    writeFileAtomic(publicPath, publicKeyPem(publicKey), 0o644);
    const jwk = publicKeyJwk(publicKey, { kid, alg: JOSE_ALG[algOfKey(publicKey)], use: 'sig' });
    writeFileAtomic(jwkPath, JSON.stringify(jwk, null, 2) + '\n', 0o644);
  } catch (e) {
    throw new EvidentError('IO_ERROR', `cannot write public key files in ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  return { kid, alg, privatePath, publicPath, jwkPath };
}
