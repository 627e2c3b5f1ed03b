/**
 * POST /v1/verify with a Sigstore bundle (issue #21): the CLI's --artifact, --trusted-root, --key and
 * --certificate-* options as JSON fields (artifacts[].base64, trusted_root, keys, certificate_*), same report model
 * and exit codes as `evident verify`. The trusted root is inline JSON only: no server path is ever read.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { withService } from './service-env.ts';
import { conformanceCases, DEFAULT_IDENTITY, DEFAULT_ISSUER } from './sigstore-cases.ts';

const cases = conformanceCases();
const byName = (n: string) => cases.find((c) => c.name === n)!;

test('POST /v1/verify: Sigstore bundles with trusted_root, artifacts, identity policy and keys', async () => {
  await withService(undefined, 'evident-sigstore-srv-', {}, async (s) => {
    const post = (body: unknown) => fetch(s.url + '/v1/verify', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const report = async (body: unknown) => {
      const res = await post(body);
      assert.equal(res.status, 200, await res.clone().text());
      return (await res.json()) as { valid: boolean; exitCode: number; format: string; checks: Array<{ id: string; ok: boolean; code: string }> };
    };
    const c = byName('rekor2-happy-path');
    const base = {
      artifact: JSON.parse(c.bundle.toString('utf8')),
      trusted_root: c.trustedRoot,
      artifacts: [{ name: 'a.txt', base64: fs.readFileSync(c.artifactPath).toString('base64') }],
      certificate_identity: DEFAULT_IDENTITY,
      certificate_oidc_issuer: DEFAULT_ISSUER,
    };
    let r = await report(base);
    assert.deepEqual([r.format, r.valid, r.exitCode], ['sigstore.bundle', true, 0]);
    assert.ok(r.checks.some((x) => x.id === 'tlog[0].checkpoint' && x.ok));
    // the same bytes as artifact_base64
    const { artifact: _a, ...rest } = base;
    r = await report({ ...rest, artifact_base64: c.bundle.toString('base64') });
    assert.equal(r.exitCode, 0);
    r = await report({ ...base, certificate_identity: undefined, certificate_identity_regexp: '^https://github\\.com/sigstore-conformance/' });
    assert.equal(r.exitCode, 0);
    r = await report({ ...base, certificate_identity: 'someone@example.com' });
    assert.deepEqual([r.exitCode, r.checks.filter((x) => !x.ok).map((x) => x.code)], [1, ['IDENTITY_MISMATCH']]);
    r = await report({ ...base, artifacts: [{ name: 'x', base64: Buffer.from('other').toString('base64') }] });
    assert.equal(r.exitCode, 2);
    r = await report({ ...base, trusted_root: undefined });
    assert.deepEqual([r.exitCode, r.checks.filter((x) => !x.ok).map((x) => x.code)], [4, ['TRUST_ROOT_MISSING']]);
    // a conformance _fail case answers its CLI verdict
    const bad = byName('rekor2-timestamp-payload-mismatch_fail');
    r = await report({ ...base, artifact: JSON.parse(bad.bundle.toString('utf8')), trusted_root: bad.trustedRoot });
    assert.equal(r.exitCode, 2);
    // managed key, inline PEM
    const mk = byName('managed-key-and-trusted-root');
    r = await report({ artifact: JSON.parse(mk.bundle.toString('utf8')), trusted_root: mk.trustedRoot, keys: [fs.readFileSync(mk.keyPath!, 'utf8')], artifacts: base.artifacts });
    assert.deepEqual([r.valid, r.exitCode], [true, 0]);
    // inline only: a path as trusted root, a path as key, bad base64 artifacts are refused
    assert.equal((await post({ ...base, trusted_root: c.trustedRootPath })).status, 400);
    assert.equal((await post({ ...base, keys: [mk.keyPath] })).status, 400);
    assert.equal((await post({ ...base, artifacts: [{ base64: 'not base64!' }] })).status, 400);
  });
});
