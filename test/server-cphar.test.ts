/**
 * Service e2e for the CPHAR routes (src/server/routes/cphar.ts) on SQLite and PostgreSQL, over HTTP: seal
 * registration, inspection, lifecycle transitions, revocation, challenges, attestation verification with a software
 * seal, single-use nonces (also across two service instances sharing the database), bad input, 401/403.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair, publicKeyPem, publicKeyJwk, privateKeyPem } from '../src/kernel/keys.ts';
import { SoftwareSeal } from '../src/profiles/cphar/device.ts';
import { makeChallenge } from '../src/profiles/cphar/messages.ts';
import { parseJson, toPlain } from '../src/kernel/json/index.ts';
import { testBackends, withService } from './service-env.ts';
import { spawnServe } from './serve-process.ts';

const backends = testBackends();

const FW = 'sha256:' + 'ab'.repeat(32);
const FW_OTHER = 'sha256:' + 'cd'.repeat(32);

type Json = Record<string, any>;
interface Res {
  status: number;
  body: Json;
}

function client(url: string) {
  const call = async (method: string, p: string, body?: unknown, token?: string, raw?: string): Promise<Res> => {
    const headers: Record<string, string> = {};
    if (body !== undefined || raw !== undefined) headers['content-type'] = 'application/json';
    if (token) headers.authorization = `Bearer ${token}`;
    const r = await fetch(url + p, { method, headers, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)) });
    const text = await r.text();
    return { status: r.status, body: text ? (JSON.parse(text) as Json) : {} };
  };
  return {
    get: (p: string) => call('GET', p),
    post: (p: string, body: unknown, token?: string, raw?: string) => call('POST', p, body, token, raw),
  };
}


/** The code of a report's first non-ok check (these reports carry no warnings). */
const reason = (rep: Json) => (rep.checks as Json[]).find((c) => !c.ok)?.code;

for (const [name, baseUrl] of backends) {
  test(`cphar routes on ${name}: register, inspect, transitions, challenge, attest, replay, revoke, auth, bad input`, async () => {
    await withService(baseUrl, 'evident-srv-cphar-', { engineEnv: {} }, async (s, { dir, db }) => {
      let other: Awaited<ReturnType<typeof spawnServe>> | undefined;
      try {
        const { get, post } = client(s.url);
        const admin = s.adminToken!;
        const mk = async (scopes: string[]) => {
          const r = await post('/v1/tokens', { scopes }, admin);
          assert.equal(r.status, 201);
          return r.body.token as string;
        };
        const issueTok = await mk(['issue']);
        const registerTok = await mk(['register']);
        const logSize0 = (await get('/v1/log')).body.size as number;

        // ---- register
        const k = generateKeyPair('ed25519');
        const pem = publicKeyPem(k.publicKey);
        const reg = { seal_id: 'seal_01HZX3K9Q7M2V4N6P8R0T2A4C6', public_key: pem, alg: 'ed25519', firmware_measurements: [FW], lot: 'lot-1' };
        assert.equal((await post('/v1/seals', reg)).status, 401, 'no token');
        assert.equal((await post('/v1/seals', reg, 'evt_0000000000000000_' + 'A'.repeat(43))).status, 401, 'unknown token');
        let r = await post('/v1/seals', reg, issueTok);
        assert.deepEqual([r.status, r.body.error], [403, 'INSUFFICIENT_SCOPE']);
        const bad = async (body: unknown, status = 400) => {
          const x = await post('/v1/seals', body, registerTok);
          assert.equal(x.status, status, JSON.stringify(body).slice(0, 200));
          return x.body.error as string;
        };
        assert.equal(await bad({ ...reg, firmware_measurements: [] }), 'SCHEMA_INVALID');
        assert.equal(await bad({ ...reg, firmware_measurements: ['sha256:AB'] }), 'SCHEMA_INVALID');
        assert.equal(await bad({ ...reg, extra: 1 }), 'SCHEMA_INVALID');
        assert.equal(await bad({ ...reg, seal_id: 'bad id!' }), 'SCHEMA_INVALID');
        assert.equal(await bad({ ...reg, firmware_measurements: 'sha256:' + 'ab'.repeat(32) }), 'SCHEMA_INVALID', 'no coercion of a string to an array');
        assert.equal(await bad({ ...reg, public_key: privateKeyPem(k.privateKey) }), 'SCHEMA_INVALID', 'private key material is refused');
        assert.equal(await bad({ ...reg, public_key: { ...publicKeyJwk(k.privateKey), d: 'AAAA' } }), 'SCHEMA_INVALID', 'private JWK is refused');
        assert.equal(await bad({ ...reg, public_key: '-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n' }), 'KEY_INVALID');
        assert.equal(await bad({ ...reg, alg: 'es256' }), 'KEY_UNSUPPORTED', 'alg must match the key');
        assert.equal(await bad({ ...reg, public_key: publicKeyPem(generateKeyPair('rs256').publicKey), alg: undefined }), 'KEY_UNSUPPORTED', 'RSA seal keys are refused');
        assert.equal(await bad({ ...reg, lot: 'bad lot!' }), 'INPUT_INVALID');
        const dup = await post('/v1/seals', null, registerTok, '{"seal_id":"a","seal_id":"b"}');
        assert.deepEqual([dup.status, dup.body.error], [400, 'JSON_DUPLICATE_KEY']);

        r = await post('/v1/seals', reg, registerTok);
        assert.equal(r.status, 201, JSON.stringify(r.body));
        assert.equal(r.body.seal_id, reg.seal_id);
        assert.equal(r.body.alg, 'Ed25519');
        assert.equal(r.body.state, 'Registered');
        assert.equal(r.body.lot, 'lot-1');
        assert.deepEqual(r.body.firmware_measurements, [FW]);
        assert.equal(r.body.public_jwk.kty, 'OKP');
        assert.deepEqual([(await post('/v1/seals', reg, registerTok)).status, (await post('/v1/seals', reg, admin)).body.error], [409, 'SEAL_EXISTS']);
        const k2 = generateKeyPair('es256');
        r = await post('/v1/seals', { seal_id: 'seal_B', public_key: publicKeyJwk(k2.publicKey), firmware_measurements: [FW], lot: 'lot-1' }, registerTok);
        assert.deepEqual([r.status, r.body.error], [409, 'LOT_ALREADY_BOUND']);
        r = await post('/v1/seals', { seal_id: 'seal_B', public_key: publicKeyJwk(k2.publicKey), firmware_measurements: [FW, FW_OTHER], state: 'Manufactured' }, registerTok);
        assert.equal(r.status, 201, JSON.stringify(r.body));
        assert.deepEqual([r.body.alg, r.body.state, r.body.lot], ['ES256', 'Manufactured', null]);

        // ---- inspect (public)
        r = await get('/v1/seals/' + reg.seal_id);
        assert.equal(r.status, 200);
        assert.equal(r.body.seal.state, 'Registered');
        assert.equal(r.body.active, false);
        assert.equal(r.body.events.length, 1);
        assert.deepEqual([r.body.events[0].event, r.body.events[0].from, r.body.events[0].to], ['register', null, 'Registered']);
        r = await get('/v1/seals/seal_nope');
        assert.deepEqual([r.status, r.body.error], [404, 'SEAL_UNKNOWN']);
        assert.equal((await get('/v1/seals/' + encodeURIComponent('bad id!'))).status, 400);

        // ---- lifecycle transitions
        const state = (id: string, body: unknown, token: string | null = registerTok) => post(`/v1/seals/${id}/state`, body, token ?? undefined);
        assert.equal((await state(reg.seal_id, { state: 'Inspected' }, null)).status, 401);
        assert.equal((await state(reg.seal_id, { state: 'Inspected' }, issueTok)).status, 403);
        r = await state(reg.seal_id, { state: 'Sealed' });
        assert.deepEqual([r.status, r.body.error], [409, 'TRANSITION_INVALID'], 'Registered → Sealed skips inspection');
        assert.equal((await state(reg.seal_id, { state: 'Bogus' })).status, 400);
        assert.equal((await state(reg.seal_id, { state: 'Inspected', x: 1 })).status, 400);
        assert.equal((await state(reg.seal_id, {})).status, 400);
        r = await state('seal_nope', { state: 'Inspected' });
        assert.deepEqual([r.status, r.body.error], [404, 'SEAL_UNKNOWN']);
        r = await state(reg.seal_id, { state: 'Inspected', note: 'visual inspection passed' });
        assert.deepEqual([r.status, r.body.state], [200, 'Inspected']);
        r = await state(reg.seal_id, { state: 'Sealed' });
        assert.deepEqual([r.status, r.body.state], [200, 'Sealed']);
        r = await get('/v1/seals/' + reg.seal_id);
        assert.equal(r.body.active, true);
        assert.deepEqual(r.body.events.map((e: Json) => e.to), ['Registered', 'Inspected', 'Sealed']);
        assert.deepEqual(r.body.events[1].data, { note: 'visual inspection passed' });

        // ---- challenge
        assert.equal((await post('/v1/challenges', { seal_id: reg.seal_id })).status, 401);
        assert.equal((await post('/v1/challenges', { seal_id: reg.seal_id }, registerTok)).status, 403);
        assert.equal((await post('/v1/challenges', {}, issueTok)).status, 400);
        assert.equal((await post('/v1/challenges', { seal_id: reg.seal_id, domain: 'evil.example' }, issueTok)).status, 400);
        r = await post('/v1/challenges', { seal_id: 'seal_nope' }, issueTok);
        assert.deepEqual([r.status, r.body.error], [404, 'SEAL_UNKNOWN']);
        r = await post('/v1/challenges', { seal_id: reg.seal_id }, issueTok);
        assert.equal(r.status, 201);
        const c1 = r.body;
        assert.deepEqual(Object.keys(c1).sort(), ['domain', 'nonce', 'seal_id', 'timestamp', 'type', 'version']);
        assert.deepEqual([c1.type, c1.version, c1.seal_id, c1.domain], ['cphar.seal.challenge', '0.1', reg.seal_id, 'cphar.org']);
        assert.match(c1.nonce, /^[A-Za-z0-9_-]{43}$/);

        // ---- the device answers; the service verifies (report model), consumes the nonce, then refuses the replay
        const dev = new SoftwareSeal(k.privateKey, FW, reg.seal_id);
        const a1 = dev.respond(c1);
        const attest = (challenge: unknown, attestation: unknown, token: string | null = issueTok, base: string = s!.url) =>
          client(base).post('/v1/attestations', { challenge, attestation }, token ?? undefined);
        assert.equal((await attest(c1, a1, null)).status, 401);
        assert.equal((await attest(c1, a1, registerTok)).status, 403);
        r = await attest(c1, a1);
        assert.equal(r.status, 200);
        assert.deepEqual([r.body.valid, r.body.format, r.body.mode, r.body.exitCode], [true, 'cphar.attestation', 'strict', 0], JSON.stringify(r.body));
        assert.deepEqual(Object.keys(r.body).sort(), ['checks', 'exitCode', 'format', 'mode', 'valid']);
        r = await attest(c1, a1);
        assert.equal(r.status, 200, 'invalid is still 200 with the report');
        assert.deepEqual([r.body.valid, r.body.exitCode, reason(r.body)], [false, 1, 'REPLAY']);

        // a failed verification does not burn the nonce
        const c2 = (await post('/v1/challenges', { seal_id: reg.seal_id }, issueTok)).body;
        r = await attest(c2, new SoftwareSeal(k.privateKey, FW_OTHER).respond(c2));
        assert.deepEqual([r.body.valid, r.body.exitCode, reason(r.body)], [false, 1, 'FIRMWARE_MISMATCH']);
        r = await attest(c2, new SoftwareSeal(generateKeyPair('ed25519').privateKey, FW).respond(c2));
        assert.deepEqual([r.body.exitCode, reason(r.body)], [3, 'SIGNATURE_INVALID']);
        r = await attest(c2, { ...dev.respond(c2), challenge_hash: 'sha256:' + '00'.repeat(32) });
        assert.deepEqual([r.body.exitCode, reason(r.body)], [2, 'CHALLENGE_HASH_MISMATCH']);
        r = await attest(c2, dev.respond(c2));
        assert.deepEqual([r.body.valid, r.body.exitCode], [true, 0], JSON.stringify(r.body));

        // nonces this service did not issue are refused; malformed values are reported; bad structure is 400
        const own = makeChallenge(reg.seal_id);
        r = await attest(own, dev.respond(own));
        assert.deepEqual([r.body.exitCode, reason(r.body)], [1, 'NONCE_UNKNOWN']);
        r = await attest({ ...c2, nonce: 'short' }, a1);
        assert.deepEqual([r.status, r.body.exitCode, reason(r.body)], [200, 10, 'MESSAGE_INVALID']);
        r = await attest({ ...c2, type: 'other' }, a1);
        assert.deepEqual([r.status, r.body.exitCode, reason(r.body)], [200, 10, 'MESSAGE_INVALID']);
        assert.equal((await attest({ ...c2, extra: 'x' }, a1)).status, 400);
        assert.equal((await attest(c2, { ...a1, signature: 5 })).status, 400, 'no coercion');
        assert.equal((await client(s.url).post('/v1/attestations', { challenge: c2 }, issueTok)).status, 400);
        // seal B is registered but Manufactured (not active): challenged, yet its attestation is refused
        const cB = (await post('/v1/challenges', { seal_id: 'seal_B' }, issueTok)).body;
        r = await attest(cB, new SoftwareSeal(k2.privateKey, FW, 'seal_B').respond(cB));
        assert.deepEqual([r.body.exitCode, reason(r.body)], [4, 'SEAL_NOT_ACTIVE']);

        // ---- replay across two service processes sharing the database: exactly one acceptance
        other = await spawnServe(dir, db);
        const c3 = (await post('/v1/challenges', { seal_id: reg.seal_id }, issueTok)).body;
        const a3 = dev.respond(c3);
        r = await attest(c3, a3, issueTok, other.url);
        assert.deepEqual([r.body.valid, r.body.exitCode], [true, 0], 'a challenge issued by instance 1 verifies on instance 2');
        r = await attest(c3, a3, issueTok);
        assert.deepEqual([r.body.exitCode, reason(r.body)], [1, 'REPLAY'], 'replayed on instance 1');
        const c4 = (await post('/v1/challenges', { seal_id: reg.seal_id }, issueTok)).body;
        const a4 = dev.respond(c4);
        const both = await Promise.all(Array.from({ length: 8 }, (_, i) => attest(c4, a4, issueTok, i % 2 ? other!.url : s!.url)));
        assert.deepEqual(both.map((x) => x.body.valid).filter(Boolean).length, 1, 'concurrent submissions to two processes: one valid');
        assert.ok(both.filter((x) => !x.body.valid).every((x) => reason(x.body) === 'REPLAY'));

        // ---- revoke
        const revoke = (id: string, body: unknown, token: string | null = registerTok) => post(`/v1/seals/${id}/revoke`, body, token ?? undefined);
        const c5 = (await post('/v1/challenges', { seal_id: reg.seal_id }, issueTok)).body;
        assert.equal((await revoke(reg.seal_id, { reason: 'tamper' }, null)).status, 401);
        assert.equal((await revoke(reg.seal_id, { reason: 'tamper' }, issueTok)).status, 403);
        assert.equal((await revoke(reg.seal_id, {})).status, 400);
        assert.equal((await revoke(reg.seal_id, { reason: '' })).status, 400);
        r = await revoke('seal_nope', { reason: 'x' });
        assert.deepEqual([r.status, r.body.error], [404, 'SEAL_UNKNOWN']);
        r = await revoke(reg.seal_id, { reason: 'tamper evidence found' });
        assert.deepEqual([r.status, r.body.state], [200, 'Revoked']);
        r = await revoke(reg.seal_id, { reason: 'again' });
        assert.deepEqual([r.status, r.body.error], [409, 'TRANSITION_INVALID'], 'Revoked is terminal');
        r = await state(reg.seal_id, { state: 'Sealed' });
        assert.deepEqual([r.status, r.body.error], [409, 'TRANSITION_INVALID']);
        r = await attest(c5, dev.respond(c5));
        assert.deepEqual([r.body.valid, r.body.exitCode, reason(r.body)], [false, 4, 'SEAL_REVOKED']);
        r = await get('/v1/seals/' + reg.seal_id);
        assert.equal(r.body.active, false);
        const last = r.body.events.at(-1);
        assert.deepEqual([last.event, last.from, last.to, last.data], ['revoke', 'Sealed', 'Revoked', { reason: 'tamper evidence found' }]);
        // the lot is free again
        r = await post('/v1/seals', { seal_id: 'seal_C', public_key: pem, firmware_measurements: [FW], lot: 'lot-1' }, admin);
        assert.equal(r.status, 201);

        // ---- concurrent registrations binding one lot: exactly one wins, atomically
        const race = await Promise.all(
          Array.from({ length: 10 }, (_, i) => post('/v1/seals', { seal_id: `seal_R${i}`, public_key: pem, firmware_measurements: [FW], lot: 'lot-race' }, registerTok)),
        );
        assert.deepEqual(race.map((x) => x.status).sort(), [201, 409, 409, 409, 409, 409, 409, 409, 409, 409]);
        assert.ok(race.filter((x) => x.status === 409).every((x) => x.body.error === 'LOT_ALREADY_BOUND'));
        const winner = race.find((x) => x.status === 201)!.body.seal_id as string;

        // ---- every registry event entered the transparency log
        const events: Json[] = [];
        for (const id of [reg.seal_id, 'seal_B', 'seal_C', winner]) events.push(...(await get('/v1/seals/' + id)).body.events);
        const size = (await get('/v1/log')).body.size as number;
        assert.equal(size - logSize0, events.length);
        const logged = new Set<number>();
        for (let i = logSize0; i < size; i++) {
          const e = toPlain(parseJson((await s.log.getEntry(i))!)) as Json;
          assert.equal(e.type, 'cphar.registry.event');
          logged.add(e.seq);
        }
        assert.deepEqual([...logged].sort((x, y) => x - y), events.map((e) => e.seq).sort((x, y) => x - y));

        // ---- OpenAPI and metrics
        const openapi = (await get('/openapi.json')).body;
        for (const p of ['/v1/seals', '/v1/seals/{id}', '/v1/seals/{id}/state', '/v1/seals/{id}/revoke', '/v1/challenges', '/v1/attestations']) assert.ok(openapi.paths[p], p);
        assert.ok(openapi.paths['/v1/seals'].post.requestBody);
        const metrics = await (await fetch(s.url + '/metrics')).text();
        assert.match(metrics, /evident_cphar_attestations_total\{result="REPLAY"\} \d+/);
      } finally {
        await other?.stop();
      }
    });
  });
}
