/**
 * TSA key rotation and the trusted root's validity windows (src/tsa/store.ts, src/receipts/trusted-root.ts): after
 * rotateTsa a receipt timestamped by the retired TSA key still verifies with @sigstore/verify against the new
 * trusted root (its window is kept, ending at the rotation), a timestamp the retired key would make after its window
 * does not, and the new key's receipts verify. Library level, no service.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { Verifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';
import { openLog } from '../src/log/index.ts';
import { noteSigner } from '../src/kernel/note.ts';
import { keyId } from '../src/kernel/keys.ts';
import { openTsaStore, rotateTsa } from '../src/tsa/store.ts';
import { issueReceiptV2, type Timestamper } from '../src/receipts/receipt-v2.ts';
import { toSigstoreBundle } from '../src/receipts/sigstore-export.ts';
import { buildTrustedRoot } from '../src/receipts/trusted-root.ts';

test('TSA rotation: old timestamps keep verifying inside their window, not after it', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-tsarot-'));
  const origin = 'rot.example/log';
  const logKey = generateKeyPairSync('ed25519').privateKey;
  const log = await openLog({ db: 'sqlite::memory:', origin, signer: noteSigner(origin, logKey), batchMs: 0 });
  try {
    const v2log = { origin, append: (d: Uint8Array) => log.append(d), tlogProof: log.tlogProof.bind(log), storage: log.storage, publicKey: createPublicKey(logKey) };
    const issuer = generateKeyPairSync('ed25519').privateKey;
    const kid = keyId(createPublicKey(issuer));
    const issue = async (timestamp: Timestamper) =>
      toSigstoreBundle((await issueReceiptV2(v2log, { privateKey: issuer, kid }, { format: 'dsse', payloadType: 'text/plain', payload: new TextEncoder().encode('x') }, { timestamp })).receipt);
    const verifyWith = (root: Record<string, unknown>, bundle: unknown) =>
      new Verifier(toTrustMaterial(TrustedRoot.fromJSON(root), () => ({ publicKey: createPublicKey(issuer), validFor: () => true }))).verify(toSignedEntity(bundleFromJSON(bundle)));
    const rootOf = (tsas: Awaited<ReturnType<typeof openTsaStore>>['authorities']) => buildTrustedRoot({ logs: [{ origin, publicKey: createPublicKey(logKey), validFrom: '2020-01-01T00:00:00Z' }], tsas });

    const t0 = new Date(Date.now() - 3600_000);
    const first = await openTsaStore(path.join(dir, 'tsa'), t0);
    assert.equal((await openTsaStore(path.join(dir, 'tsa'))).authorities.length, 1, 'reopening keeps the one key');
    const before = await issue((sig) => first.active.stamp(sig, new Date(t0.getTime() + 60_000)));

    const rotatedAt = new Date(Date.now() - 1800_000);
    const second = await rotateTsa(path.join(dir, 'tsa'), rotatedAt);
    assert.equal(second.authorities.length, 2);
    assert.equal(second.authorities[0]!.validTo, rotatedAt.toISOString(), 'the retired key window ends at the rotation');
    assert.equal(second.authorities[1]!.validTo, undefined);
    const root = rootOf(second.authorities);
    const tr = root as { timestampAuthorities: Array<{ validFor: { start: string; end?: string } }> };
    assert.equal(tr.timestampAuthorities[0]!.validFor.end, rotatedAt.toISOString());

    verifyWith(root, before); // retired key, inside its window
    const after = await issue((sig) => second.active.stamp(sig));
    verifyWith(root, after); // new key
    // the retired key signing after its window: refused by the trusted root's window
    const late = await issue((sig) => first.active.stamp(sig));
    assert.throws(() => verifyWith(root, late), /timestamp/i);
    // a root that forgot the retired chain no longer verifies the old receipt
    assert.throws(() => verifyWith(rootOf([second.authorities[1]!]), before), /timestamp/i);
    // the files: one directory per key, private keys 0600
    const sub = fs.readdirSync(path.join(dir, 'tsa')).filter((n) => n !== 'tsa.json');
    assert.equal(sub.length, 2);
    for (const d of sub) assert.equal(fs.statSync(path.join(dir, 'tsa', d, 'private.pem')).mode & 0o777, 0o600);
  } finally {
    await log.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
