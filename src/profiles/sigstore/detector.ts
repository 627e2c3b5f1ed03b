/**
 * Detector for Sigstore bundles (`sigstore.bundle`): a JSON object whose mediaType is a Sigstore bundle media type
 * (`application/vnd.dev.sigstore.bundle+json;version=0.1|0.2|0.3`, `application/vnd.dev.sigstore.bundle.v0.3+json`;
 * unknown versions are detected too, so they fail as BUNDLE_VERSION_UNSUPPORTED rather than FORMAT_UNKNOWN).
 * Registered before the generic DSSE/kernel detectors: a bundle carries a dsseEnvelope but is not one.
 */
import type { Detector, VerifyInput, VerifyOptions } from '../../verify/input.ts';
import { toPlain } from '../../kernel/json/index.ts';

// Detection is cheap and loads nothing: the verifier and the @sigstore libraries load only when a bundle is
// verified (they cost ~100 ms of CLI start-up for every other format otherwise).
const SIGSTORE_FORMAT = 'sigstore.bundle';
const BUNDLE_MEDIA_TYPE_PREFIX = 'application/vnd.dev.sigstore.bundle';

function isBundle(input: VerifyInput): boolean {
  const j = input.json;
  if (typeof j !== 'object' || j === null || Array.isArray(j)) return false;
  const mt = Object.hasOwn(j, 'mediaType') ? (j as Record<string, unknown>).mediaType : undefined;
  return typeof mt === 'string' && mt.startsWith(BUNDLE_MEDIA_TYPE_PREFIX);
}

export const sigstoreDetector: Detector = {
  format: SIGSTORE_FORMAT,
  detect: isBundle,
  async verify(input: VerifyInput, opts: VerifyOptions) {
    const { verifySigstoreBundle } = await import('./verify.ts');
    return verifySigstoreBundle(input.json === undefined ? undefined : toPlain(input.json), {
      mode: opts.mode,
      trustedRoot: opts.trustedRoot,
      keys: opts.keys,
      artifacts: opts.artifacts,
      certificateIdentity: opts.certificateIdentity as string | undefined,
      certificateIdentityRegexp: opts.certificateIdentityRegexp as string | undefined,
      certificateOidcIssuer: opts.certificateOidcIssuer as string | undefined,
      now: opts.now,
    });
  },
};

export const detectors: Detector[] = [sigstoreDetector];
