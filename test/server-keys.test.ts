/**
 * Service key ring over HTTP (SQLite): rotation (admin route and `evident keys rotate`), revocation, JWKS and
 * /v1/keys status, receipts signed before a rotation still verifying offline with the retired key, files on disk
 * (0600 private keys, no private material in ring.json), restart and adoption of a pre-rotation data directory.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { startService, type RunningService } from '../src/server/service.ts';
import { writeKeyDir } from '../src/store/keyfiles.ts';

const BIN = path.resolve(import.meta.dirname, '../bin/evident.js');
const statement = (i: number) => ({
  _type: 'https://in-toto.io/Statement/v1',
  subject: [{ name: `a-${i}`, digest: { sha256: i.toString(16).padStart(64, '0') } }],
  predicateType: 'https://evident.dev/test/v1',
  predicate: { n: i },
});

interface KeyInfo { kid: string; status: string; created_at: string; retired_at?: string; revoked_at?: string; revocation_reason?: string; public_key_pem: string }

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const p = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: p.status, stdout: p.stdout, stderr: p.stderr };
}

test('key ring: rotate and revoke over HTTP, JWKS and /v1/keys status, old receipts verify with the retired key', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-keys-'));
  let s: RunningService | undefined;
  try {
    s = await startService({ dataDir: dir, host: '127.0.0.1', port: 0 });
    const url = s.url;
    const admin = s.adminToken!;
    const req = (method: string, p: string, body?: unknown, token: string | null = admin) =>
      fetch(url + p, {
        method,
        headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const keys = async () => ((await (await fetch(url + '/v1/keys')).json()) as { keys: KeyInfo[] }).keys;
    const jwks = async () => ((await (await fetch(url + '/.well-known/jwks.json')).json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid);
    const issue = async (i: number) => {
      const r = await req('POST', '/v1/receipts', { format: 'in-toto', statement: statement(i) });
      assert.equal(r.status, 201);
      return (await r.json()) as { id: string; envelope: { signatures: Array<{ keyid: string }> } };
    };
    const info = (await (await fetch(url + '/v1/log')).json()) as { vkey: string; sequencer: boolean };
    assert.equal(info.sequencer, true, 'SQLite: the one process sequences');
    const verify = (receipt: unknown, pem: string) => {
      fs.writeFileSync(path.join(dir, 'r.json'), JSON.stringify(receipt));
      fs.writeFileSync(path.join(dir, 'k.pem'), pem);
      return cli(['verify', path.join(dir, 'r.json'), '--key', path.join(dir, 'k.pem'), '--log-key', info.vkey, '--json']).status;
    };

    const [k1] = await keys();
    assert.equal(k1!.status, 'active');
    const r1 = await issue(1);
    assert.equal(r1.envelope.signatures[0]!.keyid, k1!.kid);

    // auth: admin scope only
    assert.equal((await req('POST', '/v1/keys/rotate', undefined, null)).status, 401);
    const issueTok = ((await (await req('POST', '/v1/tokens', { scopes: ['issue'] })).json()) as { token: string }).token;
    assert.equal((await req('POST', '/v1/keys/rotate', undefined, issueTok)).status, 403);
    assert.equal((await req('POST', `/v1/keys/${encodeURIComponent(k1!.kid)}/revoke`, undefined, issueTok)).status, 403);
    assert.equal((await req('POST', '/v1/keys/rotate', { alg: 'dsa' })).status, 400);
    assert.equal((await req('POST', '/v1/keys/rotate', { other: 1 })).status, 400);

    // rotate (bare POST, no body): the new key signs at once, the old one is retired and still published
    let res = await req('POST', '/v1/keys/rotate');
    assert.equal(res.status, 201);
    const rot = (await res.json()) as { active: KeyInfo; retired: string[] };
    assert.notEqual(rot.active.kid, k1!.kid);
    assert.deepEqual(rot.retired, [k1!.kid]);
    const k2 = rot.active;
    let ks = await keys();
    assert.deepEqual(ks.map((k) => [k.kid, k.status]), [[k2.kid, 'active'], [k1!.kid, 'retired']]);
    assert.ok(ks[1]!.retired_at);
    assert.deepEqual(await jwks(), [k2.kid, k1!.kid]);
    const r2 = await issue(2);
    assert.equal(r2.envelope.signatures[0]!.keyid, k2.kid);
    // offline: the receipt issued before the rotation verifies with the retired key (from /v1/keys), not the new one
    assert.equal(verify(r1, ks[1]!.public_key_pem), 0);
    assert.equal(verify(r2, k2.public_key_pem), 0);
    assert.notEqual(verify(r1, k2.public_key_pem), 0);
    const one = (await (await fetch(`${url}/v1/keys/${encodeURIComponent(k1!.kid)}`)).json()) as KeyInfo;
    assert.equal(one.status, 'retired');

    // files: ring.json holds no private material; every private key file is 0600 in a 0700 directory
    const ringDir = path.join(dir, 'keys', 'service');
    const ring = fs.readFileSync(path.join(ringDir, 'ring.json'), 'utf8');
    assert.ok(!/PRIVATE KEY|"d"\s*:/.test(ring), 'no private key in ring.json');
    const entries = (JSON.parse(ring) as { keys: Array<{ kid: string; private_key: string }> }).keys;
    assert.equal(entries.length, 2);
    for (const e of entries) {
      assert.equal(fs.statSync(path.join(ringDir, e.private_key)).mode & 0o777, 0o600, e.private_key);
      assert.equal(fs.statSync(path.dirname(path.join(ringDir, e.private_key))).mode & 0o777, 0o700);
    }
    assert.ok(!fs.existsSync(path.join(ringDir, 'ring.lock')), 'lock released');

    // revoke the retired key: out of the JWKS, marked in /v1/keys; twice changes nothing
    res = await req('POST', `/v1/keys/${encodeURIComponent(k1!.kid)}/revoke`, { reason: 'laptop lost' });
    assert.equal(res.status, 200);
    let rv = (await res.json()) as { revoked: KeyInfo; active: KeyInfo; rotated: boolean; already: boolean };
    assert.equal(rv.revoked.status, 'revoked');
    assert.equal(rv.revoked.revocation_reason, 'laptop lost');
    assert.equal(rv.rotated, false);
    assert.equal(rv.active.kid, k2.kid);
    assert.deepEqual(await jwks(), [k2.kid]);
    ks = await keys();
    assert.deepEqual(ks.map((k) => [k.kid, k.status]), [[k2.kid, 'active'], [k1!.kid, 'revoked']]);
    assert.ok(ks[1]!.revoked_at);
    rv = (await (await req('POST', `/v1/keys/${encodeURIComponent(k1!.kid)}/revoke`)).json()) as typeof rv;
    assert.equal(rv.already, true);
    assert.equal(rv.revoked.revoked_at, ks[1]!.revoked_at);
    assert.equal((await req('POST', `/v1/keys/${encodeURIComponent('sha256:' + '0'.repeat(64))}/revoke`)).status, 404);
    assert.equal((await req('POST', `/v1/keys/${encodeURIComponent(k2.kid)}/revoke`, { reason: 7 })).status, 400);

    // revoke the active key: a new key takes over first, the old one never signs again
    res = await req('POST', `/v1/keys/${encodeURIComponent(k2.kid)}/revoke`, { reason: 'compromised' });
    rv = (await res.json()) as typeof rv;
    assert.equal(rv.rotated, true);
    const k3 = rv.active;
    assert.ok(![k1!.kid, k2.kid].includes(k3.kid));
    assert.deepEqual(await jwks(), [k3.kid]);
    assert.equal((await issue(3)).envelope.signatures[0]!.keyid, k3.kid);
    ks = await keys();
    assert.deepEqual(ks.map((k) => k.status).sort(), ['active', 'revoked', 'revoked']);

    // the CLI rotates the ring on disk; the running service picks it up (ring.json re-read within ~1 s)
    const c = cli(['keys', 'rotate', '--data-dir', dir, '--json']);
    assert.equal(c.status, 0, c.stderr);
    const k4 = (JSON.parse(c.stdout) as { active: { kid: string }; retired: Array<{ kid: string }> });
    assert.deepEqual(k4.retired.map((e) => e.kid), [k3.kid]);
    const t0 = Date.now();
    while ((await keys())[0]!.kid !== k4.active.kid) {
      assert.ok(Date.now() - t0 < 5000, 'service sees the CLI rotation');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal((await issue(4)).envelope.signatures[0]!.keyid, k4.active.kid);
    const list = cli(['keys', 'list', '--data-dir', dir, '--json']);
    assert.equal(list.status, 0, list.stderr);
    assert.deepEqual((JSON.parse(list.stdout) as { keys: Array<{ status: string }> }).keys.map((k) => k.status), ['active', 'retired', 'revoked', 'revoked']);
    const crev = cli(['keys', 'revoke', k3.kid, '--data-dir', dir, '--reason', 'cli']);
    assert.equal(crev.status, 0, crev.stderr);
    assert.match(crev.stdout, /^revoked sha256:/);
    assert.equal(cli(['keys', 'revoke', 'sha256:nope', '--data-dir', dir]).status, 4, 'unknown kid: key error');

    const openapi = (await (await fetch(url + '/openapi.json')).json()) as { paths: Record<string, unknown> };
    for (const p of ['/v1/keys/rotate', '/v1/keys/{kid}/revoke']) assert.ok(openapi.paths[p], p);

    // restart: same ring, same active key
    await s.close();
    s = await startService({ dataDir: dir, host: '127.0.0.1', port: 0 });
    const after = ((await (await fetch(s.url + '/v1/keys')).json()) as { keys: KeyInfo[] }).keys;
    assert.equal(after[0]!.kid, k4.active.kid);
    assert.equal(after.length, 4);
  } finally {
    await s?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('key ring: a data directory from before rotation keeps its key (adopted as the active key)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-keys-legacy-'));
  let s: RunningService | undefined;
  try {
    const legacy = writeKeyDir(path.join(dir, 'keys', 'service'), 'ed25519');
    s = await startService({ dataDir: dir, host: '127.0.0.1', port: 0 });
    const ks = ((await (await fetch(s.url + '/v1/keys')).json()) as { keys: KeyInfo[] }).keys;
    assert.deepEqual(ks.map((k) => [k.kid, k.status]), [[legacy.kid, 'active']]);
    const ring = JSON.parse(fs.readFileSync(path.join(dir, 'keys', 'service', 'ring.json'), 'utf8')) as { keys: Array<{ private_key: string }> };
    assert.equal(ring.keys[0]!.private_key, 'private.pem');
    // the CLI refuses a data directory without service keys (instead of creating a ring there)
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-keys-none-'));
    try {
      assert.equal(cli(['keys', 'rotate', '--data-dir', empty]).status, 4);
      assert.ok(!fs.existsSync(path.join(empty, 'keys')));
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  } finally {
    await s?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
