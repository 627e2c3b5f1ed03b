/**
 * The kernel's crypto port: hashing, HMAC, key import and signature verification, with the names and the
 * semantics of node:crypto. Every module on a verification path imports crypto from here, never from node:crypto,
 * so the same profiles and report model run in Node (./node.ts: node:crypto) and in the browser verifier page
 * (./browser.ts: WebCrypto randomness, @noble/hashes, @noble/curves and BigInt RSA; synchronous, as the
 * verification paths are). The page build swaps ./node.ts for ./browser.ts; nothing else differs.
 */
export * from './node.ts';
