/**
 * Service e2e: the real server (startService) on SQLite and on PostgreSQL, every route over HTTP, bad input,
 * missing and insufficient tokens.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateKeyPair, publicKeyPem } from '../src/kernel/keys.ts';
import { signDsse } from '../src/kernel/dsse.ts';
import { startService, type RunningService } from '../src/server/service.ts';
import { testPostgresUrl } from '../src/store/db.ts';
import { RateLimiter } from '../src/server/ratelimit.ts';
import { freshPgDatabase } from './pg-fresh.ts';

const backends: Array<[string, (dir: string) => string | undefined]> = [['sqlite', () => undefined]];
const pg = testPostgresUrl();
if (pg) backends.push(['postgres', () => pg]);
else if (process.env.CI) throw new Error('CI must set EVIDENT_TEST_PG');

for (const [name, dbFor] of backends) {
  test(`service on ${name}: health, keys, verify, tokens, limits, openapi`, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-srv-'));
    let s: RunningService | undefined;
    let fresh: Awaited<ReturnType<typeof freshPgDatabase>> | undefined;
    try {
      fresh = name === 'postgres' ? await freshPgDatabase(dbFor(dir)!) : undefined;
      s = await startService({ dataDir: dir, db: fresh?.url, host: '127.0.0.1', port: 0 });
      const url = s.url;
      assert.match(s.adminToken ?? '', /^evt_[0-9a-f]{16}_/);
      assert.equal((fs.statSync(path.join(dir, 'keys/service/private.pem')).mode & 0o777), 0o600);
      const get = (p: string) => fetch(url + p);
      const post = (p: string, body: unknown, token?: string, raw?: string) =>
        fetch(url + p, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: raw ?? JSON.stringify(body) });

      assert.deepEqual(await (await get('/healthz')).json(), { status: 'ok', version: '0.1.0' });
      assert.equal((await get('/readyz')).status, 200);
      const jwks = (await (await get('/.well-known/jwks.json')).json()) as { keys: Array<{ kid: string; kty: string; d?: string }> };
      assert.equal(jwks.keys.length, 1);
      assert.equal(jwks.keys[0]!.kty, 'OKP');
      assert.equal(jwks.keys[0]!.d, undefined, 'never a private member');
      const kid = jwks.keys[0]!.kid;
      const one = (await (await get(`/v1/keys/${encodeURIComponent(kid)}`)).json()) as { kid: string; public_key_pem: string; status: string };
      assert.equal(one.kid, kid);
      assert.match(one.public_key_pem, /BEGIN PUBLIC KEY/);
      assert.equal((await get('/v1/keys/nope')).status, 404);
      assert.equal(((await (await get('/v1/keys')).json()) as { keys: unknown[] }).keys.length, 1);

      // verify: a DSSE envelope with a pinned inline key → valid; tampered → 3; no key → 4
      const k = generateKeyPair('ed25519');
      const env = signDsse('text/plain', 'hello', k.privateKey);
      const pem = publicKeyPem(k.publicKey);
      let r = (await (await post('/v1/verify', { artifact: env, keys: [pem] })).json()) as { valid: boolean; exitCode: number; format: string };
      assert.equal(r.valid, true);
      assert.equal(r.format, 'dsse');
      r = (await (await post('/v1/verify', { artifact: { ...env, payload: Buffer.from('hellO').toString('base64') }, keys: [pem] })).json()) as typeof r;
      assert.equal(r.exitCode, 3);
      r = (await (await post('/v1/verify', { artifact: env })).json()) as typeof r;
      assert.equal(r.exitCode, 4);
      r = (await (await post('/v1/verify', { artifact_base64: Buffer.from(JSON.stringify(env)).toString('base64'), keys: [pem] })).json()) as typeof r;
      assert.equal(r.valid, true);
      // an artifact whose verifier refuses a value (1e999 → Infinity in a HashMatch receipt) is a report, not a 500
      let res: Response;
      const hmDir = path.resolve(import.meta.dirname, '../../shared/vectors/hashmatch/generated');
      const infRec = fs.readFileSync(path.join(hmDir, 'tournament-42/tournament_receipt.json'), 'utf8').replace(/"matchCount":\d+/, '"matchCount":1e999');
      res = await post('/v1/verify', { artifact_base64: Buffer.from(infRec).toString('base64'), keys: [fs.readFileSync(path.join(hmDir, 'keys/organizer.pub'), 'utf8')] });
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { exitCode: number }).exitCode, 10);
      // a caller can never make the server read its own files as keys
      res = await post('/v1/verify', { artifact: env, keys: ['/etc/passwd'] });
      assert.equal(res.status, 400);
      // bad input: schema, duplicate keys, depth, size, media type, bad base64
      assert.equal((await post('/v1/verify', { artifact: env, extra: 1 })).status, 400);
      assert.equal((await post('/v1/verify', {})).status, 400);
      res = await post('/v1/verify', null, undefined, '{"artifact":1,"artifact":2}');
      assert.equal(res.status, 400);
      assert.equal(((await res.json()) as { error: string }).error, 'JSON_DUPLICATE_KEY');
      res = await post('/v1/verify', null, undefined, '{"artifact":' + '['.repeat(100) + ']'.repeat(100) + '}');
      assert.equal(res.status, 400);
      assert.match(((await res.json()) as { message: string }).message, /limit of 64/);
      res = await post('/v1/verify', { artifact: 'x'.repeat(2 * 1024 * 1024) });
      assert.equal(res.status, 413);
      assert.match(((await res.json()) as { message: string }).message, /limit of 1048576 bytes/);
      res = await fetch(url + '/v1/verify', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
      assert.equal(res.status, 415);
      assert.equal((await post('/v1/verify', { artifact_base64: 'not base64!' })).status, 400);

      // tokens: missing → 401, malformed/unknown → 401, insufficient scope → 403, admin → 201
      assert.equal((await post('/v1/tokens', { scopes: ['issue'] })).status, 401);
      assert.equal((await post('/v1/tokens', { scopes: ['issue'] }, 'evt_0000000000000000_' + 'A'.repeat(43))).status, 401);
      assert.equal((await post('/v1/tokens', { scopes: ['issue'] }, 'garbage')).status, 401);
      res = await post('/v1/tokens', { scopes: ['issue'] }, s.adminToken);
      assert.equal(res.status, 201);
      const issueTok = ((await res.json()) as { token: string }).token;
      assert.equal((await post('/v1/tokens', { scopes: ['admin'] }, issueTok)).status, 403);
      assert.equal((await post('/v1/tokens', { scopes: ['root'] }, s.adminToken)).status, 400);

      const metrics = await (await get('/metrics')).text();
      assert.match(metrics, /evident_http_requests_total\{method="POST",route="\/v1\/verify",status="200"\} \d+/);
      assert.ok(!metrics.includes(s.adminToken!), 'metrics never contain tokens');
      const openapi = (await (await get('/openapi.json')).json()) as { openapi: string; paths: Record<string, unknown> };
      assert.equal(openapi.openapi, '3.1.0');
      for (const p of ['/healthz', '/v1/verify', '/v1/keys/{kid}', '/.well-known/jwks.json', '/v1/tokens']) assert.ok(openapi.paths[p], p);
      assert.equal((await get('/nope')).status, 404);
      assert.equal(res.headers.get('access-control-allow-origin'), null, 'CORS off');
    } finally {
      await s?.close();
      await fresh?.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('rate limit: token bucket per token, 429 with Retry-After over HTTP', async () => {
  const rl = new RateLimiter({ perSecond: 10, burst: 2 });
  assert.equal(rl.take('a', 0), 0);
  assert.equal(rl.take('a', 0), 0);
  assert.equal(rl.take('a', 0), 1);
  assert.equal(rl.take('b', 0), 0, 'buckets are per token');
  assert.equal(rl.take('a', 100), 0, 'refills at perSecond');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-rl-'));
  const s = await startService({ dataDir: dir, host: '127.0.0.1', port: 0, rateLimit: { perSecond: 0.001, burst: 2 } });
  try {
    const post = () => fetch(s.url + '/v1/tokens', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${s.adminToken}` }, body: '{"scopes":["issue"]}' });
    assert.equal((await post()).status, 201);
    assert.equal((await post()).status, 201);
    const r = await post();
    assert.equal(r.status, 429);
    assert.ok(Number(r.headers.get('retry-after')) >= 1);
  } finally {
    await s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
