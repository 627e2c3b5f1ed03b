/**
 * Rekor v2 entry bodies (src/receipts/rekor-v2.ts) against @sigstore/verify: a hashedrekord 0.0.2 body for a
 * signature over an artifact (ES256, RS256), logged in an Evident log with its TSA timestamp, verifies as a
 * message-signature Sigstore bundle with the artifact — and fails with another artifact or a body naming another
 * digest. The dsse 0.0.2 body is canonical JSON and checkDsseEntryBody catches every mismatch.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { Verifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';
import { openLog, parseCheckpoint, parseTlogProof } from '../src/log/index.ts';
import { noteSigner, parseNote } from '../src/kernel/note.ts';
import { createTsaChain, TimestampAuthority } from '../src/tsa/tsa.ts';
import { buildTrustedRoot } from '../src/receipts/trusted-root.ts';
import { logKeyId } from '../src/receipts/receipt-v2.ts';
import { checkDsseEntryBody, dsseEntryBody, hashedRekordEntryBody } from '../src/receipts/rekor-v2.ts';
import { signDsse } from '../src/kernel/dsse.ts';
import { canonicalBytes } from '../src/kernel/json/index.ts';

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

test('hashedrekord 0.0.2 bodies verify as Sigstore message-signature bundles', async () => {
  const origin = 'hr.example/log';
  const logKey = generateKeyPairSync('ed25519').privateKey;
  const log = await openLog({ db: 'sqlite::memory:', origin, signer: noteSigner(origin, logKey), batchMs: 0 });
  const c = await createTsaChain();
  const tsa = new TimestampAuthority(c.leafKey, [c.leaf, c.root]);
  const root = TrustedRoot.fromJSON(buildTrustedRoot({ logs: [{ origin, publicKey: createPublicKey(logKey), validFrom: '2020-01-01T00:00:00Z' }], tsas: [{ chain: [c.leaf, c.root], validFrom: '2020-01-01T00:00:00Z' }] }));
  try {
    const bundleFor = async (key: KeyObject, artifact: Uint8Array, bodyDigest?: Uint8Array) => {
      const digest = new Uint8Array(createHash('sha256').update(artifact).digest());
      const sig = new Uint8Array(key.asymmetricKeyType === 'ec' ? sign('sha256', artifact, { key, dsaEncoding: 'der' }) : sign('sha256', artifact, key));
      const body = hashedRekordEntryBody(bodyDigest ?? digest, sig, createPublicKey(key));
      const ack = await log.append(body);
      await log.flush();
      const p = parseTlogProof(await log.tlogProof(ack.index));
      const cp = parseCheckpoint(parseNote(p.checkpoint).text);
      return {
        mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
        verificationMaterial: {
          publicKey: { hint: 'k' },
          tlogEntries: [{ logIndex: String(p.index), logId: { keyId: b64(logKeyId(origin, createPublicKey(logKey))) }, kindVersion: { kind: 'hashedrekord', version: '0.0.2' }, integratedTime: '0', canonicalizedBody: b64(body), inclusionProof: { logIndex: String(p.index), rootHash: b64(cp.rootHash), treeSize: String(cp.size), hashes: p.proof.map(b64), checkpoint: { envelope: p.checkpoint } } }],
          timestampVerificationData: { rfc3161Timestamps: [{ signedTimestamp: b64(await tsa.stamp(sig)) }] },
        },
        messageSignature: { messageDigest: { algorithm: 'SHA2_256', digest: b64(digest) }, signature: b64(sig) },
      };
    };
    // ES256 and RS256: sigstore-js verifies a message signature with the digest's hash name, which node refuses for
    // Ed25519 keys (no prehash): Ed25519 receipts use dsse entries, as the service issues them
    for (const key of [generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey]) {
      const v = new Verifier(toTrustMaterial(root, () => ({ publicKey: createPublicKey(key), validFor: () => true })));
      const artifact = new TextEncoder().encode(`artifact for ${key.asymmetricKeyType}`);
      const bundle = await bundleFor(key, artifact);
      v.verify(toSignedEntity(bundleFromJSON(bundle), Buffer.from(artifact)));
      assert.throws(() => v.verify(toSignedEntity(bundleFromJSON(bundle), Buffer.from('another artifact'))));
      const lying = await bundleFor(key, artifact, new Uint8Array(32));
      assert.throws(() => v.verify(toSignedEntity(bundleFromJSON(lying), Buffer.from(artifact))), /hash|digest|TLOG_BODY/i);
    }

    // dsse 0.0.2: canonical, and checked against the envelope
    const k = generateKeyPairSync('ed25519').privateKey;
    const env = signDsse('text/plain', 'hello', k, 'kid');
    const body = dsseEntryBody(env, createPublicKey(k));
    assert.deepEqual(body, canonicalBytes(JSON.parse(Buffer.from(body).toString())));
    assert.deepEqual(checkDsseEntryBody(body, env).problems, []);
    assert.equal(checkDsseEntryBody(body, signDsse('text/plain', 'other', k, 'kid')).problems.length, 2, 'payload hash and signature differ');
    const other = generateKeyPairSync('ed25519').privateKey;
    assert.deepEqual(checkDsseEntryBody(body, env, [createPublicKey(other)]).problems, ['the entry names a verifier key that is not pinned']);
    const pretty = new TextEncoder().encode(JSON.stringify(JSON.parse(Buffer.from(body).toString()), null, 1));
    assert.ok(checkDsseEntryBody(pretty, env).problems.some((m) => /canonical/.test(m)));
    assert.throws(() => checkDsseEntryBody(new TextEncoder().encode('{"kind":"hashedrekord","apiVersion":"0.0.2","spec":{}}'), env), { code: 'ENTRY_INVALID' });
  } finally {
    await log.close();
  }
});
