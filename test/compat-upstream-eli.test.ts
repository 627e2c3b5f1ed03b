/**
 * ELI compat mode against verdicts observed from upstream `tools/eli_verify.py` (Swixixle/Swixixle@6e445a6, run in
 * a scratch folder; see test/compat-upstream/eli.json `how`). Each case: compat gives upstream's exit code and the
 * object upstream prints with --json; strict gives its own verdict.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { verifyEliBytes } from '../src/profiles/eli/verify.ts';
import { pythonB64decode } from '../src/profiles/eli/pycompat.ts';
import { bytesInput, verifyAny } from '../src/verify/detect.ts';
import { compactPacket, parseEliJson } from '../src/profiles/eli/c14n.ts';

const repoRoot = path.resolve(import.meta.dirname, '..');
const V = path.resolve(repoRoot, '../shared/vectors/eli/upstream');
const BIN = path.resolve(repoRoot, 'bin/evident.js');
const DATA = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, 'compat-upstream/eli.json'), 'utf8')) as {
  cases: Array<{
    name: string;
    what: string;
    args: string[];
    edits: Array<[string, string]>;
    prefix_latin1?: string;
    wrap?: [string, string];
    sha256: string;
    upstream_exit: number;
    upstream_json: unknown;
  }>;
};
const SIGNED = fs.readFileSync(path.join(V, 'signed_packet.json'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-compat-eli-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Strict mode's own verdict for each case (exit code). */
const STRICT: Record<string, number> = {
  'sig-unpadded': 3, // strict base64: padding required
  'sig-base64url': 3,
  'sig-base64url-unpadded': 3,
  'sig-whitespace': 3, // strict base64: no characters outside the alphabet
  'sig-junk-chars': 3,
  'sig-after-padding': 3,
  'nan-halo': 10, // strict parse refuses NaN / Infinity / lone surrogates: input
  'infinity-halo': 10,
  'overflow-halo': 10, // 1e400 parses, but json_c14n_v1 cannot write it
  'surrogate-halo': 10,
  'nan-uncovered': 10,
  'nan-signed-only': 10,
  'surrogate-signed-only': 10,
  'nan-skip-signature': 10,
  'gateway-envelope': 0, // strict unwraps the receipt (with a warning that the envelope is unauthenticated)
  'duplicate-key-last-wins': 10, // duplicate keys rejected
  'duplicate-key-first-is-real': 10,
  bom: 10,
  'not-utf8': 10, // strict: JSON_BAD_UTF8, input (upstream crashes: exit 1, which compat reproduces)
};

/** The bytes upstream was run on: the shared signed_packet.json with the case's edits (checked by SHA-256). */
function bytesOf(c: (typeof DATA.cases)[number]): Buffer {
  let t = SIGNED.toString('latin1');
  for (const [find, repl] of c.edits) {
    assert.equal(t.split(find).length, 2, `${c.name}: ${find} must occur once`);
    t = t.replace(find, () => repl);
  }
  if (c.wrap) t = c.wrap[0] + t + c.wrap[1];
  const b = Buffer.from((c.prefix_latin1 ?? '') + t, 'latin1');
  assert.equal(createHash('sha256').update(b).digest('hex'), c.sha256, `${c.name}: not the bytes upstream ran on`);
  return b;
}
const argsOf = (c: (typeof DATA.cases)[number]) => c.args.map((a) => a.replace('{vectors}/', V + '/'));
const jwkOf = (c: (typeof DATA.cases)[number]) => {
  const i = c.args.indexOf('--jwk');
  return i >= 0 ? [argsOf(c)[i + 1]!] : undefined;
};

test('every observed class has a strict verdict recorded', () => {
  assert.deepEqual(DATA.cases.map((c) => c.name).sort(), Object.keys(STRICT).sort());
});

for (const c of DATA.cases) {
  test(`eli compat = upstream: ${c.name} (${c.what}) exit ${c.upstream_exit}`, async () => {
    const skip = c.args.includes('--skip-signature');
    const v = await verifyEliBytes(bytesOf(c), { mode: 'compat', jwkFiles: jwkOf(c), skipSignature: skip });
    assert.equal(v.upstreamExit, c.upstream_exit);
    assert.equal(v.report.exitCode, c.upstream_exit);
    assert.deepEqual(v.upstream, c.upstream_json);
    const s = await verifyEliBytes(bytesOf(c), { mode: 'strict', jwkFiles: jwkOf(c), skipSignature: skip });
    assert.equal(s.report.exitCode, STRICT[c.name], JSON.stringify(s.report.toJSON().checks.filter((x) => !x.ok)));
  });
}

test('eli verify CLI --mode compat --upstream-json: exit code and stdout as upstream; strict its own', () => {
  for (const name of ['sig-unpadded', 'sig-base64url', 'surrogate-halo', 'nan-signed-only', 'gateway-envelope', 'duplicate-key-last-wins', 'bom']) {
    const c = DATA.cases.find((x) => x.name === name)!;
    const f = path.join(tmp, `${name}.json`);
    fs.writeFileSync(f, bytesOf(c));
    const r = spawnSync(process.execPath, [BIN, 'eli', 'verify', f, ...argsOf(c), '--mode', 'compat', '--upstream-json'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, c.upstream_exit, `${name}: ${r.stdout} ${r.stderr}`);
    if (c.upstream_json === null) assert.equal(r.stdout, '');
    else assert.deepEqual(JSON.parse(r.stdout), c.upstream_json, name);
    const s = spawnSync(process.execPath, [BIN, 'eli', 'verify', f, ...argsOf(c), '--json'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(s.status, STRICT[name], `${name} strict: ${s.stdout}`);
    assert.equal(JSON.parse(s.stdout).exitCode, STRICT[name]);
  }
  // the envelope is unwrapped in compat only when asked
  const env = DATA.cases.find((x) => x.name === 'gateway-envelope')!;
  const f = path.join(tmp, 'env.json');
  fs.writeFileSync(f, bytesOf(env));
  const r = spawnSync(process.execPath, [BIN, 'eli', 'verify', f, ...argsOf(env), '--mode', 'compat', '--unwrap', '--json'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stdout);
});

test('generic verify --mode compat: duplicate-key packet and gateway envelope get the upstream verdict', async () => {
  for (const name of ['duplicate-key-last-wins', 'duplicate-key-first-is-real', 'gateway-envelope', 'nan-halo', 'sig-unpadded']) {
    const c = DATA.cases.find((x) => x.name === name)!;
    const compat = await verifyAny(bytesInput(bytesOf(c)), { mode: 'compat', jwk: jwkOf(c) });
    assert.equal(compat.format, 'eli.packet', name);
    assert.equal(compat.exitCode, c.upstream_exit, `${name}: ${JSON.stringify(compat.toJSON())}`);
    const strict = await verifyAny(bytesInput(bytesOf(c)), { mode: 'strict', jwk: jwkOf(c) });
    assert.equal(strict.exitCode, STRICT[name], name);
  }
});

test('pythonB64decode follows binascii.a2b_base64 (non-strict), observed with CPython 3.11', () => {
  // python3 -c 'import base64; print(base64.b64decode(S).hex())' for each S
  const ok: Array<[string, string]> = [
    ['QUJD', '414243'],
    ['QUI=', '4142'],
    ['QQ==', '41'],
    ['Q!U\nJ D', '414243'],
    ['QQ==QUJD', '41'],
    ['QUI=QUJD', '4142'],
    ['QQ=Q=', '4104'], // a data character after a pad resets the pad count
    ['', ''],
    ['-_-_', ''], // base64url letters are discarded
  ];
  for (const [s, hex] of ok) assert.equal(Buffer.from(pythonB64decode(s)).toString('hex'), hex, JSON.stringify(s));
  assert.throws(() => pythonB64decode('QUI'), /Incorrect padding/);
  assert.throws(() => pythonB64decode('QQ='), /Incorrect padding/);
  assert.throws(() => pythonB64decode('QUJDQ'), /number of data characters \(5\) cannot be 1 more than a multiple of 4/);
  assert.throws(() => pythonB64decode('QUJDé'), /only ASCII/);
});

// ---------------------------------------------------------------- CDIL variant, current shape
// (read losslessly: the packets hold 1.0, which JSON.parse would turn into 1 and break the block hashes)
const CDIL = parseEliJson(fs.readFileSync(path.join(import.meta.dirname, 'compat-upstream/cdil.json'))) as unknown as {
  cases: Record<string, { what: string; packet: unknown; halo_valid: boolean; signature_valid: boolean }>;
};
const CDIL_JWK = path.resolve(repoRoot, '../shared/vectors/eli/cdil-variant/dev_public.jwk.json');
/** eli_verify.py's exit rule applied to upstream's verdict functions: HALO 2, then signature 3. */
const cdilExit = (c: { halo_valid: boolean; signature_valid: boolean }) => (!c.halo_valid ? 2 : !c.signature_valid ? 3 : 0);
/** Strict's own verdict: it also binds verification.message to the packet (integrity, exit 2). */
const CDIL_STRICT: Record<string, number> = { signed: 0, 'block-tampered': 2, 'message-tampered': 2, 'sig-unpadded': 3 };

test('CDIL current shape (halo_chain.blocks + verification, @36138ac) is recognised and judged as upstream', async () => {
  assert.deepEqual(Object.keys(CDIL.cases).sort(), Object.keys(CDIL_STRICT).sort());
  for (const [name, c] of Object.entries(CDIL.cases)) {
    const bytes = Buffer.from(compactPacket(c.packet));
    const input = bytesInput(bytes);
    const compat = await verifyAny(input, { mode: 'compat', jwk: CDIL_JWK });
    assert.equal(compat.format, 'eli.cdil', name);
    assert.equal(compat.exitCode, cdilExit(c), `${name} compat: ${JSON.stringify(compat.toJSON().checks.filter((x) => !x.ok))}`);
    const strict = await verifyAny(input, { mode: 'strict', jwk: CDIL_JWK });
    assert.equal(strict.exitCode, CDIL_STRICT[name], `${name} strict: ${JSON.stringify(strict.toJSON().checks.filter((x) => !x.ok))}`);
    // the CLI routes it to the CDIL verifier too
    const f = path.join(tmp, `cdil-${name}.json`);
    fs.writeFileSync(f, bytes);
    const r = spawnSync(process.execPath, [BIN, 'eli', 'verify', f, '--jwk', CDIL_JWK, '--mode', 'compat', '--json'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(JSON.parse(r.stdout).format, 'eli.cdil');
    assert.equal(r.status, cdilExit(c), `${name} CLI: ${r.stdout}`);
  }
});

test('evident verify CLI --mode compat: duplicate-key packet gets the upstream verdict; strict refuses it (10)', () => {
  for (const name of ['duplicate-key-last-wins', 'duplicate-key-first-is-real']) {
    const c = DATA.cases.find((x) => x.name === name)!;
    const f = path.join(tmp, `generic-${name}.json`);
    fs.writeFileSync(f, bytesOf(c));
    const r = spawnSync(process.execPath, [BIN, 'verify', f, ...argsOf(c), '--mode', 'compat', '--json'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, c.upstream_exit, `${name}: ${r.stdout}`);
    assert.equal(JSON.parse(r.stdout).format, 'eli.packet');
    const s = spawnSync(process.execPath, [BIN, 'verify', f, ...argsOf(c), '--json'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(s.status, 10, `${name} strict: ${s.stdout}`);
  }
});

test('pythonB64decode = CPython base64.b64decode on 400 recorded random strings (fast and slow paths)', () => {
  const B = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, 'compat-upstream/python-b64decode.json'), 'utf8')) as { cases: Array<[string, string]> };
  assert.equal(B.cases.length, 400);
  let errors = 0;
  for (const [s, want] of B.cases) {
    let got: string;
    try {
      got = Buffer.from(pythonB64decode(s)).toString('hex');
    } catch (e) {
      got = 'E:' + (e as Error).message;
      errors++;
    }
    assert.equal(got, want, JSON.stringify(s));
  }
  assert.ok(errors > 20 && errors < 380, `both outcomes exercised (${errors} errors)`);
});
