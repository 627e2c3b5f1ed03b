/**
 * The service's RFC 3161 time-stamp authority against the system OpenSSL (issue #24): `openssl ts -query` →
 * POST /v1/timestamp → `openssl ts -verify -data FILE -in REPLY -CAfile CHAIN` succeeds with the chain from
 * GET /v1/trusted-root, and fails for a changed file. Bad requests get a rejection TimeStampResp; the TSA keys
 * sit under keys/tsa with 0600 private keys. A v1 receipt has no Sigstore bundle (409).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { withService } from './service-env.ts';
import { certificatePem } from '../src/tsa/tsa.ts';

const openssl = (args: string[]) => spawnSync('openssl', args, { encoding: 'utf8', timeout: 20_000 });
const haveOpenssl = openssl(['version']).status === 0;

test('RFC 3161: openssl ts -query | POST /v1/timestamp | openssl ts -verify', { skip: !haveOpenssl && 'no openssl on this machine' }, async () => {
  await withService(undefined, 'evident-tsa-', {}, async (s, { dir }) => {
    const f = (n: string) => path.join(dir, n);
    fs.writeFileSync(f('data.txt'), 'an artifact to timestamp\n');
    let q = openssl(['ts', '-query', '-data', f('data.txt'), '-sha256', '-cert', '-out', f('req.tsq')]);
    assert.equal(q.status, 0, q.stderr);

    const post = (body: Uint8Array, type = 'application/timestamp-query') => fetch(s.url + '/v1/timestamp', { method: 'POST', headers: { 'content-type': type }, body });
    const res = await post(fs.readFileSync(f('req.tsq')));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/timestamp-reply');
    fs.writeFileSync(f('reply.tsr'), Buffer.from(await res.arrayBuffer()));

    const root = (await (await fetch(s.url + '/v1/trusted-root')).json()) as any;
    const chain = root.timestampAuthorities[0].certChain.certificates.map((c: { rawBytes: string }) => certificatePem(Buffer.from(c.rawBytes, 'base64'))).join('');
    fs.writeFileSync(f('chain.pem'), chain);

    const text = openssl(['ts', '-reply', '-in', f('reply.tsr'), '-text']);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /Status: Granted/);
    assert.match(text.stdout, /Nonce: 0x[0-9A-F]+/, 'the request nonce is echoed');

    let v = openssl(['ts', '-verify', '-data', f('data.txt'), '-in', f('reply.tsr'), '-CAfile', f('chain.pem')]);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    assert.match(v.stdout, /Verification: OK/);
    // against the request too (nonce, imprint)
    v = openssl(['ts', '-verify', '-queryfile', f('req.tsq'), '-in', f('reply.tsr'), '-CAfile', f('chain.pem')]);
    assert.equal(v.status, 0, v.stdout + v.stderr);

    // a changed file fails
    fs.appendFileSync(f('data.txt'), 'x');
    v = openssl(['ts', '-verify', '-data', f('data.txt'), '-in', f('reply.tsr'), '-CAfile', f('chain.pem')]);
    assert.notEqual(v.status, 0);
    assert.match(v.stdout + v.stderr, /FAILED|imprint mismatch/);
    // a foreign CA fails
    const foreign = openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('k.pem'), '-subj', '/CN=other', '-days', '1', '-out', f('other.pem')]);
    assert.equal(foreign.status, 0, foreign.stderr);
    fs.writeFileSync(f('data.txt'), 'an artifact to timestamp\n');
    v = openssl(['ts', '-verify', '-data', f('data.txt'), '-in', f('reply.tsr'), '-CAfile', f('other.pem')]);
    assert.notEqual(v.status, 0);

    // SHA-512 request without certReq: granted, no certificate in the token (verify with the chain as -untrusted)
    q = openssl(['ts', '-query', '-data', f('data.txt'), '-sha512', '-no_nonce', '-out', f('req512.tsq')]);
    assert.equal(q.status, 0, q.stderr);
    const r512 = await post(fs.readFileSync(f('req512.tsq')));
    assert.equal(r512.status, 200);
    fs.writeFileSync(f('reply512.tsr'), Buffer.from(await r512.arrayBuffer()));
    v = openssl(['ts', '-verify', '-data', f('data.txt'), '-in', f('reply512.tsr'), '-CAfile', f('chain.pem'), '-untrusted', f('chain.pem')]);
    assert.equal(v.status, 0, v.stdout + v.stderr);

    // bad requests: a rejection TimeStampResp (400), not a token
    const bad = await post(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01]));
    assert.equal(bad.status, 400);
    assert.equal(bad.headers.get('content-type'), 'application/timestamp-reply');
    fs.writeFileSync(f('bad.tsr'), Buffer.from(await bad.arrayBuffer()));
    const bt = openssl(['ts', '-reply', '-in', f('bad.tsr'), '-text']);
    assert.match(bt.stdout, /Status: Rejected/);
    assert.equal((await post(new Uint8Array([1, 2, 3]), 'application/octet-stream')).status, 415);

    // this service issues v1 (startService's default): such receipts have no Sigstore bundle (409)
    const issued = await fetch(s.url + '/v1/receipts', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${s.adminToken}` }, body: JSON.stringify({ format: 'dsse', payload_type: 'text/plain', payload_base64: 'aGk=' }) });
    const v1 = (await issued.json()) as { format: string; id: string };
    assert.equal(v1.format, 'evident.receipt/v1');
    const exp = await fetch(`${s.url}/v1/receipts/${v1.id}/sigstore`);
    assert.equal(exp.status, 409);
    assert.equal(((await exp.json()) as { error: string }).error, 'RECEIPT_NOT_EXPORTABLE');

    // keys beside the other service keys, private keys 0600
    const tsaDir = path.join(dir, 'keys', 'tsa');
    const sub = fs.readdirSync(tsaDir).filter((n) => fs.statSync(path.join(tsaDir, n)).isDirectory());
    assert.equal(sub.length, 1);
    for (const k of ['private.pem', 'root-private.pem']) assert.equal(fs.statSync(path.join(tsaDir, sub[0]!, k)).mode & 0o777, 0o600, k);
  });
});
