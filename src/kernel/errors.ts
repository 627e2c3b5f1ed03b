/**
 * Typed errors. Every failure the kernel raises carries a stable `code` so that surfaces (CLI, service, reports)
 * can map it without parsing messages. Style after panva/jose: one class, a code per cause.
 */
export type EvidentErrorCode =
  // JSON parsing / canonicalisation
  | 'JSON_SYNTAX'
  | 'JSON_DUPLICATE_KEY'
  | 'JSON_LONE_SURROGATE'
  | 'JSON_TOO_DEEP'
  | 'JSON_TOO_LARGE'
  | 'JSON_BAD_UTF8'
  | 'JSON_NOT_CANONICALIZABLE'
  // encodings
  | 'HEX_INVALID'
  | 'BASE64_INVALID'
  | 'DIGEST_INVALID'
  // keys and signatures
  | 'KEY_INVALID'
  | 'KEY_UNSUPPORTED'
  | 'KEY_NOT_FOUND'
  | 'KEY_UNTRUSTED'
  | 'KEY_REVOKED'
  | 'KEY_EXPIRED'
  | 'SIGNATURE_INVALID'
  | 'SIGNATURE_MISSING'
  | 'DSSE_INVALID'
  | 'NOTE_INVALID'
  | 'TRUST_STORE_INVALID'
  // generic
  | 'INPUT_INVALID'
  | 'IO_ERROR';

export class EvidentError extends Error {
  readonly code: EvidentErrorCode | string;
  constructor(code: EvidentErrorCode | string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EvidentError';
    this.code = code;
  }
}

export function isEvidentError(e: unknown): e is EvidentError {
  return e instanceof EvidentError;
}
