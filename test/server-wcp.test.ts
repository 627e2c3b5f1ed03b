/**
 * Service e2e (real HTTP, SQLite and PostgreSQL): WCP registry routes — POST /v1/wcp/enroll (artifact_hash
 * recomputed over the lossless body; DENY_WORKER_TAMPERED on the vectors' tampered records), the ban list
 * (GET public / POST admin, its effect on enroll, verify and wcp receipts), GET /v1/wcp/verify/{worker_id}
 * (report model; tampering at rest detected), auth (401, 403 with an issue-only token) and schema errors (400);
 * the manifest HMAC when the service holds the WCP secret.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { computeArtifactHash, parseRecord } from '../src/profiles/wcp/registry.ts';
import { parseBanList } from '../src/profiles/wcp/verify.ts';
import { canonicalizePython } from '../src/kernel/json/index.ts';
import { testBackends, withService } from './service-env.ts';
import { startService } from '../src/server/service.ts';

const VEC = path.resolve(import.meta.dirname, '../../shared/vectors/wcp');
const RV = JSON.parse(fs.readFileSync(path.join(VEC, 'registry-artifact-hash-vectors.json'), 'utf8'));
const MV = JSON.parse(fs.readFileSync(path.join(VEC, 'manifest-vectors.json'), 'utf8'));

/** The vector's record as exact JSON text (number spelling kept) carrying `hash` as artifact_hash. */
function recordText(v: { id: string; record_json_text: string }, hash: string): string {
  const t = v.record_json_text.trimEnd();
  if (t.includes('"artifact_hash"')) return t.replace(/"artifact_hash": "[^"]*"/, `"artifact_hash": "${hash}"`);
  return t.replace(/}$/, `, "artifact_hash": "${hash}"}`);
}
const vec = (id: string) => RV.vectors.find((v: { id: string }) => v.id === id);

const backends = testBackends();

for (const [name, dbUrl] of backends) {
  test(`wcp routes on ${name}: enroll, tamper, manifest, ban list, verify, auth, schema`, async () => {
    await withService(dbUrl, 'evident-wcp-', { origin: 'test.example/evident' }, async (s) => {
      const url = s.url;
      const admin = s.adminToken!;
      const req = (method: string, p: string, body?: string | object, token: string | null = admin) =>
        fetch(url + p, {
          method,
          headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
        });
      const tokenWith = async (scopes: string[]) => ((await (await req('POST', '/v1/tokens', { scopes })).json()) as { token: string }).token;
      const issueOnly = await tokenWith(['issue']);
      const register = await tokenWith(['register']);
      const enroll = (text: string, token: string | null = register) => req('POST', '/v1/wcp/enroll', text, token);
      const json = async (r: Response) => (await r.json()) as any;

      // ---- every vector enrolls; artifact_hash is the pinned upstream value (synthetic-edge: 1.0, 1e+16, 1e-07)
      const enrolled: Record<string, any> = {};
      for (const v of RV.vectors) {
        const r = await enroll(`{"record": ${recordText(v, v.expected_artifact_hash)}}`);
        const b = await json(r);
        assert.equal(r.status, 201, `${v.id}: ${JSON.stringify(b)}`);
        assert.equal(b.artifact_hash, v.expected_artifact_hash);
        assert.equal(b.artifact_hash_verified, true);
        assert.equal(b.updated, false);
        assert.equal(b.log.origin, 'test.example/evident');
        assert.ok(Number.isSafeInteger(b.log.index));
        const entry = JSON.parse(Buffer.from((await s.log.getEntry(b.log.index))!).toString('utf8'));
        assert.equal(entry.type, 'evident.wcp.enroll/v1');
        assert.equal(entry.artifact_hash, v.expected_artifact_hash);
        enrolled[v.id] = b;
      }
      // re-enrollment: 200, updated, first enrolled_at kept, a new log event
      const ts = vec('ts-hello-worker');
      const again = await enroll(`{"record": ${recordText(ts, ts.expected_artifact_hash)}}`);
      const againB = await json(again);
      assert.equal(again.status, 200);
      assert.equal(againB.updated, true);
      assert.equal(againB.enrolled_at, enrolled['ts-hello-worker'].enrolled_at);
      assert.ok(againB.log.index > enrolled['ts-hello-worker'].log.index);

      // ---- tampered records: upstream's DENY_WORKER_TAMPERED (422)
      const tampered = recordText(ts, ts.expected_artifact_hash).replace('"low"', '"high"');
      let r = await enroll(`{"record": ${tampered}}`);
      assert.equal(r.status, 422);
      assert.equal((await json(r)).error, 'DENY_WORKER_TAMPERED');
      // number spelling is part of the hash: 1.0 → 1 is a different record (the body is parsed losslessly)
      const edge = vec('synthetic-edge');
      r = await enroll(`{"record": ${recordText(edge, edge.expected_artifact_hash).replace('"data": 1.0', '"data": 1')}}`);
      assert.equal(r.status, 422);
      assert.equal((await json(r)).error, 'DENY_WORKER_TAMPERED');
      // the upstream doc bug: a hash without the "sha256:" prefix does not match
      r = await enroll(`{"record": ${recordText(ts, ts.expected_artifact_hash.slice(7))}}`);
      assert.equal((await json(r)).error, 'DENY_WORKER_TAMPERED');

      // ---- auth
      assert.equal((await enroll(`{"record": ${recordText(ts, ts.expected_artifact_hash)}}`, null)).status, 401);
      r = await enroll(`{"record": ${recordText(ts, ts.expected_artifact_hash)}}`, issueOnly);
      assert.equal(r.status, 403);
      assert.equal((await json(r)).error, 'INSUFFICIENT_SCOPE');
      assert.equal((await req('POST', '/v1/wcp/ban-list', { sha256: '1'.repeat(64), reason: 'x' }, null)).status, 401);
      assert.equal((await req('POST', '/v1/wcp/ban-list', { sha256: '1'.repeat(64), reason: 'x' }, register)).status, 403, 'ban needs admin');
      assert.equal((await req('POST', '/v1/wcp/ban-list', { sha256: '1'.repeat(64), reason: 'x' }, issueOnly)).status, 403);

      // ---- schema (400, nothing coerced, nothing extra)
      const good = JSON.parse(recordText(ts, ts.expected_artifact_hash));
      const bad = async (body: unknown) => {
        const x = await enroll(typeof body === 'string' ? body : JSON.stringify(body));
        return [x.status, (await json(x)).error];
      };
      assert.deepEqual(await bad({}), [400, 'SCHEMA_INVALID']);
      assert.deepEqual(await bad({ record: good, extra: 1 }), [400, 'SCHEMA_INVALID']);
      assert.deepEqual(await bad({ record: { ...good, capabilities: [] } }), [400, 'SCHEMA_INVALID']);
      assert.deepEqual(await bad({ record: { ...good, worker_id: 42 } }), [400, 'SCHEMA_INVALID']);
      assert.deepEqual(await bad({ record: { ...good, worker_id: 'a/b' } }), [400, 'SCHEMA_INVALID']);
      const noHash = { ...good };
      delete noHash.artifact_hash;
      assert.deepEqual(await bad({ record: noHash }), [400, 'SCHEMA_INVALID']);
      assert.deepEqual(await bad({ record: good, manifest: { ...MV.manifests[0].manifest, schema_version: 'awp.v2' } }), [400, 'SCHEMA_INVALID']);
      assert.deepEqual(await bad('{"record": {"worker_id": "a", "worker_id": "b"}}'), [400, 'JSON_DUPLICATE_KEY']);
      assert.deepEqual(await bad('{"record": '), [400, 'JSON_SYNTAX']);

      // ---- manifest: identity, namespace, code_hash ↔ package_hash
      const m = MV.manifests[0].manifest;
      const withHash = (rec: Record<string, unknown>) => {
        const o = { ...rec };
        delete o.artifact_hash;
        return { ...o, artifact_hash: computeArtifactHash(parseRecord(JSON.stringify(o))) };
      };
      const mrec = withHash({ worker_id: m.worker_id, worker_species_id: m.worker_species_id, capabilities: ['cap.x'], attestation: { code_hash: m.package_hash } });
      r = await enroll(JSON.stringify({ record: mrec, manifest: m }));
      const mb = await json(r);
      assert.equal(r.status, 201, JSON.stringify(mb));
      assert.equal(mb.package_hash, m.package_hash);
      r = await enroll(JSON.stringify({ record: withHash({ ...mrec, worker_species_id: 'wrk.other' }), manifest: m }));
      assert.deepEqual([r.status, (await json(r)).error], [422, 'ATTEST_MANIFEST_ID_MISMATCH']);
      r = await enroll(JSON.stringify({ record: withHash({ ...mrec, attestation: { code_hash: 'f'.repeat(64) } }), manifest: m }));
      assert.deepEqual([r.status, (await json(r)).error], [422, 'ATTEST_HASH_MISMATCH']);
      r = await enroll(JSON.stringify({ record: withHash({ ...mrec, worker_id: 'wrk.no-tenant' }), manifest: { ...m, worker_id: 'wrk.no-tenant' } }));
      assert.deepEqual([r.status, (await json(r)).error], [422, 'ATTEST_NAMESPACE_INVALID']);
      r = await enroll(JSON.stringify({ record: mrec, manifest: { ...m, trust_statement: m.trust_statement.replace('org.example', 'org.evil') } }));
      assert.deepEqual([r.status, (await json(r)).error], [422, 'WCP_TRUST_STATEMENT_MISMATCH']);

      // ---- verify: the report model
      const verify = async (id: string) => {
        const x = await fetch(`${url}/v1/wcp/verify/${encodeURIComponent(id)}`);
        return [x.status, await json(x)];
      };
      for (const v of RV.vectors) {
        const [st, rep] = await verify(v.record.worker_id);
        assert.equal(st, 200);
        assert.equal(rep.valid, true, `${v.id}: ${JSON.stringify(rep)}`);
        assert.equal(rep.format, 'wcp.registry-record');
        assert.equal(rep.exitCode, 0);
        assert.deepEqual(rep.checks.map((c: any) => c.id), ['record', 'artifact_hash', 'enrollment.log', 'ban_list']);
      }
      let [st, rep] = await verify(m.worker_id);
      assert.equal(rep.valid, true, JSON.stringify(rep));
      assert.ok(rep.checks.some((c: any) => c.id === 'manifest' && c.ok));
      assert.equal((await verify('org.example.nobody'))[0], 404);
      assert.equal((await verify(' x'))[0], 400);

      // ---- ban list
      let list = await json(await fetch(url + '/v1/wcp/ban-list'));
      assert.deepEqual(list, []);
      const tsHex = ts.expected_artifact_hash.slice(7);
      r = await req('POST', '/v1/wcp/ban-list', { sha256: ts.expected_artifact_hash, reason: 'compromised build', source: 'test' });
      const ban = await json(r);
      assert.equal(r.status, 201, JSON.stringify(ban));
      assert.deepEqual([ban.sha256, ban.reason, ban.source, ban.review_status], [tsHex, 'compromised build', 'test', 'confirmed']);
      const banEvent = JSON.parse(Buffer.from((await s.log.getEntry(ban.log_index))!).toString('utf8'));
      assert.deepEqual([banEvent.type, banEvent.sha256], ['evident.wcp.ban/v1', tsHex]);
      r = await req('POST', '/v1/wcp/ban-list', { sha256: tsHex, reason: 'again' });
      assert.equal(r.status, 200, 'already banned: the existing entry');
      assert.equal((await json(r)).reason, 'compromised build');
      r = await req('POST', '/v1/wcp/ban-list', { sha256: m.package_hash, reason: 'bad package' });
      assert.equal(r.status, 201);
      list = await json(await fetch(url + '/v1/wcp/ban-list'));
      assert.deepEqual(list.map((e: any) => e.sha256).sort(), [tsHex, m.package_hash].sort());
      for (const e of list) assert.deepEqual(Object.keys(e).sort(), ['log_index', 'reason', 'reported_at', 'review_status', 'sha256', 'source']);
      // the document is what the WCP verifier's --ban-list reads
      assert.deepEqual([...parseBanList(JSON.stringify(list))].sort(), [tsHex, m.package_hash].sort());
      assert.equal((await json(await fetch(url + '/v1/wcp/ban-list?limit=1'))).length, 1);
      assert.equal((await fetch(url + '/v1/wcp/ban-list?limit=0')).status, 400);
      assert.equal((await fetch(url + '/v1/wcp/ban-list?other=1')).status, 400);
      for (const b of [{ sha256: 'xyz', reason: 'r' }, { sha256: tsHex.toUpperCase(), reason: 'r' }, { sha256: tsHex }, { sha256: tsHex, reason: '' }, { sha256: tsHex, reason: 'r', extra: 1 }]) {
        assert.equal((await req('POST', '/v1/wcp/ban-list', b)).status, 400, JSON.stringify(b));
      }
      // effect: verify fails on policy (exit 1), enrolling the banned record or the manifest's package is refused
      [st, rep] = await verify(ts.record.worker_id);
      assert.equal(st, 200);
      assert.deepEqual([rep.valid, rep.exitCode], [false, 1]);
      assert.equal(rep.checks.find((c: any) => c.id === 'ban_list').code, 'ATTEST_BANNED_HASH');
      [, rep] = await verify(m.worker_id);
      assert.deepEqual([rep.valid, rep.exitCode, rep.checks.at(-1).code], [false, 1, 'ATTEST_BANNED_HASH']);
      r = await enroll(`{"record": ${recordText(ts, ts.expected_artifact_hash)}}`);
      assert.deepEqual([r.status, (await json(r)).error], [422, 'ATTEST_BANNED_HASH']);
      r = await enroll(JSON.stringify({ record: mrec, manifest: m }));
      assert.deepEqual([r.status, (await json(r)).error], [422, 'ATTEST_BANNED_HASH']);
      // and no receipt is issued over a banned record
      r = await req('POST', '/v1/receipts', `{"format": "wcp", "record": ${recordText(ts, ts.expected_artifact_hash)}}`, issueOnly);
      assert.deepEqual([r.status, (await json(r)).error], [422, 'ATTEST_BANNED_HASH']);

      // ---- lifting a ban: admin only, a reason required, logged; the worker verifies again
      const unban = (sha: string, q: string, t?: string | null) => req('DELETE', `/v1/wcp/ban-list/${sha}${q}`, undefined, t);
      assert.equal((await unban(tsHex, '?reason=fixed', null)).status, 401);
      assert.equal((await unban(tsHex, '?reason=fixed', register)).status, 403, 'lifting needs admin');
      for (const [sha, q] of [[tsHex, ''], [tsHex, '?reason='], [tsHex, '?reason=x&other=1'], ['xyz', '?reason=x'], [tsHex.toUpperCase(), '?reason=x']]) {
        assert.equal((await unban(sha!, q!)).status, 400, `${sha} ${q}`);
      }
      assert.deepEqual([(r = await unban('2'.repeat(64), '?reason=x')).status, (await json(r)).error], [404, 'BAN_NOT_FOUND']);
      r = await unban('sha256:' + tsHex, '?reason=' + encodeURIComponent('false positive: rebuilt'));
      const lifted = await json(r);
      assert.equal(r.status, 200, JSON.stringify(lifted));
      assert.deepEqual([lifted.sha256, lifted.reason, lifted.ban.sha256, lifted.ban.reason, lifted.ban.log_index], [tsHex, 'false positive: rebuilt', tsHex, 'compromised build', ban.log_index]);
      const liftEvent = JSON.parse(Buffer.from((await s.log.getEntry(lifted.log_index))!).toString('utf8'));
      assert.deepEqual([liftEvent.type, liftEvent.sha256, liftEvent.reason, liftEvent.ban_log_index], ['evident.wcp.unban/v1', tsHex, 'false positive: rebuilt', ban.log_index]);
      assert.ok(lifted.log_index > ban.log_index);
      assert.equal((await unban(tsHex, '?reason=again')).status, 404, 'already lifted');
      assert.deepEqual((await json(await fetch(url + '/v1/wcp/ban-list'))).map((b: any) => b.sha256), [m.package_hash]);
      [, rep] = await verify(ts.record.worker_id);
      assert.deepEqual([rep.valid, rep.exitCode], [true, 0], 'the lifted hash no longer fails verification');
      [, rep] = await verify(m.worker_id);
      assert.deepEqual([rep.valid, rep.checks.at(-1).code], [false, 'ATTEST_BANNED_HASH'], 'the other ban stands');

      // ---- tampering at rest: the stored record edited in the database
      const go = vec('go-hello-worker');
      const update = async (record: string) => {
        const sql = 'UPDATE evident_wcp_workers SET record = ';
        if (s!.db.kind === 'sqlite') s!.db.db.prepare(sql + '? WHERE worker_id = ?').run(record, go.record.worker_id);
        else await s!.db.pool.query(sql + '$1 WHERE worker_id = $2', [record, go.record.worker_id]);
      };
      const goRec = parseRecord(recordText(go, go.expected_artifact_hash));
      await update(canonicalizePython({ ...goRec, risk_tier: 'none' }, { ensureAscii: true }));
      [, rep] = await verify(go.record.worker_id);
      assert.deepEqual([rep.valid, rep.exitCode], [false, 2]);
      assert.equal(rep.checks.find((c: any) => !c.ok).code, 'DENY_WORKER_TAMPERED');
      // edited consistently (new artifact_hash): the logged enrollment event no longer matches
      const forged = { ...goRec, risk_tier: 'none' } as Record<string, unknown>;
      delete forged.artifact_hash;
      forged.artifact_hash = computeArtifactHash(parseRecord(JSON.stringify(forged)));
      await update(canonicalizePython(forged, { ensureAscii: true }));
      [, rep] = await verify(go.record.worker_id);
      assert.deepEqual([rep.valid, rep.exitCode], [false, 2]);
      assert.equal(rep.checks.find((c: any) => !c.ok).code, 'LOG_ENTRY_MISMATCH');

      // ---- OpenAPI lists the routes
      const paths = (await json(await fetch(url + '/openapi.json'))).paths;
      for (const p of ['/v1/wcp/enroll', '/v1/wcp/ban-list', '/v1/wcp/verify/{worker_id}']) assert.ok(paths[p], p);
      assert.ok(paths['/v1/wcp/ban-list'].get && paths['/v1/wcp/ban-list'].post);
      assert.ok(paths['/v1/wcp/ban-list/{sha256}']?.delete, Object.keys(paths).join(' '));
    });
  });
}

test('wcp manifest HMAC: checked at enrollment and by GET /v1/wcp/verify when the service holds the WCP secret', async () => {
  delete process.env.WCP_ATTEST_HMAC_KEY; // "no secret" below means no secret
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-wcp-hmac-'));
  const m = MV.manifests[0].manifest;
  const secret: string = MV.manifests[0].inputs.signing_secret_utf8; // the vectors' test secret (public on purpose)
  const rec: Record<string, unknown> = { worker_id: m.worker_id, worker_species_id: m.worker_species_id, capabilities: ['cap.x'], attestation: { code_hash: m.package_hash } };
  rec.artifact_hash = computeArtifactHash(parseRecord(JSON.stringify(rec)));
  const start = (wcpHmacSecret?: string) => startService({ dataDir: dir, host: '127.0.0.1', port: 0, origin: 'test.example/evident', wcpHmacSecret });
  const flip = (h: string) => (h[0] === '0' ? '1' : '0') + h.slice(1);
  try {
    let s = await start(secret);
    try {
      const enroll = (manifest: unknown) =>
        fetch(s.url + '/v1/wcp/enroll', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${s.adminToken}` }, body: JSON.stringify({ record: rec, manifest }) });
      let r = await enroll({ ...m, signature_hmac_sha256: flip(m.signature_hmac_sha256) });
      assert.deepEqual([r.status, ((await r.json()) as any).error], [422, 'ATTEST_SIG_INVALID']);
      r = await enroll({ ...m, worker_version: '9.9.9' }); // a signed field changed
      assert.deepEqual([r.status, ((await r.json()) as any).error], [422, 'ATTEST_SIG_INVALID']);
      r = await enroll(m);
      assert.equal(r.status, 201, await r.text());
      const rep = (await (await fetch(s.url + `/v1/wcp/verify/${m.worker_id}`)).json()) as any;
      assert.deepEqual([rep.valid, rep.exitCode], [true, 0]);
      assert.match(rep.checks.find((c: any) => c.id === 'manifest').message, /HMAC-SHA256 verifies/);
    } finally {
      await s.close();
    }
    // the same registry served with another secret: the stored manifest no longer verifies (signature, exit 3)
    s = await start('another-secret');
    try {
      const rep = (await (await fetch(s.url + `/v1/wcp/verify/${m.worker_id}`)).json()) as any;
      assert.deepEqual([rep.valid, rep.exitCode], [false, 3]);
      assert.equal(rep.checks.find((c: any) => c.id === 'manifest').code, 'ATTEST_SIG_INVALID');
    } finally {
      await s.close();
    }
    // without a secret it is stored and reported unchecked
    s = await start();
    try {
      const rep = (await (await fetch(s.url + `/v1/wcp/verify/${m.worker_id}`)).json()) as any;
      assert.deepEqual([rep.valid, rep.exitCode], [true, 0]);
      assert.match(rep.checks.find((c: any) => c.id === 'manifest').message, /HMAC not checked/);
    } finally {
      await s.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
