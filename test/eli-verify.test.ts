/** ELI-Sentinel verifier: every row of verifier-matrix.json (compat), strict extras, CDIL variant, --keys-url. */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { isJsonObject, type JsonObject } from '../src/kernel/json/index.ts';
import { importPrivateKey, importPublicKey, generateKeyPair, publicKeyJwk } from '../src/kernel/keys.ts';
import { TrustStore } from '../src/kernel/truststore.ts';
import { parseEliJson, prettyPacket } from '../src/profiles/eli/c14n.ts';
import { verifyEliBytes, verifyEliBytesSync, verifyEliValue, verifyEliValueSync, verifyCdilPacket, type EliVerifyOptions } from '../src/profiles/eli/verify.ts';
import { signPacket, eliPublicJwk } from '../src/profiles/eli/sign.ts';
import { buildPacket } from '../src/profiles/eli/issue.ts';
import { detect, bytesInput, verifyAny } from '../src/verify/detect.ts';

const repoRoot = path.resolve(import.meta.dirname, '..');
const V = path.resolve(repoRoot, '../shared/vectors/eli');
const lossless = (f: string) => parseEliJson(fs.readFileSync(path.join(V, f))) as any;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-eli-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const SP = lossless('signed-packets.json');
const MATRIX = lossless('verifier-matrix.json');
const keyJwk = path.join(tmp, 'key.jwk');
const otherJwk = path.join(tmp, 'other.jwk');
fs.writeFileSync(keyJwk, JSON.stringify(SP.test_key.public_jwk));
fs.writeFileSync(otherJwk, JSON.stringify(SP.other_key_public_jwk));
const PRIV = importPrivateKey(SP.test_key.private_key_pem_pkcs8);
const packetOf = (id: string) => SP.packets.find((p: any) => p.id === id).packet as JsonObject;

export function matrixPacket(row: any): JsonObject {
  return typeof row.packet === 'string' ? packetOf(row.packet) : row.packet;
}

function optsFromArgs(args: string[], mode: 'compat' | 'strict'): EliVerifyOptions {
  const o: EliVerifyOptions = { mode };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--jwk') o.jwkFiles = [...(o.jwkFiles ?? []), path.join(tmp, args[++i]!)];
    else if (a === '--skip-signature') o.skipSignature = true;
    else throw new Error(`unexpected arg ${a}`);
  }
  return o;
}

test('verifier-matrix.json: every row, compat mode: exit code and the upstream --json object', async () => {
  let n = 0;
  for (const row of MATRIX.cases) {
    const bytes = Buffer.from(prettyPacket(matrixPacket(row)));
    const isEnvelope = row.case.startsWith('POST /v1/ai/call');
    const v = await verifyEliBytes(bytes, { ...optsFromArgs(row.args, 'compat'), unwrap: !isEnvelope });
    assert.equal(v.report.exitCode, Number(row.exit_code), row.case);
    assert.equal(v.upstreamExit, Number(row.exit_code), row.case);
    assert.deepEqual(v.upstream, row.stdout_json === null ? null : JSON.parse(JSON.stringify(row.stdout_json)), row.case);
    assert.equal(v.report.valid, Number(row.exit_code) === 0, row.case);
    n++;
  }
  assert.equal(n, 18);
});

test('verifier-matrix.json: every row, strict mode: contract exit codes (same as upstream except noted)', async () => {
  for (const row of MATRIX.cases) {
    const bytes = Buffer.from(prettyPacket(matrixPacket(row)));
    const v = await verifyEliBytes(bytes, optsFromArgs(row.args, 'strict'));
    const isEnvelope = row.case.startsWith('POST /v1/ai/call');
    // the envelope is unwrapped (upstream: 10); everything else keeps upstream's verdict
    assert.equal(v.report.exitCode, isEnvelope ? 0 : Number(row.exit_code), row.case);
    if (isEnvelope) assert.ok(v.report.checks.some((c) => c.code === 'RECEIPT_UNWRAPPED'));
    if (row.case.startsWith('unknown top-level field')) {
      const w = v.report.checks.filter((c) => c.code === 'FIELD_UNAUTHENTICATED');
      assert.equal(w.length, 1, row.case);
    }
    if (row.case === 'verification block absent') assert.ok(v.report.checks.some((c) => c.code === 'SIGNATURE_MISSING'));
    if (row.case.startsWith('halo_chain.block_1')) {
      const bad = v.report.failures.map((c) => c.id);
      assert.deepEqual(bad, ['halo.block_1']);
    }
  }
});

test('the synchronous entry points give the same verdict, report and upstream object as the async ones', async () => {
  const rows = MATRIX.cases.map((row: any) => ({ name: row.case, bytes: Buffer.from(prettyPacket(matrixPacket(row))), args: row.args }));
  rows.push({ name: 'not JSON', bytes: Buffer.from('{"transaction_id":'), args: ['--jwk', 'key.jwk'] });
  for (const row of rows) {
    for (const mode of ['compat', 'strict'] as const) {
      const o = optsFromArgs(row.args, mode);
      const a = await verifyEliBytes(row.bytes, o);
      const s = verifyEliBytesSync(row.bytes, o);
      assert.deepEqual(s.report.toJSON(), a.report.toJSON(), `${row.name} ${mode}`);
      assert.deepEqual([s.upstream, s.upstreamExit], [a.upstream, a.upstreamExit], `${row.name} ${mode}`);
    }
  }
  const p = packetOf('approved');
  assert.deepEqual(verifyEliValueSync(p, { mode: 'strict', jwkFiles: [keyJwk] }).report.toJSON(), (await verifyEliValue(p, { mode: 'strict', jwkFiles: [keyJwk] })).report.toJSON());
});

test('upstream packets verify in both modes with upstream public_key.jwk', async () => {
  const jwk = path.join(V, 'upstream/public_key.jwk');
  for (const f of ['upstream/signed_packet.json', 'upstream/gateway_transaction.json']) {
    for (const mode of ['compat', 'strict'] as const) {
      const v = await verifyEliBytes(fs.readFileSync(path.join(V, f)), { mode, jwkFiles: [jwk] });
      assert.equal(v.report.exitCode, 0, `${f} ${mode}: ${JSON.stringify(v.report.failures)}`);
    }
  }
  // unsigned sample: compat --skip-signature valid; strict without skip → 3
  const sample = fs.readFileSync(path.join(V, 'upstream/sample_packet.json'));
  assert.equal((await verifyEliBytes(sample, { mode: 'compat', skipSignature: true })).report.exitCode, 0);
  assert.equal((await verifyEliBytes(sample, { mode: 'strict', jwkFiles: [jwk] })).report.exitCode, 3);
});

test('strict extras: no_policy, RFC 3339, duplicate keys, alg, base64, key id, trust store', async () => {
  const denied = Buffer.from(prettyPacket(packetOf('denied-no-policy')));
  const d = await verifyEliBytes(denied, { mode: 'strict', jwkFiles: [keyJwk] });
  assert.equal(d.report.exitCode, 0);
  const pol = d.report.checks.find((c) => c.id === 'policy')!;
  assert.equal(pol.code, 'NO_POLICY');
  assert.match(pol.message, /^no policy/);

  const approved = packetOf('approved');
  const resign = (p: JsonObject) => Buffer.from(prettyPacket(signPacket(p, PRIV)));
  // non-RFC 3339 timestamp (HALO + signature recomputed so only the form is wrong)
  const { verification: _v, halo_chain: _h, ...fields } = approved;
  const badTs = buildPacket({ ...fields, gateway_timestamp_utc: '2026-02-17 14:14:50' }, { privateKey: PRIV });
  const t = await verifyEliBytes(Buffer.from(prettyPacket(badTs)), { mode: 'strict', jwkFiles: [keyJwk] });
  assert.equal(t.report.exitCode, 10);
  assert.ok(t.report.failures.some((c) => c.code === 'TIMESTAMP_INVALID'));
  assert.equal((await verifyEliBytes(Buffer.from(prettyPacket(badTs)), { mode: 'compat', jwkFiles: [keyJwk] })).report.exitCode, 0);

  // duplicate keys: strict 10, compat last-wins (valid when the last value is the right one)
  const txt = prettyPacket(approved).replace('"environment": "production"', '"environment": "x", "environment": "production"');
  assert.equal((await verifyEliBytes(Buffer.from(txt), { mode: 'strict', jwkFiles: [keyJwk] })).report.exitCode, 10);
  assert.equal((await verifyEliBytes(Buffer.from(txt), { mode: 'compat', jwkFiles: [keyJwk] })).report.exitCode, 0);

  // alg other than RS256: strict 3, compat ignores
  const algPacket = JSON.parse(JSON.stringify(approved));
  algPacket.verification.signature.alg = 'none';
  const algBytes = Buffer.from(prettyPacket(parseEliJson(JSON.stringify(algPacket))));
  const algS = await verifyEliBytes(algBytes, { mode: 'strict', jwkFiles: [keyJwk] });
  assert.equal(algS.report.exitCode, 3);
  assert.ok(algS.report.failures.some((c) => c.code === 'SIGNATURE_ALG_UNSUPPORTED'));

  // unpadded base64: strict 3 (strict decoding); compat 3 too: upstream base64.b64decode raises "Incorrect padding"
  // (observed, see test/compat-upstream-eli.test.ts)
  const b64 = JSON.parse(JSON.stringify(packetOf('denied-no-policy')));
  b64.verification.signature.signature_b64 = b64.verification.signature.signature_b64.replace(/=+$/, '');
  const b64Bytes = Buffer.from(JSON.stringify(b64));
  assert.equal((await verifyEliBytes(b64Bytes, { mode: 'strict', jwkFiles: [keyJwk] })).report.exitCode, 3);
  assert.equal((await verifyEliBytes(b64Bytes, { mode: 'compat', jwkFiles: [keyJwk] })).report.exitCode, 3);

  // missing key source: 4 in both modes
  assert.equal((await verifyEliBytes(resign(approved), { mode: 'strict' })).report.exitCode, 4);

  // trust store: chosen by kid; unknown kid → 4; revoked → 1
  const store = TrustStore.empty();
  store.add(importPublicKey(SP.test_key.public_jwk), { kid: SP.test_key.public_jwk.kid });
  const ok = await verifyEliBytes(resign(approved), { mode: 'strict', trust: store });
  assert.equal(ok.report.exitCode, 0, JSON.stringify(ok.report.failures));
  const other = TrustStore.empty();
  other.add(importPublicKey(SP.other_key_public_jwk));
  assert.equal((await verifyEliBytes(resign(approved), { mode: 'strict', trust: other })).report.exitCode, 4);
  store.revoke(SP.test_key.public_jwk.kid, { at: '2020-01-01T00:00:00Z' });
  const rev = await verifyEliBytes(resign(approved), { mode: 'strict', trust: store });
  assert.equal(rev.report.exitCode, 1);
  assert.ok(rev.report.failures.some((c) => c.code === 'KEY_REVOKED'));

  // --skip-signature in strict: valid, but reported and client_key_fingerprint flagged unauthenticated
  const sk = await verifyEliBytes(resign(approved), { mode: 'strict', skipSignature: true });
  assert.equal(sk.report.exitCode, 0);
  assert.ok(sk.report.checks.some((c) => c.code === 'SIGNATURE_SKIPPED'));
  assert.ok(sk.report.checks.some((c) => c.id === 'unauthenticated.client_key_fingerprint'));
});

test('bad input never crashes: garbage, deep nesting, non-object, wrong types, NaN', async () => {
  const cases: Array<[string, number]> = [
    ['', 10],
    ['not json', 10],
    ['[1,2]', 10],
    ['"x"', 10],
    ['['.repeat(5000), 10],
    ['{"transaction_id":1,"gateway_timestamp_utc":2,"environment":3,"client_id":4,"halo_chain":5}', 10],
    ['{"transaction_id":"a","gateway_timestamp_utc":"2026-01-01T00:00:00Z","environment":"e","client_id":"c","halo_chain":{"block_1":1,"block_2":2,"block_3":3,"block_4":4,"final_hash":5},"latency_ms":1e400}', 10],
  ];
  for (const [txt, code] of cases) {
    for (const mode of ['strict', 'compat'] as const) {
      const v = await verifyEliBytes(Buffer.from(txt), { mode, jwkFiles: [keyJwk] });
      if (mode === 'strict') assert.equal(v.report.exitCode, code, `${mode}: ${txt.slice(0, 40)}`);
      // compat: upstream exit codes (1e400 is a float overflow: upstream's HALO check raises, exit 2, observed)
      else assert.ok([2, 10].includes(v.report.exitCode), `${mode}: ${txt.slice(0, 40)} → ${v.report.exitCode}`);
    }
  }
});

test('CDIL variant: blocks + ECDSA P-256 signature verify; tampering is caught', async () => {
  const p = lossless('cdil-variant/halo_sample_packet.json');
  const jwk = path.join(V, 'cdil-variant/dev_public.jwk.json');
  for (const mode of ['strict', 'compat'] as const) {
    const r = await verifyCdilPacket(p, { mode, jwkFiles: [jwk] });
    assert.equal(r.exitCode, 0, JSON.stringify(r.failures));
    assert.ok(r.checks.some((c) => c.id === 'signature' && c.ok));
  }
  // no key: compat skips the signature (upstream), strict exits 4
  assert.equal((await verifyCdilPacket(p, { mode: 'compat' })).exitCode, 0);
  assert.equal((await verifyCdilPacket(p, { mode: 'strict' })).exitCode, 4);
  const t1 = lossless('cdil-variant/halo_sample_packet.json'); // lossless copy: block_4 holds top_p 1.0
  t1.halo.blocks[2].prompt_hash = 'sha256:' + '0'.repeat(64);
  const r1 = await verifyCdilPacket(t1, { mode: 'strict', jwkFiles: [jwk] });
  assert.equal(r1.exitCode, 2);
  assert.deepEqual(r1.failures.map((c) => c.id), ['halo.block_3']);
  const t2 = lossless('cdil-variant/halo_sample_packet.json');
  t2.signature.signature_b64 = Buffer.from(Buffer.from(p.signature.signature_b64, 'base64').map((b, i) => (i === 10 ? b ^ 1 : b))).toString('base64');
  assert.equal((await verifyCdilPacket(t2, { mode: 'strict', jwkFiles: [jwk] })).exitCode, 3);
  const t3 = lossless('cdil-variant/halo_sample_packet.json');
  t3.client_id = 'someone-else';
  const r3 = await verifyCdilPacket(t3, { mode: 'strict', jwkFiles: [jwk] });
  assert.equal(r3.exitCode, 2);
});

test('evident verify auto-detects ELI packets, envelopes and CDIL packets', async () => {
  const bytes = Buffer.from(prettyPacket(packetOf('unicode-floats-bigint')));
  const input = bytesInput(bytes);
  assert.equal(detect(input)?.format, 'eli.packet');
  const r = await verifyAny(input, { mode: 'strict', jwk: keyJwk });
  assert.equal(r.exitCode, 0, JSON.stringify(r.failures));
  const env = Buffer.from(JSON.stringify({ transaction_id: 'tx', approved: true, receipt: JSON.parse(bytes.toString()) }));
  assert.equal(detect(bytesInput(env))?.format, 'eli.packet');
  const cd = bytesInput(fs.readFileSync(path.join(V, 'cdil-variant/halo_sample_packet.json')));
  assert.equal(detect(cd)?.format, 'eli.cdil');
  assert.equal((await verifyAny(cd, { mode: 'strict', jwk: path.join(V, 'cdil-variant/dev_public.jwk.json') })).exitCode, 0);
  assert.equal((await verifyAny(input, { mode: 'strict', jwk: otherJwk })).exitCode, 3);
});

test('--keys-url on a loopback server: compat fetches by packet kid; strict needs --pin-kid and a matching key', async () => {
  const rogue = generateKeyPair('rs256');
  const served = new Map<string, unknown>([[SP.test_key.public_jwk.kid, SP.test_key.public_jwk]]);
  const rogueKid = String(eliPublicJwk(rogue.publicKey).kid);
  served.set(rogueKid, publicKeyJwk(rogue.publicKey));
  let requests = 0;
  const srv = http.createServer((req, res) => {
    requests++;
    const kid = decodeURIComponent((req.url ?? '').replace(/^\/v1\/keys\//, ''));
    const k = served.get(kid);
    if (!k) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ detail: `Key not found: ${kid}` }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(k));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  try {
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/v1/keys`;
    const good = Buffer.from(prettyPacket(packetOf('approved')));
    assert.equal((await verifyEliBytes(good, { mode: 'compat', keysUrl: url })).report.exitCode, 0);
    assert.equal(requests, 1, 'one fetch per verification');
    // strict: kid not pinned → 4 without asking the server; pinned → 0
    assert.equal((await verifyEliBytes(good, { mode: 'strict', keysUrl: url })).report.exitCode, 4);
    assert.equal(requests, 1, 'an unpinned kid is never fetched');
    assert.equal((await verifyEliBytes(good, { mode: 'strict', keysUrl: url, pinKids: [SP.test_key.public_jwk.kid] })).report.exitCode, 0);
    assert.equal(requests, 2);
    // the synchronous entry point never fetches: a keys-url key is a key failure there
    const noFetch = verifyEliBytesSync(good, { mode: 'compat', keysUrl: url } as EliVerifyOptions);
    assert.equal(noFetch.report.exitCode, 4);
    assert.ok(noFetch.report.failures.some((c) => c.code === 'KEY_SOURCE_INVALID'));
    assert.equal(requests, 2);
    // a packet signed by a rogue key naming its own kid: compat accepts (upstream hole), strict refuses
    const { verification: _v, ...unsigned } = packetOf('approved');
    const forged = Buffer.from(prettyPacket(signPacket(unsigned, rogue.privateKey)));
    assert.equal((await verifyEliBytes(forged, { mode: 'compat', keysUrl: url })).report.exitCode, 0);
    assert.equal((await verifyEliBytes(forged, { mode: 'strict', keysUrl: url, pinKids: [SP.test_key.public_jwk.kid] })).report.exitCode, 4);
    // unknown kid → fetch 404 → 4 in both modes
    const unknown = JSON.parse(JSON.stringify(packetOf('approved')));
    unknown.verification.signature.key_id = 'sha256:' + 'ab'.repeat(32);
    const ub = Buffer.from(JSON.stringify(unknown));
    assert.equal((await verifyEliBytes(ub, { mode: 'compat', keysUrl: url })).report.exitCode, 4);
    assert.equal((await verifyEliBytes(ub, { mode: 'strict', keysUrl: url, pinKids: ['sha256:' + 'ab'.repeat(32)] })).report.exitCode, 4);
    // served key does not hash to the pinned kid → 4 (KEY_MISMATCH)
    served.set('sha256:' + 'ab'.repeat(32), SP.test_key.public_jwk);
    const mm = await verifyEliBytes(ub, { mode: 'strict', keysUrl: url, pinKids: ['sha256:' + 'ab'.repeat(32)] });
    assert.equal(mm.report.exitCode, 4);
    assert.ok(mm.report.failures.some((c) => c.code === 'KEY_MISMATCH'));
  } finally {
    srv.close();
  }
});

test('verifyEliValue on a parsed value equals the bytes path', async () => {
  const p = packetOf('unicode-floats-bigint');
  assert.ok(isJsonObject(p));
  const v = await verifyEliValue(p, { mode: 'strict', jwkFiles: [keyJwk] });
  assert.equal(v.report.exitCode, 0);
});
