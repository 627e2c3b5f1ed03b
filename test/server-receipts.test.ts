/**
 * Service e2e: POST /v1/receipts (sign → log → tlog-proof), GET /v1/receipts/{id}, checkpoint, proofs, tiles,
 * and offline verification of the issued receipt with `evident verify` and only the two pinned keys.
 * SQLite and PostgreSQL.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { startService } from '../src/server/service.ts';
import { hashLeaf, verifyInclusion, verifyConsistency, parseCheckpoint } from '../src/log/index.ts';
import { parseBase64 } from '../src/kernel/encoding.ts';
import { testBackends, withService } from './service-env.ts';

const BIN = path.resolve(import.meta.dirname, '../bin/evident.js');
const backends = testBackends();

const statement = (i: number) => ({
  _type: 'https://in-toto.io/Statement/v1',
  subject: [{ name: `artifact-${i}.tar`, digest: { sha256: i.toString(16).padStart(64, '0') } }],
  predicateType: 'https://evident.dev/test/v1',
  predicate: { n: i },
});

for (const [name, dbUrl] of backends) {
  test(`receipts on ${name}: issue, fetch, verify offline, proofs, tiles, bad input, auth`, async () => {
    await withService(dbUrl, 'evident-rcpt-', { origin: 'test.example/evident' }, async (s, { dir }) => {
      const url = s.url;
      const tok = s.adminToken!;
      const post = (body: unknown, token: string | null = tok) =>
        fetch(url + '/v1/receipts', { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });

      assert.equal((await post({ format: 'in-toto', statement: statement(0) }, null)).status, 401);
      // concurrent issuance: every receipt is acknowledged only with a proof
      const res = await Promise.all(Array.from({ length: 40 }, (_, i) => post({ format: 'in-toto', statement: statement(i) })));
      const receipts = await Promise.all(res.map(async (r) => { assert.equal(r.status, 201); return (await r.json()) as any; }));
      const indexes = new Set(receipts.map((r) => r.log.index));
      assert.equal(indexes.size, 40);
      const raw = await post({ format: 'dsse', payload_type: 'text/plain', payload_base64: Buffer.from('hello').toString('base64') });
      assert.equal(raw.status, 201);

      const info = (await (await fetch(url + '/v1/log')).json()) as { origin: string; vkey: string; size: number };
      assert.equal(info.origin, 'test.example/evident');
      assert.equal(info.size, 41);
      const checkpoint = await (await fetch(url + '/checkpoint')).text();
      assert.equal(parseCheckpoint(checkpoint.slice(0, checkpoint.indexOf('\n\n') + 1)).size, 41);

      // offline: the CLI with only the pinned issuer key and the pinned log key
      const jwks = (await (await fetch(url + '/v1/keys')).json()) as { keys: Array<{ public_key_pem: string }> };
      fs.writeFileSync(path.join(dir, 'issuer.pem'), jwks.keys[0]!.public_key_pem);
      const rc = (r: unknown, extra: string[] = ['--key', path.join(dir, 'issuer.pem'), '--log-key', info.vkey]) => {
        fs.writeFileSync(path.join(dir, 'r.json'), JSON.stringify(r));
        const p = spawnSync(process.execPath, [BIN, 'verify', path.join(dir, 'r.json'), ...extra, '--json'], { encoding: 'utf8', timeout: 60_000 });
        const rep = JSON.parse(p.stdout);
        assert.equal(rep.exitCode, p.status);
        return rep;
      };
      const r0 = receipts[7];
      let rep = rc(r0);
      assert.equal(rep.valid, true, JSON.stringify(rep));
      assert.equal(rep.format, 'evident.receipt');
      // tampering: payload → signature (3) and id/entry (2): integrity first
      const tampered = structuredClone(r0);
      tampered.envelope.payload = Buffer.from(JSON.stringify(statement(99))).toString('base64');
      assert.equal(rc(tampered).exitCode, 2);
      const badIndex = structuredClone(r0);
      badIndex.log.index += 1;
      assert.equal(rc(badIndex).exitCode, 2);
      assert.equal(rc(r0, ['--log-key', info.vkey]).exitCode, 4, 'no issuer key → 4');
      assert.equal(rc(r0, ['--key', path.join(dir, 'issuer.pem')]).exitCode, 4, 'no log key → 4');
      // same receipt through the service's /v1/verify
      const pem = jwks.keys[0]!.public_key_pem;
      rep = await (await fetch(url + '/v1/verify', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ artifact: r0, keys: [pem] }) })).json();
      assert.equal(rep.valid, true);

      // GET /v1/receipts/{id}: same envelope, proof against the latest checkpoint
      const again = (await (await fetch(url + '/v1/receipts/' + r0.id)).json()) as any;
      assert.deepEqual(again.envelope, r0.envelope);
      assert.equal(rc(again).valid, true);
      assert.equal((await fetch(url + '/v1/receipts/sha256:' + '0'.repeat(64))).status, 404);
      assert.equal((await fetch(url + '/v1/receipts/nope')).status, 400);

      // proofs over HTTP check out against the checkpoint root
      const root = parseCheckpoint(checkpoint.slice(0, checkpoint.indexOf('\n\n') + 1)).rootHash;
      const incl = (await (await fetch(`${url}/v1/log/inclusion?index=${r0.log.index}&size=41`)).json()) as { proof: string[] };
      const { receiptEntry } = await import('../src/receipts/receipt.ts');
      assert.ok(verifyInclusion(r0.log.index, 41, hashLeaf(receiptEntry(r0.envelope)), incl.proof.map((p) => parseBase64(p)), root));
      const cons = (await (await fetch(`${url}/v1/log/consistency?from=10&to=41`)).json()) as { proof: string[] };
      const { rootFromLeafHashes } = await import('../src/log/index.ts');
      const leaves: Uint8Array[] = [];
      for (let i = 0; i < 10; i++) leaves.push(hashLeaf((await s.log.getEntry(i))!));
      assert.ok(verifyConsistency(10, 41, cons.proof.map((p) => parseBase64(p)), rootFromLeafHashes(leaves), root));
      assert.equal((await fetch(`${url}/v1/log/inclusion?index=41`)).status, 400);
      assert.equal((await fetch(`${url}/v1/log/consistency?from=5&to=2`)).status, 400);

      // tiles: level-0 partial tile of width 41 = the 41 leaf hashes; entries bundle
      const tile = Buffer.from(await (await fetch(`${url}/tile/0/000.p/41`)).arrayBuffer());
      assert.equal(tile.length, 41 * 32);
      assert.deepEqual(new Uint8Array(tile.subarray(r0.log.index * 32, r0.log.index * 32 + 32)), hashLeaf(receiptEntry(r0.envelope)));
      const bundle = Buffer.from(await (await fetch(`${url}/tile/entries/000.p/41`)).arrayBuffer());
      assert.equal(bundle.readUInt16BE(0) > 0, true);
      assert.equal((await fetch(`${url}/tile/0/000`)).status, 404, 'full tile not yet available');
      assert.equal((await fetch(`${url}/tile/0/000.p/42`)).status, 404);
      assert.equal((await fetch(`${url}/tile/0/x`)).status, 404);

      // bad bodies
      const bad = async (b: unknown) => (await post(b)).status;
      assert.equal(await bad({ format: 'in-toto', statement: { _type: 'x' } }), 400);
      assert.equal(await bad({ format: 'in-toto', statement: { ...statement(1), subject: [{ digest: { sha256: 'ABC' } }] } }), 400);
      assert.equal(await bad({ format: 'dsse', payload_type: 'a' }), 400);
      assert.equal(await bad({ format: 'dsse', payload_type: 'a', payload_base64: '%%%' }), 400);
      assert.equal(await bad({ format: 'nope' }), 400);
      // over the receipt payload limit (issue #19: a documented limit with a clear 413, was 400)
      assert.equal(await bad({ format: 'dsse', payload_type: 'a', payload_base64: Buffer.alloc(50_000).toString('base64') }), 413);
    });
  });
}

test('receipts survive a restart: same log, same origin, new receipts extend it', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-rcpt2-'));
  try {
    let s = await startService({ dataDir: dir, host: '127.0.0.1', port: 0 });
    const tok = s.adminToken!;
    const post = (u: string) => fetch(u + '/v1/receipts', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${tok}` }, body: JSON.stringify({ format: 'in-toto', statement: statement(1) }) });
    const a = (await (await post(s.url)).json()) as any;
    await s.close();
    s = await startService({ dataDir: dir, host: '127.0.0.1', port: 0 });
    assert.equal(s.adminToken, undefined, 'the admin token is created only once');
    const b = (await (await post(s.url)).json()) as any;
    assert.equal(b.log.index, a.log.index + 1);
    assert.equal(b.log.origin, 'localhost/evident');
    assert.equal((await fetch(s.url + '/v1/receipts/' + a.id)).status, 200);
    await s.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
