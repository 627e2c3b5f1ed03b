/**
 * H4MK compat mode against upstream's container reader (FractalFuryan/Ai-video--api@8407ae6 `container/reader.py`
 * H4MKReader, run on containers built by its `build_h4mk`; test/compat-upstream/h4.json says how). Compat gives the
 * reader's verdict (it parses → valid, given a correct VERI; it raises → invalid); strict keeps refusing with its own
 * codes.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { verifyH4mk } from '../src/profiles/h4/verify.ts';
import { parseH4mk, payloadOf } from '../src/profiles/h4/container.ts';

const repoRoot = path.resolve(import.meta.dirname, '..');
const BIN = path.resolve(repoRoot, 'bin/evident.js');
const DATA = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, 'compat-upstream/h4.json'), 'utf8')) as {
  cases: Record<string, { hex: string; reader: string }>;
};
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-compat-h4-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Strict mode's own verdict: the failure code it must report (every case also lacks a SIGN chunk). */
const STRICT: Record<string, string> = {
  base: 'SIGNATURE_MISSING',
  'trailing-1': 'H4MK_TRAILING_BYTES',
  'trailing-11': 'H4MK_TRAILING_BYTES',
  'trailing-12-zero': 'H4MK_CHUNK_AFTER_VERI',
  'chunk-after-veri': 'H4MK_CHUNK_AFTER_VERI',
  'duplicate-meta': 'H4MK_DUPLICATE_CHUNK',
  'duplicate-veri': 'H4MK_DUPLICATE_CHUNK',
  'meta-not-utf8': 'H4MK_META_INVALID',
  'seek-count-too-large': 'H4MK_SEEK_INVALID',
  'crc-mismatch': 'H4MK_CRC_MISMATCH',
  truncated: 'H4MK_TRUNCATED',
};
/** Exit code compat gives where the reader raises (its ValueError has no exit code; ours by category). */
const COMPAT_REFUSED: Record<string, number> = { 'crc-mismatch': 2, truncated: 10 };

test('every observed container has a strict verdict recorded', () => {
  assert.deepEqual(Object.keys(DATA.cases).sort(), Object.keys(STRICT).sort());
});

for (const [name, c] of Object.entries(DATA.cases)) {
  test(`h4mk compat = upstream H4MKReader: ${name} (${c.reader})`, () => {
    const bytes = Buffer.from(c.hex, 'hex');
    const r = verifyH4mk(bytes, { mode: 'compat' }).report;
    if (c.reader === 'parsed') assert.equal(r.exitCode, 0, JSON.stringify(r.toJSON().checks.filter((x) => !x.ok)));
    else assert.equal(r.exitCode, COMPAT_REFUSED[name], JSON.stringify(r.toJSON()));
    const s = verifyH4mk(bytes, { mode: 'strict' }).report;
    assert.notEqual(s.exitCode, 0);
    assert.ok(s.failures.some((f) => f.code === STRICT[name]), `${name} strict: ${JSON.stringify(s.failures.map((f) => f.code))}`);
  });
}

test('h4mk verify CLI --mode compat on the reader-accepted containers: exit 0; strict: non-zero', () => {
  for (const name of ['trailing-11', 'chunk-after-veri', 'duplicate-meta', 'meta-not-utf8', 'seek-count-too-large']) {
    const f = path.join(tmp, `${name}.h4mk`);
    fs.writeFileSync(f, Buffer.from(DATA.cases[name]!.hex, 'hex'));
    const r = spawnSync(process.execPath, [BIN, 'h4mk', 'verify', f, '--mode', 'compat', '--json'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, `${name}: ${r.stdout} ${r.stderr}`);
    assert.equal(JSON.parse(r.stdout).valid, true);
    const s = spawnSync(process.execPath, [BIN, 'h4mk', 'verify', f, '--json'], { encoding: 'utf8', timeout: 60_000 });
    assert.notEqual(s.status, 0, `${name} strict: ${s.stdout}`);
  }
});

test('h4mk build --meta keeps 1.0 as 1.0 (lossless), as upstream json.dumps writes a float', () => {
  // upstream's own base container writes {"ratio":1.0} as "ratio":1.0 in META
  const up = parseH4mk(Buffer.from(DATA.cases.base!.hex, 'hex'));
  assert.match(Buffer.from(payloadOf(up, up.chunks.find((c) => c.tag === 'META')!)).toString('utf8'), /"ratio":1\.0[,}]/);
  fs.writeFileSync(path.join(tmp, 'in.bin'), Buffer.alloc(300, 7));
  fs.writeFileSync(path.join(tmp, 'meta.json'), '{"project":"t","ratio":1.0,"big":12345678901234567890,"e":1e2}');
  const out = path.join(tmp, 'built.h4mk');
  const b = spawnSync(process.execPath, [BIN, 'h4mk', 'build', '--engine', 'deflate', path.join(tmp, 'in.bin'), '--meta', path.join(tmp, 'meta.json'), '-o', out], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(b.status, 0, b.stderr);
  const p = parseH4mk(fs.readFileSync(out));
  const meta = Buffer.from(payloadOf(p, p.chunks.find((c) => c.tag === 'META')!)).toString('utf8');
  // Python: json.dumps(json.load(f)) -> 1.0 stays 1.0, the big int stays exact, 1e2 is the float 100.0
  assert.ok(meta.startsWith('{"project":"t","ratio":1.0,"big":12345678901234567890,"e":100.0,"compression":{'), meta);
});
