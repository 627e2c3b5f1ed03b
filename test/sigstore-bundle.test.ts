/**
 * Evident as a private Sigstore (issue #24, docs/sigstore.md), end to end against the real service: receipts of every
 * receipt format (in-toto, dsse, hashmatch match + tournament, eli, wcp; Ed25519 and, after a rotation, ES256 with
 * DER signatures) are issued as evident.receipt/v2, exported with GET /v1/receipts/{id}/sigstore, and verified by
 * sigstore@4's own `verify` with nothing but GET /v1/trusted-root (served to sigstore through a local signed TUF
 * cache, ./sigstore-tuf-local.ts): the bundles name the issuer key's signer certificate from the service CA
 * (src/ca/, test/sigstore-cert.test.ts checks identities and SCTs), so no keySelector. Default thresholds: one tlog
 * entry, one SCT, one RFC 3161 timestamp. Tampered bundles fail there; Evident's own verifier accepts the receipts.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { verify } from 'sigstore';
import { testBackends, withService } from './service-env.ts';
import { issueEveryFormat, receiptBodies } from './receipt-bodies.ts';
import { localTufOptions } from './sigstore-tuf-local.ts';
import { verifyAny, bytesInput } from '../src/verify/detect.ts';
import { parseVkey } from '../src/kernel/note.ts';

const BIN = path.resolve(import.meta.dirname, '../bin/evident.js');
const BODIES = receiptBodies();

for (const [name, dbUrl] of testBackends()) {
  test(`sigstore@4 verifies exported receipts of every format with only /v1/trusted-root (${name})`, async () => {
    await withService(dbUrl, 'evident-sgs-', { origin: 'test.example/evident', receiptFormat: 'evident.receipt/v2' }, async (s, { dir, db }) => {
      const url = s.url;
      const { receipts, post } = await issueEveryFormat(url, s.adminToken!, BODIES);
      const esSig = Buffer.from(receipts.at(-1)![1].envelope.signatures[0].sig, 'base64');
      assert.equal(esSig[0], 0x30, 'ES256 DSSE signature is a DER SEQUENCE');

      const trRes = await fetch(url + '/v1/trusted-root');
      assert.equal(trRes.status, 200);
      assert.match(trRes.headers.get('content-type') ?? '', /^application\/vnd\.dev\.sigstore\.trustedroot\+json/);
      const trustedRoot = await trRes.text();
      const tr = JSON.parse(trustedRoot);
      const logInfo = (await (await fetch(url + '/v1/log')).json()) as { vkey: string };
      assert.equal(tr.tlogs[0].baseUrl, 'https://test.example/evident');
      assert.equal(Buffer.from(tr.tlogs[0].logId.keyId, 'base64').subarray(0, 4).readUInt32BE(0), parseVkey(logInfo.vkey).keyHash, 'logId starts with the checkpoint key hint');
      assert.equal(tr.timestampAuthorities[0].certChain.certificates.length, 2);

      const keys = ((await (await fetch(url + '/v1/keys')).json()) as { keys: Array<{ kid: string; public_key_pem: string }> }).keys;
      const options = localTufOptions(dir, trustedRoot);
      const identity = (kid: string) => ({ certificateIssuer: 'https://test.example/evident', certificateIdentityURI: `https://test.example/evident/keys/${kid}` });

      for (const [label, r] of receipts) {
        assert.equal(r.format, 'evident.receipt/v2', label);
        const res = await fetch(`${url}/v1/receipts/${r.id}/sigstore`);
        assert.equal(res.status, 200, label);
        assert.match(res.headers.get('content-type') ?? '', /^application\/vnd\.dev\.sigstore\.bundle\.v0\.3\+json/, label);
        const bundle = (await res.json()) as any;
        assert.equal(bundle.verificationMaterial.tlogEntries[0].kindVersion.kind, 'dsse');
        const signer = await verify(bundle, { ...options, ...identity(r.envelope.signatures[0].keyid) });
        assert.ok(signer.key, `${label}: verified`);

        // Evident's own verifier accepts the same receipt (issuer key + log key)
        const pem = keys.find((k) => k.kid === r.envelope.signatures[0].keyid)!.public_key_pem;
        const rep = await verifyAny(bytesInput(new TextEncoder().encode(JSON.stringify(r))), { mode: 'strict', keys: [pem], logKey: logInfo.vkey });
        assert.equal(rep.valid, true, `${label}: ${JSON.stringify(rep.toJSON())}`);
      }

      // Evident's verifier: the receipt's timestamp must cover its own signature
      {
        const [, r0] = receipts[0]!;
        const pem = keys.find((k) => k.kid === r0.envelope.signatures[0].keyid)!.public_key_pem;
        const swapped = { ...r0, rfc3161_timestamp: receipts[1]![1].rfc3161_timestamp };
        const rep = await verifyAny(bytesInput(new TextEncoder().encode(JSON.stringify(swapped))), { mode: 'strict', keys: [pem], logKey: logInfo.vkey });
        assert.equal(rep.exitCode, 2, JSON.stringify(rep.toJSON()));
        assert.ok(rep.toJSON().checks.some((c: { id: string; code: string }) => c.id === 'timestamp' && c.code === 'TIMESTAMP_MISMATCH'));
      }

      // tampering: every change is caught by sigstore's verify
      const res = await fetch(`${url}/v1/receipts/${receipts[0]![1].id}/sigstore`);
      const good = (await res.json()) as any;
      const tampered: Array<[string, (b: any) => void]> = [
        ['payload', (b) => (b.dsseEnvelope.payload = Buffer.from('{"_type":"x"}').toString('base64'))],
        ['signature', (b) => { const sig = Buffer.from(b.dsseEnvelope.signatures[0].sig, 'base64'); sig[5] ^= 1; b.dsseEnvelope.signatures[0].sig = sig.toString('base64'); }],
        ['log entry', (b) => { const body = JSON.parse(Buffer.from(b.verificationMaterial.tlogEntries[0].canonicalizedBody, 'base64').toString()); body.spec.dsseV002.payloadHash.digest = Buffer.alloc(32).toString('base64'); b.verificationMaterial.tlogEntries[0].canonicalizedBody = Buffer.from(JSON.stringify(body)).toString('base64'); }],
        ['inclusion proof', (b) => { const p = b.verificationMaterial.tlogEntries[0].inclusionProof; p.hashes[0] = Buffer.alloc(32).toString('base64'); }],
        ['log index', (b) => { const e = b.verificationMaterial.tlogEntries[0]; e.logIndex = e.inclusionProof.logIndex = String(Number(e.logIndex) + 1); }],
        ['checkpoint', (b) => { const c = b.verificationMaterial.tlogEntries[0].inclusionProof.checkpoint; c.envelope = c.envelope.replace(/\n(\d+)\n/, (_m: string, n: string) => `\n${Number(n) + 1}\n`); }],
        ['timestamp', (b) => { const t = Buffer.from(b.verificationMaterial.timestampVerificationData.rfc3161Timestamps[0].signedTimestamp, 'base64'); t[t.length - 3] ^= 1; b.verificationMaterial.timestampVerificationData.rfc3161Timestamps[0].signedTimestamp = t.toString('base64'); }],
        ['no timestamp', (b) => (b.verificationMaterial.timestampVerificationData.rfc3161Timestamps = [])],
      ];
      for (const [what, change] of tampered) {
        const b = structuredClone(good);
        change(b);
        await assert.rejects(verify(b, options), `tampered ${what} must fail`);
      }
      // another deployment's trusted root (other log key, other TSA) does not verify Evident's bundle
      const other = { ...tr, tlogs: tr.tlogs.map((l: any) => ({ ...l, publicKey: { ...l.publicKey, rawBytes: 'MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=' } })) };
      await assert.rejects(verify(good, localTufOptions(path.join(dir, 'other'), JSON.stringify(other))), 'a foreign log key must fail');

      // CLI: evident trusted-root (service or data dir) = /v1/trusted-root; evident receipt export --sigstore;
      // evident verify BUNDLE --trusted-root --certificate-identity --certificate-oidc-issuer (the Sigstore bundle
      // verifier, src/profiles/sigstore)
      // asynchronous: the service answering --url runs in this process
      const cli = (args: string[]) =>
        new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
          execFile(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 }, (e, stdout, stderr) => resolve({ status: e ? (typeof e.code === 'number' ? e.code : null) : 0, stdout, stderr }));
        });
      let p = await cli(['trusted-root', '--url', url]);
      assert.equal(p.status, 0, p.stderr);
      assert.deepEqual(JSON.parse(p.stdout), tr);
      p = await cli(['trusted-root', '--data-dir', dir, ...(db ? ['--db', db] : [])]);
      assert.equal(p.status, 0, p.stderr);
      assert.deepEqual(JSON.parse(p.stdout), tr, 'offline from the data directory: the same root');
      fs.writeFileSync(path.join(dir, 'trusted_root.json'), trustedRoot);
      for (const [label, r] of [receipts[0]!, receipts.at(-1)!]) {
        const current = (await (await fetch(`${url}/v1/receipts/${r.id}`)).json()) as any;
        fs.writeFileSync(path.join(dir, 'r.json'), JSON.stringify(current));
        p = await cli(['receipt', 'export', '--sigstore', path.join(dir, 'r.json'), '--log-key', logInfo.vkey, '--out', path.join(dir, 'b.json')]);
        assert.equal(p.status, 0, p.stderr);
        const exported = JSON.parse(fs.readFileSync(path.join(dir, 'b.json'), 'utf8')) as any;
        assert.deepEqual(exported, (await (await fetch(`${url}/v1/receipts/${r.id}/sigstore`)).json()) as any, `${label}: CLI export = service export`);
        await verify(exported, options);
        const id = identity(r.envelope.signatures[0].keyid);
        const policy = ['--certificate-identity', id.certificateIdentityURI, '--certificate-oidc-issuer', id.certificateIssuer];
        p = await cli(['verify', path.join(dir, 'b.json'), '--trusted-root', path.join(dir, 'trusted_root.json'), ...policy, '--json']);
        const rep = JSON.parse(p.stdout);
        assert.equal(rep.format, 'sigstore.bundle', label);
        assert.equal(rep.valid, true, `${label}: ${p.stdout}`);
        assert.equal(p.status, 0);
        exported.dsseEnvelope.payload = Buffer.from('{"_type":"x"}').toString('base64');
        fs.writeFileSync(path.join(dir, 'b.json'), JSON.stringify(exported));
        p = await cli(['verify', path.join(dir, 'b.json'), '--trusted-root', path.join(dir, 'trusted_root.json'), ...policy, '--json']);
        assert.notEqual(p.status, 0, `${label}: tampered bundle must fail evident verify`);
      }
      // a v1 receipt cannot be exported
      fs.writeFileSync(path.join(dir, 'v1.json'), JSON.stringify({ ...receipts[0]![1], format: 'evident.receipt/v1' }));
      assert.equal((await cli(['receipt', 'export', '--sigstore', path.join(dir, 'v1.json')])).status, 10);

      // TSA rotation (evident tsa rotate): the running service picks it up; the trusted root keeps the old chain with
      // its window, so the bundle timestamped before still verifies, and new receipts use the new key
      p = await cli(['tsa', 'rotate', '--data-dir', dir, '--json']);
      assert.equal(p.status, 0, p.stderr);
      assert.equal(JSON.parse(p.stdout).authorities.length, 2);
      await new Promise((r) => setTimeout(r, 600));
      const rotated = await (await fetch(url + '/v1/trusted-root')).text();
      const rtr = JSON.parse(rotated);
      assert.equal(rtr.timestampAuthorities.length, 2);
      assert.ok(rtr.timestampAuthorities[0].validFor.end, 'the retired TSA window is closed');
      assert.notEqual(rtr.timestampAuthorities[1].certChain.certificates[0].rawBytes, tr.timestampAuthorities[0].certChain.certificates[0].rawBytes);
      const rotatedOptions = localTufOptions(path.join(dir, 'rotated'), rotated);
      await verify(good, rotatedOptions);
      const fresh = await post(BODIES[0]![1]);
      const freshBundle = (await (await fetch(`${url}/v1/receipts/${fresh.id}/sigstore`)).json()) as any;
      await verify(freshBundle, rotatedOptions);
      await assert.rejects(verify(freshBundle, options), 'the new TSA key is not in the old trusted root');

      // unknown receipt → 404
      assert.equal((await fetch(`${url}/v1/receipts/sha256:${'0'.repeat(64)}/sigstore`)).status, 404);
    });
  });
}
