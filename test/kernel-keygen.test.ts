/**
 * Key generation never hangs. Node 20's generateKeyPairSync returns KeyObjects sharing a lock with their
 * key-generation job, and a JWK export holds that lock while allocating: a garbage collection that finalises the
 * job then deadlocks the process. `evident keys generate` hung so in about 1 run of 20 under load (CI, corpus
 * builds). The kernel re-imports generated keys from DER (src/kernel/keys.ts). This test drives the pattern that
 * hung — generate, then JWK-based key ids — thousands of times in a child process with a deadline. Without the fix
 * the hang is timing-dependent (seen within 4,000 iterations in some runs, not within 200,000 in others), so this
 * catches a regression often, not always; with the fix it must always finish.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

const ROOT = path.resolve(import.meta.dirname, '..');

test('generateKeyPair + JWK key ids in a loop: no deadlock (child process, deadline)', { timeout: 120_000 }, () => {
  const script = `
    import { generateKeyPair, keyId, publicKeyJwk } from ${JSON.stringify(path.join(ROOT, 'src/kernel/keys.ts'))};
    let n = 0;
    for (let i = 0; i < 6000; i++) {
      const { privateKey, publicKey } = generateKeyPair(i % 3 === 0 ? 'ed25519' : 'es256');
      keyId(publicKey, 'jwk');
      publicKeyJwk(privateKey);
      n++;
    }
    process.stdout.write(String(n));
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 90_000 });
  assert.equal(r.signal, null, `key generation hung (killed by ${r.signal}); stderr: ${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '6000');
});
