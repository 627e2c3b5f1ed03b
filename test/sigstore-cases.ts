/**
 * The sigstore-conformance bundle-verify cases (../shared/vectors/sigstore-conformance, suite commit a73de49) and
 * the options the suite's runner gives each one: `artifact` (default ../a.txt), `key.pub` → --key (then no
 * identity policy), else identity / issuer (defaults: the beacon workflow, GitHub Actions' issuer), and
 * `trusted_root.json` (default: the public-good production root).
 */
import fs from 'node:fs';
import path from 'node:path';

export const SIGSTORE_VECTORS = path.resolve(import.meta.dirname, '../../shared/vectors/sigstore-conformance');
export const CASES_DIR = path.join(SIGSTORE_VECTORS, 'bundle-verify');
export const PUBLIC_GOOD_ROOT = path.join(SIGSTORE_VECTORS, 'trusted_root.public-good.json');
export const DEFAULT_IDENTITY = 'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
export const DEFAULT_ISSUER = 'https://token.actions.githubusercontent.com';

export interface ConformanceCase {
  name: string;
  dir: string;
  shouldFail: boolean;
  bundlePath: string;
  bundle: Buffer;
  artifactPath: string;
  trustedRootPath: string;
  trustedRootText: string;
  trustedRoot: unknown;
  keyPath?: string;
  identity?: string;
  issuer?: string;
  /** VerifyOptions fields (besides mode) as the runner passes them. */
  options: { trustedRoot: string; keys?: string[]; artifacts: Array<{ name: string; bytes: Uint8Array }>; certificateIdentity?: string; certificateOidcIssuer?: string };
  /** CLI arguments after `verify`. */
  args: string[];
}

export function conformanceCases(): ConformanceCase[] {
  return fs
    .readdirSync(CASES_DIR)
    .filter((d) => fs.statSync(path.join(CASES_DIR, d)).isDirectory())
    .sort()
    .map((name) => {
      const dir = path.join(CASES_DIR, name);
      const has = (f: string) => fs.existsSync(path.join(dir, f));
      const read = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8').trim();
      const bundlePath = path.join(dir, 'bundle.sigstore.json');
      const artifactPath = has('artifact') ? path.join(dir, 'artifact') : path.join(CASES_DIR, 'a.txt');
      const trustedRootPath = has('trusted_root.json') ? path.join(dir, 'trusted_root.json') : PUBLIC_GOOD_ROOT;
      const trustedRootText = fs.readFileSync(trustedRootPath, 'utf8');
      const keyPath = has('key.pub') ? path.join(dir, 'key.pub') : undefined;
      const identity = keyPath ? undefined : has('identity') ? read('identity') : DEFAULT_IDENTITY;
      const issuer = keyPath ? undefined : has('issuer') ? read('issuer') : DEFAULT_ISSUER;
      const args = [bundlePath, '--artifact', artifactPath, '--trusted-root', trustedRootPath];
      if (keyPath) args.push('--key', keyPath);
      else args.push('--certificate-identity', identity!, '--certificate-oidc-issuer', issuer!);
      return {
        name,
        dir,
        shouldFail: name.endsWith('_fail'),
        bundlePath,
        bundle: fs.readFileSync(bundlePath),
        artifactPath,
        trustedRootPath,
        trustedRootText,
        trustedRoot: JSON.parse(trustedRootText),
        keyPath,
        identity,
        issuer,
        options: {
          trustedRoot: trustedRootPath,
          keys: keyPath ? [keyPath] : undefined,
          artifacts: [{ name: path.basename(artifactPath), bytes: fs.readFileSync(artifactPath) }],
          certificateIdentity: identity,
          certificateOidcIssuer: issuer,
        },
        args,
      };
    });
}
