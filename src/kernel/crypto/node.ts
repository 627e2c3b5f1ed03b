/**
 * The Node implementation of the kernel's crypto port: node:crypto itself (OpenSSL), so Node hot paths pay
 * nothing for the port. The browser build (scripts/build-page.mjs) resolves this module to ./browser.ts instead,
 * which implements the same names for the subset of arguments the kernel and the profiles use.
 */
export {
  X509Certificate,
  constants,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  timingSafeEqual,
  verify,
} from 'node:crypto';
export type { JsonWebKey, KeyObject } from 'node:crypto';
import * as nodeCrypto from 'node:crypto';

/** One-shot `crypto.hash` (Node >= 20.12; about twice as fast as createHash for small inputs), else undefined. */
export const hash = (nodeCrypto as unknown as { hash?: (alg: string, data: Uint8Array | string, enc: string) => string | Buffer }).hash;
