/**
 * Transparency-log benchmark: appends/s into SQLite and PostgreSQL through the real sequencer (batched), inclusion
 * proof generation time at that size (from stored node hashes, no rehash), and peak RSS sampled while growing.
 * Baseline measured in the same run: raw SHA-256 leaf hashing + incremental root (CompactRange) in memory.
 *
 *   node --import tsx bench/log.ts                 # 100,000 entries (default, < ~60 s)
 *   node --import tsx bench/log.ts --entries 1000000
 *   node --expose-gc --import tsx bench/log.ts …   (heap figures after a full GC)
 *   options: --batch N (default 4096), --no-pg, --pg URL (default $EVIDENT_TEST_PG or postgres://postgres@127.0.0.1:5432/test)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { generateKeyPair } from '../src/kernel/keys.ts';
import { noteSigner } from '../src/kernel/note.ts';
import { openLog, CompactRange, hashLeaf, verifyInclusion, parseCheckpoint } from '../src/log/index.ts';

const args = process.argv.slice(2);
const opt = (name: string, def: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const N = Number(opt('--entries', '100000'));
const BATCH = Number(opt('--batch', '4096'));
const PG = opt('--pg', process.env.EVIDENT_TEST_PG || 'postgres://postgres@127.0.0.1:5432/test');
const withPg = !args.includes('--no-pg');
const origin = 'bench.example/log';
const signer = noteSigner(origin, generateKeyPair('ed25519').privateKey);

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
const rssAt: Array<[number, number]> = [];

function entry(i: number): Uint8Array {
  const b = Buffer.alloc(64);
  b.write(`bench entry ${i} `);
  b.writeUInt32BE(i, 60);
  return b;
}

function baseline(): number {
  const t0 = performance.now();
  const cr = new CompactRange();
  for (let i = 0; i < N; i++) cr.append(hashLeaf(entry(i)));
  cr.root();
  return N / ((performance.now() - t0) / 1000);
}

async function run(name: string, db: string, table: string): Promise<{ rate: number; median: number; p99: number; heap: string }> {
  const log = await openLog({ db, signer, origin, table, batchSize: BATCH });
  try {
    const t0 = performance.now();
    const WINDOW = BATCH * 4;
    let last: Promise<unknown> = Promise.resolve();
    // heap in use (after a full GC when --expose-gc is on) at each quarter of the run: flat = no per-entry memory
    const quarters: string[] = [];
    const heapNow = (): string => {
      (globalThis as { gc?: () => void }).gc?.();
      return (process.memoryUsage().heapUsed / 1048576).toFixed(0);
    };
    for (let i = 0; i < N; i += WINDOW) {
      const ps: Promise<unknown>[] = [];
      for (let j = i; j < Math.min(N, i + WINDOW); j++) ps.push(log.append(entry(j)));
      last = Promise.all(ps);
      await last;
      if ((i / WINDOW) % 8 === 0) rssAt.push([i, process.memoryUsage().rss]);
      if (quarters.length < 4 && Math.min(N, i + WINDOW) >= (N * (quarters.length + 1)) / 4) quarters.push(heapNow());
    }
    const secs = (performance.now() - t0) / 1000;
    const size = await log.size();
    if (size !== N) throw new Error(`${name}: size ${size} != ${N}`);
    const cp = await log.latestCheckpoint();
    const root = parseCheckpoint(cp.slice(0, cp.indexOf('\n\n') + 1)).rootHash;
    const times: number[] = [];
    for (let k = 0; k < 300; k++) {
      const idx = Math.floor(Math.random() * N);
      const t = performance.now();
      const proof = await log.inclusionProof(idx);
      times.push(performance.now() - t);
      if (k < 20 && !verifyInclusion(idx, N, hashLeaf(entry(idx)), proof, root)) throw new Error(`${name}: proof ${idx} does not verify`);
    }
    times.sort((a, b) => a - b);
    return { rate: N / secs, median: times[Math.floor(times.length / 2)]!, p99: times[Math.floor(times.length * 0.99)]!, heap: quarters.join(' / ') };
  } finally {
    await log.close();
  }
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-bench-log-'));
try {
  console.log(`log bench: ${N.toLocaleString('en')} entries of 64 bytes, batch ${BATCH}, Node ${process.version}, ${os.cpus().length} CPUs`);
  const base = baseline();
  console.log(`baseline  in-memory leaf hash + compact range: ${Math.round(base).toLocaleString('en')} appends/s`);
  const s = await run('sqlite', `sqlite:${path.join(tmp, 'bench.db')}`, 'bench');
  console.log(`sqlite    ${Math.round(s.rate).toLocaleString('en')} appends/s (${(s.rate / base).toFixed(3)}x baseline); inclusion proof at ${N.toLocaleString('en')}: median ${(s.median * 1000).toFixed(0)} us, p99 ${(s.p99 * 1000).toFixed(0)} us; heap at 1/4, 2/4, 3/4, 4/4 of the run: ${s.heap} MiB`);
  if (withPg) {
    const table = `bench_${process.pid}`;
    try {
      const p = await run('postgres', PG, table);
      console.log(`postgres  ${Math.round(p.rate).toLocaleString('en')} appends/s (${(p.rate / base).toFixed(3)}x baseline, ${(p.rate / s.rate).toFixed(2)}x sqlite); inclusion proof median ${(p.median * 1000).toFixed(0)} us, p99 ${(p.p99 * 1000).toFixed(0)} us; heap at 1/4..4/4: ${p.heap} MiB`);
    } finally {
      const pool = new pg.Pool({ connectionString: PG, max: 1 });
      for (const t of ['meta', 'entries', 'nodes', 'state', 'checkpoints', 'queue', 'acks']) await pool.query(`DROP TABLE IF EXISTS ${table}_${t}`);
      await pool.end();
    }
  }
  clearInterval(sampler);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  const mid = rssAt[Math.floor(rssAt.length / 2)];
  const end = rssAt[rssAt.length - 1];
  console.log(`peak RSS ${(peakRss / 1048576).toFixed(0)} MiB; RSS at mid-run ${mid ? (mid[1] / 1048576).toFixed(0) : '?'} MiB vs end ${end ? (end[1] / 1048576).toFixed(0) : '?'} MiB (flat = no per-entry memory)`);
} finally {
  clearInterval(sampler);
  fs.rmSync(tmp, { recursive: true, force: true });
}
