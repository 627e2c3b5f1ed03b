/**
 * Service e2e for the HarmonyØ4 engine routes (src/server/routes/engine.ts) on SQLite and PostgreSQL, over HTTP:
 * engine info, strict signed nonce-bound attestation (single use, also across two processes sharing the database),
 * the upstream-compatible /compress paths (unsigned), a sealed engine pinned by the environment, and the start-up
 * refusal when the pins do not match (in process and `evident serve` in a child process).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { startService, type RunningService } from '../src/server/service.ts';
import { sha256Hex } from '../src/kernel/digest.ts';
import { attestationHash, checkCompatAttestation, verifySignedAttestation, MemoryNonceStore } from '../src/profiles/h4/attest.ts';
import { testBackends, withService } from './service-env.ts';
import { cleanEnv, spawnServe } from './serve-process.ts';

const BIN = path.resolve(import.meta.dirname, '../bin/evident.js');
const backends = testBackends();

type Json = Record<string, any>;
const ENGINE_SRC = "export const id = 'test-core-v1';\nexport function compress(b) { return b.slice(); }\nexport function decompress(b) { return b.slice(); }\n";

function writeEngine(dir: string): { path: string; fp: string } {
  const p = path.join(dir, 'core.mjs');
  fs.writeFileSync(p, ENGINE_SRC);
  return { path: p, fp: sha256Hex(fs.readFileSync(p)) };
}

async function getJson(url: string): Promise<{ status: number; body: Json; headers: Headers }> {
  const r = await fetch(url);
  return { status: r.status, body: (await r.json()) as Json, headers: r.headers };
}

for (const [name, baseUrl] of backends) {
  test(`engine routes on ${name}: info, signed attestation + replay, compat paths, bad input`, async () => {
    await withService(baseUrl, 'evident-srv-engine-', { engineEnv: {} }, async (s, { dir, db }) => {
      let other: Awaited<ReturnType<typeof spawnServe>> | undefined;
      try {
        const url = s.url;

        // info: the open reference engine, unsealed
        let r = await getJson(url + '/v1/engine/info');
        assert.equal(r.status, 200);
        assert.deepEqual(
          [r.body.engine, r.body.engine_id, r.body.fingerprint, r.body.sealed, r.body.deterministic, r.body.source, r.body.name],
          ['geometric-reference', 'unknown', 'unknown', false, true, 'none', 'reference-rle'],
        );
        assert.deepEqual(r.body.builtin, ['reference-rle', 'deflate', 'brotli']);
        assert.equal(r.body.path, undefined, 'no server file paths');

        // upstream /compress/info: engine.info() (META compression block), nothing else
        r = await getJson(url + '/compress/info');
        assert.equal(r.status, 200);
        assert.deepEqual(Object.keys(r.body), ['engine', 'engine_id', 'fingerprint', 'deterministic', 'identity_safe', 'opaque', 'sealed']);
        // upstream /compress/attest: attest() shape, hash checks out, reported unsigned
        const before = Math.floor(Date.now() / 1000);
        r = await getJson(url + '/compress/attest');
        assert.equal(r.status, 200);
        assert.deepEqual(Object.keys(r.body), ['engine_id', 'fingerprint', 'timestamp_unix', 'attestation_hash', 'sealed', 'engine']);
        assert.ok(r.body.timestamp_unix >= before && r.body.timestamp_unix <= Math.floor(Date.now() / 1000));
        assert.equal(r.body.attestation_hash, attestationHash('unknown', 'unknown', r.body.timestamp_unix));
        assert.match(r.headers.get('x-evident-warning') ?? '', /^ATTEST_UNSIGNED/);
        assert.equal(r.headers.get('cache-control'), 'no-store');
        const compat = checkCompatAttestation(r.body, 'compat');
        assert.equal(compat.exitCode, 0);
        assert.ok(compat.checks.some((c) => c.code === 'ATTEST_UNSIGNED'));
        assert.equal(checkCompatAttestation(r.body, 'strict').exitCode, 3, 'strict: unsigned is not acceptable');

        // strict attestation: signed with the service's active key, bound to the nonce, single use
        const keys = (await getJson(url + '/v1/keys')).body.keys as Json[];
        const pemFile = path.join(dir, 'service.pem');
        fs.writeFileSync(pemFile, keys[0]!.public_key_pem);
        const nonce = 'verifier-nonce-0123456789';
        r = await getJson(`${url}/v1/engine/attest?nonce=${nonce}`);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        const att = r.body;
        assert.deepEqual([att.type, att.nonce, att.sealed, att.alg, att.kid], ['evident.h4.attestation.v1', nonce, false, 'ed25519', keys[0]!.kid]);
        assert.equal(Date.parse(att.expires_at) - Date.parse(att.issued_at), 300_000, 'default lifetime 300 s');
        assert.equal(r.headers.get('cache-control'), 'no-store');
        const rep = await verifySignedAttestation(att, { keys: [pemFile], nonceStore: new MemoryNonceStore(), expectedNonce: nonce });
        assert.equal(rep.exitCode, 0, JSON.stringify(rep.toJSON()));
        assert.ok(rep.checks.some((c) => c.code === 'ENGINE_UNSEALED'));
        r = await getJson(`${url}/v1/engine/attest?nonce=${nonce}`);
        assert.deepEqual([r.status, r.body.error], [409, 'REPLAY']);
        // '+', '/' and '=' are nonce characters; percent-encoded in the query
        const n2 = 'abc+def/ghi=jkl0123456';
        r = await getJson(`${url}/v1/engine/attest?nonce=${encodeURIComponent(n2)}&ttl=60`);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body.nonce, n2);
        assert.equal(Date.parse(r.body.expires_at) - Date.parse(r.body.issued_at), 60_000);

        // bad input: missing/short/bad-character nonce, bad ttl, unknown parameter
        const bad = async (q: string, code: string) => {
          const x = await getJson(`${url}/v1/engine/attest${q}`);
          assert.deepEqual([x.status, x.body.error], [400, code], q);
        };
        await bad('', 'SCHEMA_INVALID');
        await bad('?nonce=short', 'NONCE_INVALID');
        await bad('?nonce=' + encodeURIComponent('has space 0123456789'), 'NONCE_INVALID');
        await bad('?nonce=' + 'x'.repeat(257), 'NONCE_INVALID');
        await bad('?nonce=fine-nonce-0123456789&ttl=0', 'SCHEMA_INVALID');
        await bad('?nonce=fine-nonce-0123456789&ttl=abc', 'SCHEMA_INVALID');
        await bad('?nonce=fine-nonce-0123456789&ttl=3601', 'INPUT_INVALID');
        await bad('?nonce=fine-nonce-0123456789&extra=1', 'SCHEMA_INVALID');
        // a refused request did not burn the nonce
        assert.equal((await getJson(`${url}/v1/engine/attest?nonce=fine-nonce-0123456789`)).status, 200);

        // single use across processes sharing the database
        other = await spawnServe(dir, db);
        r = await getJson(`${other.url}/v1/engine/attest?nonce=${nonce}`);
        assert.deepEqual([r.status, r.body.error], [409, 'REPLAY'], 'a nonce used on instance 1 is refused by instance 2');
        const n3 = 'concurrent-nonce-0123456789';
        const all = await Promise.all(Array.from({ length: 8 }, (_, i) => getJson(`${i % 2 ? other!.url : url}/v1/engine/attest?nonce=${n3}`)));
        assert.deepEqual(all.map((x) => x.status).sort(), [200, 409, 409, 409, 409, 409, 409, 409]);

        const openapi = (await getJson(url + '/openapi.json')).body;
        for (const p of ['/v1/engine/info', '/v1/engine/attest', '/compress/info', '/compress/attest']) assert.ok(openapi.paths[p], p);
      } finally {
        await other?.stop();
      }
    });
  });
}

test('sealed engine pinned by the environment: info, attestation, compat paths report it', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-srv-sealed-'));
  let s: RunningService | undefined;
  try {
    const mod = writeEngine(dir);
    // HARMONY4_* names are accepted too
    s = await startService({ dataDir: path.join(dir, 'data'), host: '127.0.0.1', port: 0, engineEnv: { HARMONY4_ENGINE_ID: 'test-core-v1', HARMONY4_ENGINE_FP: mod.fp, HARMONY4_CORE_PATH: mod.path } });
    let r = await getJson(s.url + '/v1/engine/info');
    assert.deepEqual([r.body.engine, r.body.engine_id, r.body.fingerprint, r.body.sealed, r.body.source], ['core', 'test-core-v1', mod.fp, true, 'env']);
    r = await getJson(s.url + '/compress/attest');
    assert.deepEqual([r.body.engine_id, r.body.fingerprint, r.body.sealed, r.body.engine], ['test-core-v1', mod.fp, true, 'core']);
    assert.equal(r.body.attestation_hash, attestationHash('test-core-v1', mod.fp, r.body.timestamp_unix));
    const nonce = 'sealed-engine-nonce-0001';
    r = await getJson(`${s.url}/v1/engine/attest?nonce=${nonce}`);
    assert.equal(r.status, 200);
    const pem = ((await getJson(s.url + '/v1/keys')).body.keys as Json[])[0]!.public_key_pem as string;
    fs.writeFileSync(path.join(dir, 'svc.pem'), pem);
    const rep = await verifySignedAttestation(r.body, {
      keys: [path.join(dir, 'svc.pem')],
      nonceStore: new MemoryNonceStore(),
      expectedNonce: nonce,
      expect: { engine_id: 'test-core-v1', fingerprint: mod.fp },
    });
    assert.equal(rep.exitCode, 0, JSON.stringify(rep.toJSON()));
    assert.ok(!rep.checks.some((c) => c.code === 'ENGINE_UNSEALED'));
  } finally {
    await s?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('start-up refusal: pins that do not match stop startService before anything is created or listened on', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-srv-refuse-'));
  try {
    const mod = writeEngine(dir);
    const cases: Array<[string, Record<string, string>, string]> = [
      ['wrong id', { EVIDENT_ENGINE_ID: 'other-core', EVIDENT_ENGINE_FP: mod.fp, EVIDENT_ENGINE_PATH: mod.path }, 'H4_ENGINE_ID_MISMATCH'],
      ['wrong fingerprint', { EVIDENT_ENGINE_ID: 'test-core-v1', EVIDENT_ENGINE_FP: '00'.repeat(32), EVIDENT_ENGINE_PATH: mod.path }, 'H4_ENGINE_FP_MISMATCH'],
      ['missing module', { EVIDENT_ENGINE_ID: 'test-core-v1', EVIDENT_ENGINE_FP: mod.fp, EVIDENT_ENGINE_PATH: path.join(dir, 'gone.mjs') }, 'H4_ENGINE_MISSING'],
      ['no module path', { EVIDENT_ENGINE_ID: 'test-core-v1', EVIDENT_ENGINE_FP: mod.fp }, 'H4_ENGINE_MISSING'],
      ['id only', { EVIDENT_ENGINE_ID: 'test-core-v1' }, 'H4_ENGINE_PIN_MISSING'],
      ['names disagree', { EVIDENT_ENGINE_ID: 'test-core-v1', HARMONY4_ENGINE_ID: 'other', EVIDENT_ENGINE_FP: mod.fp, EVIDENT_ENGINE_PATH: mod.path }, 'H4_ENGINE_PIN_CONFLICT'],
    ];
    for (const [label, env, code] of cases) {
      const dataDir = path.join(dir, 'data-' + code);
      await assert.rejects(startService({ dataDir, host: '127.0.0.1', port: 0, engineEnv: env }), { code }, label);
      assert.equal(fs.existsSync(dataDir), false, `${label}: nothing created`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('`evident serve` with a wrong EVIDENT_ENGINE_ID exits non-zero with the code, without listening', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-serve-refuse-'));
  try {
    const mod = writeEngine(dir);
    const dataDir = path.join(dir, 'data');
    const run = (pins: Record<string, string>) => {
      const t0 = Date.now();
      const r = spawnSync(process.execPath, [BIN, 'serve', '--port', '0', '--data-dir', dataDir], { env: cleanEnv(pins), encoding: 'utf8', timeout: 60_000 });
      return { ...r, ms: Date.now() - t0 };
    };
    let r = run({ EVIDENT_ENGINE_ID: 'wrong-core', EVIDENT_ENGINE_FP: mod.fp, EVIDENT_ENGINE_PATH: mod.path });
    assert.equal(r.signal, null, 'exited by itself (not killed by the timeout)');
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /H4_ENGINE_ID_MISMATCH/);
    assert.doesNotMatch(r.stderr, /listening/);
    assert.ok(r.ms < 30_000, `took ${r.ms} ms`);
    assert.equal(fs.existsSync(dataDir), false, 'no data directory, keys or database created');
    // only the id pinned: refused as well (both id and fingerprint are required)
    r = run({ EVIDENT_ENGINE_ID: 'wrong-core' });
    assert.equal(r.signal, null);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /H4_ENGINE_PIN_MISSING/);
    assert.doesNotMatch(r.stderr, /listening/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
