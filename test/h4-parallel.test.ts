/**
 * Two-core verification of large containers (CRC-32 in a worker, VERI on the caller) gives exactly the report of
 * the one-thread verifier — valid, CRC-corrupted, VERI-corrupted — and the CLI path reads large files into
 * shared memory.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { builtinEngine } from '../src/profiles/h4/engines.ts';
import { buildH4mk, parseH4mk } from '../src/profiles/h4/container.ts';
import { verifyH4mk } from '../src/profiles/h4/verify.ts';
import { precomputeH4mk, verifyH4mkAsync, PARALLEL_MIN_BYTES } from '../src/profiles/h4/parallel.ts';
import { readFileShared } from '../src/store/files.ts';

const BIN = path.resolve(import.meta.dirname, '../bin/evident.js');

function shared(b: Uint8Array): Uint8Array {
  const s = new Uint8Array(new SharedArrayBuffer(b.length));
  s.set(b);
  return s;
}

test('verifyH4mkAsync on a large shared container equals verifyH4mk, for valid and corrupted containers', async () => {
  const block = 1 << 20;
  const data = randomBytes(PARALLEL_MIN_BYTES + 3 * block + 12345);
  const blocks: Uint8Array[] = [];
  for (let o = 0; o < data.length; o += block) blocks.push(data.subarray(o, Math.min(data.length, o + block)));
  const c = buildH4mk({ blocks, engine: builtinEngine('deflate'), seek: blocks.map((_, i) => [i, i * block]), meta: { size: data.length } });
  const p = parseH4mk(c);
  const core = p.chunks.find((x) => x.tag === 'CORE' && x.length > 100)!;
  const veri = p.chunks.find((x) => x.tag === 'VERI')!;
  const crcBad = Uint8Array.from(c);
  crcBad[core.payloadOffset + 7]! ^= 1;
  const veriBad = Uint8Array.from(c);
  veriBad[veri.payloadOffset]! ^= 1;
  for (const [name, bytes] of [['valid', c], ['crc', crcBad], ['veri', veriBad]] as const) {
    const s = shared(bytes);
    const pre = await precomputeH4mk(s);
    assert.ok(pre?.crc && pre.veri, `${name}: precomputed in parallel`);
    assert.equal(pre.crc.size, p.chunks.length);
    for (const mode of ['compat', 'strict'] as const) {
      const one = verifyH4mk(bytes, { mode }).report.toJSON();
      const two = (await verifyH4mkAsync(s, { mode })).report.toJSON();
      assert.deepEqual(two, one, `${name} ${mode}`);
    }
  }
  assert.equal(verifyH4mk(c, { mode: 'compat' }).report.valid, true);
  assert.equal(verifyH4mk(crcBad, { mode: 'compat' }).report.exitCode, 2);
  // small or non-shared inputs: no worker
  assert.equal(await precomputeH4mk(c), undefined);
  assert.equal(await precomputeH4mk(shared(c.subarray(0, 1024))), undefined);

  // the CLI reads the large file into shared memory and reports the same
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-h4p-'));
  try {
    const f = path.join(dir, 'big.h4mk');
    fs.writeFileSync(f, crcBad);
    const back = readFileShared(f);
    assert.ok(back.buffer instanceof SharedArrayBuffer);
    assert.equal(Buffer.compare(Buffer.from(back), Buffer.from(crcBad)), 0);
    const r = spawnSync(process.execPath, [BIN, 'verify', f, '--mode', 'compat', '--json'], { encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr);
    assert.ok((JSON.parse(r.stdout) as { checks: Array<{ code: string }> }).checks.some((x) => x.code === 'H4MK_CRC_MISMATCH'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
