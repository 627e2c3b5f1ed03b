/** CLI: `evident eli verify` on every verifier-matrix row (compat, upstream exit codes + JSON), issue, jwk, verify. */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseEliJson, prettyPacket, jsonC14nV1 } from '../src/profiles/eli/c14n.ts';

const repoRoot = path.resolve(import.meta.dirname, '..');
const V = path.resolve(repoRoot, '../shared/vectors/eli');
const BIN = path.resolve(repoRoot, 'bin/evident.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-eli-cli-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const p = (f: string) => path.join(tmp, f);
const lossless = (f: string) => parseEliJson(fs.readFileSync(path.join(V, f))) as any;

function run(args: string[], input?: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { input, cwd: tmp, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const SP = lossless('signed-packets.json');
const MATRIX = lossless('verifier-matrix.json');
fs.writeFileSync(p('key.jwk'), JSON.stringify(SP.test_key.public_jwk));
fs.writeFileSync(p('other.jwk'), JSON.stringify(SP.other_key_public_jwk));
fs.writeFileSync(p('test.key'), SP.test_key.private_key_pem_pkcs8);
const packetOf = (id: string) => SP.packets.find((x: any) => x.id === id).packet;

test('eli verify --mode compat: every verifier-matrix row reproduces the upstream exit code and --json object', () => {
  let n = 0;
  for (const row of MATRIX.cases) {
    const pkt = typeof row.packet === 'string' ? packetOf(row.packet) : row.packet;
    const file = p(`row${n}.json`);
    fs.writeFileSync(file, prettyPacket(pkt));
    const isEnvelope = String(row.case).startsWith('POST /v1/ai/call');
    const args = ['eli', 'verify', file, '--mode', 'compat', '--upstream-json', ...row.args.map(String), ...(isEnvelope ? ['--no-unwrap'] : [])];
    const r = run(args);
    assert.equal(r.code, Number(row.exit_code), `${row.case}: ${r.stdout} ${r.stderr}`);
    if (row.stdout_json === null) {
      assert.equal(r.stdout, '', row.case);
      const want = String(row.stderr).split('\n')[0]!;
      assert.ok(r.stderr.startsWith(want.slice(0, 40)), `${row.case}: ${r.stderr}`);
    } else {
      assert.deepEqual(JSON.parse(r.stdout), JSON.parse(JSON.stringify(row.stdout_json)), row.case);
    }
    n++;
  }
  assert.equal(n, 18);
});

test('eli verify --json: one report object; envelope unwrapped by default; strict extras visible', () => {
  fs.writeFileSync(p('env.json'), prettyPacket({ transaction_id: 'tx', approved: true, output: 'x', rejection_reason: null, receipt: packetOf('approved') }));
  const r = run(['eli', 'verify', p('env.json'), '--jwk', p('key.jwk'), '--json']);
  assert.equal(r.code, 0, r.stdout);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1);
  const rep = JSON.parse(lines[0]!);
  assert.equal(rep.format, 'eli.packet');
  assert.equal(rep.mode, 'strict');
  assert.equal(rep.exitCode, 0);
  assert.ok(rep.checks.some((c: any) => c.code === 'RECEIPT_UNWRAPPED'));
  assert.ok(rep.checks.some((c: any) => c.id === 'halo.final_hash' && c.ok));

  fs.writeFileSync(p('denied.json'), prettyPacket(packetOf('denied-no-policy')));
  const d = JSON.parse(run(['eli', 'verify', p('denied.json'), '--jwk', p('key.jwk'), '--json']).stdout);
  assert.equal(d.checks.find((c: any) => c.id === 'policy').code, 'NO_POLICY');

  // strict: no key → 4; missing file → 10; human output mentions the verdict
  assert.equal(run(['eli', 'verify', p('denied.json')]).code, 4);
  assert.equal(run(['eli', 'verify', p('nope.json'), '--jwk', p('key.jwk')]).code, 10);
  const h = run(['eli', 'verify', p('denied.json'), '--jwk', p('other.jwk')]);
  assert.equal(h.code, 3);
  assert.match(h.stdout, /INVALID \(exit 3\)/);
});

test('eli issue: builds + signs from transaction fields (text files hashed); the packet verifies; evident verify detects it', () => {
  const fields = lossless('signed-packets.json').packets[0].packet;
  delete fields.halo_chain;
  delete fields.verification;
  // output_hash supplied as a text file instead
  const outHash = fields.output_hash;
  delete fields.output_hash;
  fs.writeFileSync(p('fields.json'), prettyPacket(fields));
  fs.writeFileSync(p('out.txt'), 'model output');
  const r = run(['eli', 'issue', '--key', p('test.key'), p('fields.json'), '--output', p('out.txt'), '--out', p('issued.json')]);
  assert.equal(r.code, 0, r.stderr);
  const issued = parseEliJson(fs.readFileSync(p('issued.json'))) as any;
  assert.notEqual(issued.output_hash, outHash);
  assert.equal(issued.output_hash, 'sha256:' + (require_sha256('model output')));
  assert.equal(run(['eli', 'verify', p('issued.json'), '--jwk', p('key.jwk')]).code, 0);
  const v = run(['verify', p('issued.json'), '--jwk', p('key.jwk'), '--json']);
  assert.equal(v.code, 0, v.stdout);
  assert.equal(JSON.parse(v.stdout).format, 'eli.packet');

  // byte-for-byte: the approved vector's fields (with its output_hash) → identical packet
  fields.output_hash = outHash;
  fs.writeFileSync(p('fields2.json'), prettyPacket(fields));
  const r2 = run(['eli', 'issue', '--key', p('test.key'), p('fields2.json')]);
  assert.equal(r2.code, 0, r2.stderr);
  assert.equal(jsonC14nV1(parseEliJson(r2.stdout)), jsonC14nV1(packetOf('approved')));
  assert.equal(r2.stdout, prettyPacket(packetOf('approved')));

  // bad inputs: unknown field → 10; non-RSA key → 4
  fs.writeFileSync(p('bad.json'), JSON.stringify({ environment: 'e', client_id: 'c', extra: 1 }));
  assert.equal(run(['eli', 'issue', '--key', p('test.key'), p('bad.json')]).code, 10);
  // --now is an RFC 3339 date-time that exists (kernel parseRfc3339), on issue and verify alike
  for (const bad of ['2026-02-30T00:00:00Z', '2026-01-01', 'tomorrow']) {
    const i = run(['eli', 'issue', '--key', p('test.key'), p('fields2.json'), '--now', bad]);
    assert.equal(i.code, 10, bad);
    assert.match(i.stderr, /--now is (not an RFC 3339 date-time|out of range)/);
    assert.equal(run(['eli', 'verify', p('issued.json'), '--jwk', p('key.jwk'), '--now', bad]).code, 10, bad);
  }
  delete fields.gateway_timestamp_utc;
  fs.writeFileSync(p('fields3.json'), prettyPacket(fields));
  const leap = run(['eli', 'issue', '--key', p('test.key'), p('fields3.json'), '--now', '2024-02-29T23:59:59.5+01:00']);
  assert.equal(leap.code, 0, leap.stderr);
  assert.equal((parseEliJson(leap.stdout) as any).gateway_timestamp_utc, '2024-02-29T22:59:59.500000Z');
  assert.equal(run(['eli', 'jwk', p('test.key')]).stdout, JSON.stringify(SP.test_key.public_jwk, null, 2) + '\n');
});

test('eli verify: CDIL variant packet verifies with its JWK', () => {
  const r = run(['eli', 'verify', path.join(V, 'cdil-variant/halo_sample_packet.json'), '--jwk', path.join(V, 'cdil-variant/dev_public.jwk.json'), '--json']);
  assert.equal(r.code, 0, r.stdout);
  assert.equal(JSON.parse(r.stdout).format, 'eli.cdil');
  assert.match(run(['eli', 'verify', '--help']).stdout, /--keys-url/);
});

import { createHash } from 'node:crypto';
function require_sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}
