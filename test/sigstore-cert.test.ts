/**
 * Evident's issuing CA and CT log (src/ca/, issue #24: "a certificate if you add an issuing CA"): v2 receipts name
 * the issuer key's signer certificate (SAN https://<origin>/keys/<kid>, Fulcio issuer extensions, embedded SCT from
 * the CT key in the trusted root's ctlogs), so sigstore@4's own `verify` accepts every receipt format's bundle with
 * nothing but GET /v1/trusted-root — no keySelector, default thresholds (1 tlog entry, 1 SCT, 1 timestamp) — and
 * with the identity and issuer pinned. A broken SCT, a wrong identity or issuer, a foreign CA fail. The issued
 * certificate is in the transparency log. `evident verify BUNDLE --trusted-root --certificate-identity
 * --certificate-oidc-issuer` accepts the same bundles.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { createHash, createPrivateKey, generateKeyPairSync, webcrypto, X509Certificate } from 'node:crypto';
import { createRequire } from 'node:module';
import { verify } from 'sigstore';
import { testBackends, withService } from './service-env.ts';
import { issueEveryFormat, receiptBodies } from './receipt-bodies.ts';
import { localTufOptions } from './sigstore-tuf-local.ts';
import { verifyAny, bytesInput } from '../src/verify/detect.ts';
import os from 'node:os';
import { openLog } from '../src/log/index.ts';
import { formatVkey, noteSigner } from '../src/kernel/note.ts';
import { generateKeyPair, keyId, publicKeyPem, toPublicKey } from '../src/kernel/keys.ts';
import { issueReceiptV2 } from '../src/receipts/receipt-v2.ts';
import { toSigstoreBundle } from '../src/receipts/sigstore-export.ts';
import { buildTrustedRoot } from '../src/receipts/trusted-root.ts';
import { createTsaChain, pkiEngine, TimestampAuthority } from '../src/tsa/tsa.ts';
import { openCaStore, signerIdentity } from '../src/ca/store.ts';

const BIN = path.resolve(import.meta.dirname, '../bin/evident.js');
const ARTIFACT = Buffer.from('the artifact of the in-toto receipt\n');
const BODIES = receiptBodies(createHash('sha256').update(ARTIFACT).digest('hex'));

// pkijs with its own asn1js (as src/tsa/tsa.ts loads them)
const requireHere = createRequire(import.meta.url);
const pkijs = requireHere(requireHere.resolve('pkijs'));
const asn1js = createRequire(requireHere.resolve('pkijs'))('asn1js');

/** The certificate re-signed by the real CA key with one bit of its SCT signature flipped: only the SCT is wrong. */
async function withBrokenSct(certDer: Buffer, caKeyPem: string): Promise<Buffer> {
  pkiEngine();
  const c = pkijs.Certificate.fromBER(certDer.buffer.slice(certDer.byteOffset, certDer.byteOffset + certDer.length));
  const i = c.extensions.findIndex((e: { extnID: string }) => e.extnID === '1.3.6.1.4.1.11129.2.4.2');
  assert.ok(i >= 0, 'the certificate has an SCT list');
  const list = Buffer.from(asn1js.fromBER(c.extensions[i].extnValue.valueBlock.valueHexView.slice().buffer).result.valueBlock.valueHexView);
  list[list.length - 1]! ^= 1; // the last byte of the SCT's ECDSA signature
  c.extensions[i] = new pkijs.Extension({ extnID: '1.3.6.1.4.1.11129.2.4.2', critical: false, extnValue: new asn1js.OctetString({ valueHex: list }).toBER(false) });
  const key = await webcrypto.subtle.importKey('pkcs8', createPrivateKey(caKeyPem).export({ type: 'pkcs8', format: 'der' }), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  await c.sign(key, 'SHA-256');
  return Buffer.from(c.toSchema(true).toBER(false));
}

const ORIGIN = 'test.example/evident';
const ISSUER = 'https://test.example/evident';
const identityOf = (kid: string) => `${ISSUER}/keys/${kid}`;

const cli = (args: string[]) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 }, (e, stdout, stderr) => resolve({ status: e ? (typeof e.code === 'number' ? e.code : null) : 0, stdout, stderr }));
  });

for (const [name, dbUrl] of testBackends()) {
  test(`sigstore@4 verifies certificate-signed receipt bundles with only /v1/trusted-root, no keySelector (${name})`, async () => {
    await withService(dbUrl, 'evident-sgc-', { origin: ORIGIN, receiptFormat: 'evident.receipt/v2' }, async (s, { dir, db }) => {
      const url = s.url;
      const { receipts } = await issueEveryFormat(url, s.adminToken!, BODIES);

      // the CA and CT keys: created on first start beside the other keys, private keys 0600
      for (const f of ['ca-private.pem', 'ct-private.pem']) assert.equal(fs.statSync(path.join(dir, 'keys', 'ca', f)).mode & 0o777, 0o600, f);

      const trustedRoot = await (await fetch(url + '/v1/trusted-root')).text();
      const tr = JSON.parse(trustedRoot);
      assert.equal(tr.certificateAuthorities.length, 1);
      assert.ok(tr.certificateAuthorities[0].validFor.start);
      assert.equal(tr.ctlogs.length, 1);
      assert.equal(tr.ctlogs[0].publicKey.keyDetails, 'PKIX_ECDSA_P256_SHA_256');
      const options = localTufOptions(dir, trustedRoot);

      const kids = new Set<string>();
      let certLeaf: Buffer | undefined;
      for (const [label, r] of receipts) {
        const kid = r.envelope.signatures[0].keyid as string;
        kids.add(kid);
        const bundle = (await (await fetch(`${url}/v1/receipts/${r.id}/sigstore`)).json()) as any;
        assert.ok(bundle.verificationMaterial.certificate?.rawBytes, `${label}: the bundle names a certificate`);
        assert.equal(bundle.verificationMaterial.publicKey, undefined, label);
        const body = JSON.parse(Buffer.from(bundle.verificationMaterial.tlogEntries[0].canonicalizedBody, 'base64').toString());
        assert.equal(body.spec.dsseV002.signatures[0].verifier.x509Certificate.rawBytes, bundle.verificationMaterial.certificate.rawBytes, `${label}: the log entry's verifier is the certificate`);
        const signer = await verify(bundle, { ...options, certificateIssuer: ISSUER, certificateIdentityURI: identityOf(kid) });
        assert.equal(signer.identity?.subjectAlternativeName, identityOf(kid), label);
        assert.equal(signer.identity?.extensions?.issuer, ISSUER, label);
        await assert.rejects(verify(bundle, { ...options, certificateIssuer: ISSUER, certificateIdentityURI: identityOf('someone-else') }), `${label}: a wrong identity must fail`);
        await assert.rejects(verify(bundle, { ...options, certificateIssuer: 'https://other.example', certificateIdentityURI: identityOf(kid) }), `${label}: a wrong issuer must fail`);
        certLeaf ??= Buffer.from(bundle.verificationMaterial.certificate.rawBytes, 'base64');

        // the receipt itself keeps verifying with evident verify (issuer key + log key)
        const pem = ((await (await fetch(url + '/v1/keys')).json()) as any).keys.find((k: any) => k.kid === kid).public_key_pem;
        const rep = await verifyAny(bytesInput(new TextEncoder().encode(JSON.stringify(r))), { mode: 'strict', keys: [pem], logKey: ((await (await fetch(url + '/v1/log')).json()) as any).vkey });
        assert.equal(rep.valid, true, `${label}: ${JSON.stringify(rep.toJSON())}`);
      }
      assert.equal(kids.size, 2, 'an Ed25519 and an ES256 issuer key');

      // the certificate: code signing, digitalSignature, SAN URI, the issuer extensions, an embedded SCT
      const x = new X509Certificate(certLeaf!);
      assert.match(x.subjectAltName ?? '', /^URI:https:\/\/test\.example\/evident\/keys\//);
      assert.deepEqual(x.keyUsage, ['1.3.6.1.5.5.7.3.3']);
      assert.ok(certLeaf!.includes(Buffer.from([0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x04, 0x02])), 'SCT list extension');
      assert.ok(!certLeaf!.includes(Buffer.from([0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x04, 0x03])), 'no poison in the final certificate');
      assert.ok(x.checkIssued(new X509Certificate(Buffer.from(tr.certificateAuthorities[0].certChain.certificates[0].rawBytes, 'base64'))));

      // the issued certificates entered the transparency log (one entry each, before any receipt signed by them)
      const size = ((await (await fetch(url + '/v1/log')).json()) as any).size as number;
      assert.equal(size, receipts.length + kids.size);

      // tampering: a broken SCT, a foreign CA, a changed certificate all fail
      const [, r0] = receipts[0]!;
      const good = (await (await fetch(`${url}/v1/receipts/${r0.id}/sigstore`)).json()) as any;
      const pinned = { ...options, certificateIssuer: ISSUER, certificateIdentityURI: identityOf(r0.envelope.signatures[0].keyid) };
      await verify(good, pinned);
      const sctBroken = structuredClone(good);
      {
        const c = Buffer.from(sctBroken.verificationMaterial.certificate.rawBytes, 'base64');
        const at = c.indexOf(Buffer.from([0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x04, 0x02]));
        // the SCT's signature lies inside the extension; flip one of its last bytes (the CA signature then breaks too)
        const sigEnd = at + 12 + 2 + 2 + 2 + 2 + 1 + 32 + 8 + 2 + 2 + 2 + 60;
        c[sigEnd] ^= 1;
        sctBroken.verificationMaterial.certificate.rawBytes = c.toString('base64');
      }
      await assert.rejects(verify(sctBroken, pinned), 'a changed certificate (SCT) must fail');
      // a certificate the CA did sign, whose SCT signature is wrong: the SCT check alone refuses it
      const badSct = structuredClone(good);
      badSct.verificationMaterial.certificate.rawBytes = (await withBrokenSct(Buffer.from(good.verificationMaterial.certificate.rawBytes, 'base64'), fs.readFileSync(path.join(dir, 'keys', 'ca', 'ca-private.pem'), 'utf8'))).toString('base64');
      await assert.rejects(verify(badSct, pinned), /SCT verification failed/, 'a wrong SCT signature must fail');
      // SCT signed by a CT key that is not in the trusted root: the same bundle against a root with another ctlog key
      const otherCt = { ...tr, ctlogs: tr.ctlogs.map((l: any) => ({ ...l, publicKey: { ...l.publicKey, rawBytes: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' }).toString('base64') } })) };
      await assert.rejects(verify(good, { ...localTufOptions(path.join(dir, 'other-ct'), JSON.stringify(otherCt)), certificateIssuer: ISSUER, certificateIdentityURI: pinned.certificateIdentityURI }), 'an SCT from a CT key outside the trusted root must fail');
      const noCa = { ...tr, certificateAuthorities: [] };
      await assert.rejects(verify(good, { ...localTufOptions(path.join(dir, 'no-ca'), JSON.stringify(noCa)), certificateIssuer: ISSUER, certificateIdentityURI: pinned.certificateIdentityURI }), 'a root without the CA must fail');
      for (const [what, change] of [
        ['payload', (b: any) => (b.dsseEnvelope.payload = Buffer.from('{"_type":"x"}').toString('base64'))],
        ['no timestamp', (b: any) => (b.verificationMaterial.timestampVerificationData.rfc3161Timestamps = [])],
      ] as Array<[string, (b: any) => void]>) {
        const b = structuredClone(good);
        change(b);
        await assert.rejects(verify(b, pinned), `tampered ${what} must fail`);
      }

      // evident verify: the Sigstore bundle verifier, trusted root + identity + issuer
      fs.writeFileSync(path.join(dir, 'trusted_root.json'), trustedRoot);
      fs.writeFileSync(path.join(dir, 'a.tar'), ARTIFACT);
      fs.writeFileSync(path.join(dir, 'other.tar'), 'another file');
      {
        // the in-toto receipt with its artifact: the subject digest is checked too
        const bundle = (await (await fetch(`${url}/v1/receipts/${r0.id}/sigstore`)).json()) as any;
        fs.writeFileSync(path.join(dir, 'b.json'), JSON.stringify(bundle));
        const args = (artifact: string) => ['verify', path.join(dir, 'b.json'), '--trusted-root', path.join(dir, 'trusted_root.json'), '--certificate-identity', identityOf(r0.envelope.signatures[0].keyid), '--certificate-oidc-issuer', ISSUER, '--artifact', path.join(dir, artifact), '--json'];
        let p = await cli(args('a.tar'));
        assert.equal(p.status, 0, p.stdout + p.stderr);
        const rep = JSON.parse(p.stdout);
        assert.ok(rep.checks.some((c: { id: string; ok: boolean }) => c.id === 'artifact[0]' && c.ok), p.stdout);
        assert.ok(['cert.chain', 'cert.sct', 'identity'].every((id) => rep.checks.some((c: { id: string; ok: boolean }) => c.id === id && c.ok)), p.stdout);
        p = await cli(args('other.tar'));
        assert.equal(p.status, 2, `another file is not the subject: ${p.stdout}`);
      }
      for (const [label, r] of [receipts[0]!, receipts.at(-1)!]) {
        const bundle = (await (await fetch(`${url}/v1/receipts/${r.id}/sigstore`)).json()) as any;
        fs.writeFileSync(path.join(dir, 'b.json'), JSON.stringify(bundle));
        const id = identityOf(r.envelope.signatures[0].keyid);
        const args = (idv: string) => ['verify', path.join(dir, 'b.json'), '--trusted-root', path.join(dir, 'trusted_root.json'), '--certificate-identity', idv, '--certificate-oidc-issuer', ISSUER, '--json'];
        let p = await cli(args(id));
        assert.equal(p.status, 0, `${label}: ${p.stdout}${p.stderr}`);
        assert.equal(JSON.parse(p.stdout).valid, true);
        p = await cli(args(identityOf('someone-else')));
        assert.equal(p.status, 1, `${label}: a wrong identity is a policy failure: ${p.stdout}`);
        if (r === r0) {
          fs.writeFileSync(path.join(dir, 'b.json'), JSON.stringify(sctBroken));
          p = await cli(args(id));
          assert.notEqual(p.status, 0, `${label}: a changed certificate must fail evident verify`);
          fs.writeFileSync(path.join(dir, 'b.json'), JSON.stringify(badSct));
          p = await cli(args(id));
          assert.notEqual(p.status, 0, `${label}: a wrong SCT must fail evident verify`);
          assert.equal(JSON.parse(p.stdout).checks.find((c: { id: string }) => c.id === 'cert.sct')?.ok, false, p.stdout);
        }
      }
      // evident trusted-root --data-dir: the same root, CA and ctlog included
      const p = await cli(['trusted-root', '--data-dir', dir, ...(db ? ['--db', db] : [])]);
      assert.equal(p.status, 0, p.stderr);
      assert.deepEqual(JSON.parse(p.stdout), tr);
    });
  });
}

test('receipts v2 with a publicKey verifier (issued without a CA) keep verifying and exporting as before', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-sgc-lib-'));
  const logPriv = generateKeyPair('ed25519').privateKey;
  const log = await openLog({ db: `sqlite:${path.join(dir, 'log.db')}`, origin: ORIGIN, signer: noteSigner(ORIGIN, logPriv), batchSize: 16 });
  try {
    const chain = await createTsaChain();
    const tsa = new TimestampAuthority(chain.leafKey, [chain.leaf, chain.root]);
    const v2log = { origin: ORIGIN, append: (d: Uint8Array) => log.append(d), tlogProof: log.tlogProof.bind(log), storage: log.storage, publicKey: toPublicKey(logPriv) };
    const issuer = generateKeyPair('ed25519');
    const kid = keyId(issuer.privateKey, 'jwk');
    const req = { format: 'dsse' as const, payloadType: 'text/plain', payload: new TextEncoder().encode('before the CA') };
    const { receipt: old } = await issueReceiptV2(v2log, { privateKey: issuer.privateKey, kid }, req, { timestamp: (sig) => tsa.stamp(sig) });
    const ca = await openCaStore(path.join(dir, 'keys', 'ca'));
    const { receipt: withCert } = await issueReceiptV2(v2log, { privateKey: issuer.privateKey, kid }, req, {
      timestamp: (sig) => tsa.stamp(sig),
      certificate: (pub) => ca.certificateFor(kid, pub, new Date().toISOString(), signerIdentity(ISSUER, kid), (e) => log.append(e)),
    });
    const now = new Date(Date.now() - 3600_000).toISOString();
    const root = buildTrustedRoot({ logs: [{ origin: ORIGIN, publicKey: toPublicKey(logPriv), validFrom: now }], tsas: [{ chain: [chain.leaf, chain.root], validFrom: now }], cas: ca.authorities, ctlogs: ca.ctlogs });
    const options = localTufOptions(dir, JSON.stringify(root));

    const oldBundle = toSigstoreBundle(old) as any;
    assert.deepEqual(oldBundle.verificationMaterial.publicKey, { hint: kid });
    assert.equal(oldBundle.verificationMaterial.certificate, undefined);
    const pem = publicKeyPem(toPublicKey(issuer.privateKey));
    await verify(oldBundle, { ...options, keySelector: (h: string) => (h === kid ? pem : '') });
    const newBundle = toSigstoreBundle(withCert) as any;
    assert.ok(newBundle.verificationMaterial.certificate.rawBytes);
    await verify(newBundle, { ...options, certificateIssuer: ISSUER, certificateIdentityURI: identityOf(kid) });
    for (const r of [old, withCert]) {
      const rep = await verifyAny(bytesInput(new TextEncoder().encode(JSON.stringify(r))), { mode: 'strict', keys: [pem], logKey: formatVkey(ORIGIN, toPublicKey(logPriv)) });
      assert.equal(rep.valid, true, JSON.stringify(rep.toJSON()));
    }
    // the certificate is issued once per key and is in the log: old receipt, certificate entry, new receipt
    assert.equal(withCert.log.index, 2);
    const again = await ca.certificateFor(kid, toPublicKey(issuer.privateKey), '', signerIdentity(ISSUER, kid), () => Promise.reject(new Error('not issued twice')));
    assert.equal(Buffer.from(again).toString('base64'), newBundle.verificationMaterial.certificate.rawBytes);
    const reopened = await openCaStore(path.join(dir, 'keys', 'ca'), { create: false });
    const fromFile = await reopened.certificateFor(kid, toPublicKey(issuer.privateKey), '', signerIdentity(ISSUER, kid), () => Promise.reject(new Error('not issued twice')));
    assert.equal(Buffer.from(fromFile).toString('base64'), newBundle.verificationMaterial.certificate.rawBytes);
  } finally {
    await log.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
