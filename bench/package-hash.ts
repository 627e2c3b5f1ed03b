/**
 * Benchmark: WCP canonical package hash (worker threads, all cores) vs `find | xargs sha256sum` and
 * `openssl dgst -sha256` (one process and two parallel processes), measured in the same run on the same
 * generated tree (page cache warmed first, so this compares hashing + file I/O overhead, not the disk).
 *
 *   node --import tsx bench/package-hash.ts            # quick: 2,000 files / ~64 MiB (well under a minute)
 *   node --import tsx bench/package-hash.ts --full     # 20,000 files / ~1 GiB
 *   node --import tsx bench/package-hash.ts --files N --mib M [--runs R]
 *
 * The temp tree is removed at the end (also on Ctrl-C).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { canonicalPackageHash } from '../src/profiles/wcp/package-hash.ts';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const full = process.argv.includes('--full');
const files = Number(arg('--files') ?? (full ? 20_000 : 2_000));
const mib = Number(arg('--mib') ?? (full ? 1024 : 64));
const runs = Number(arg('--runs') ?? (full ? 1 : 3));
const cores = os.availableParallelism?.() ?? os.cpus().length;

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-bench-wcp-'));
const cleanup = () => fs.rmSync(root, { recursive: true, force: true });
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});

function generate(): number {
  const total = mib * 1024 * 1024;
  const pool = randomBytes(4 * 1024 * 1024);
  let written = 0;
  for (let i = 0; i < files; i++) {
    // sizes vary around the mean (0.25x .. 1.75x) so both small and large files occur
    const mean = total / files;
    const size = Math.max(1, Math.floor(mean * (0.25 + ((i * 7919) % 1000) / 666)));
    const dir = path.join(root, `d${i % 50}`, `s${i % 7}`);
    if (i < 350) fs.mkdirSync(dir, { recursive: true });
    const off = (i * 104729) % (pool.length - Math.min(size, pool.length - 1));
    const head = Buffer.from(`file ${i}\n`);
    const body = size <= pool.length ? pool.subarray(off, off + size) : Buffer.concat(Array.from({ length: Math.ceil(size / pool.length) }, () => pool)).subarray(0, size);
    const fd = fs.openSync(path.join(dir, `f${i}.bin`), 'w');
    fs.writeSync(fd, head);
    fs.writeSync(fd, body);
    fs.closeSync(fd);
    written += head.length + body.length;
  }
  return written;
}

function sh(cmd: string): void {
  const r = spawnSync('/bin/sh', ['-c', cmd], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`${cmd} exited ${r.status}`);
}

async function time(fn: () => Promise<unknown> | unknown): Promise<number> {
  let best = Infinity;
  for (let k = 0; k < runs; k++) {
    const t0 = process.hrtime.bigint();
    await fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return best;
}

async function main(): Promise<void> {
  try {
    const t0 = Date.now();
    const bytes = generate();
    process.stdout.write(`tree: ${files} files, ${(bytes / 1048576).toFixed(0)} MiB in ${root} (generated in ${((Date.now() - t0) / 1000).toFixed(1)} s); ${cores} cores; best of ${runs}\n`);
    sh('find . -type f -print0 | xargs -0 cat > /dev/null'); // warm the page cache
    const rows: Array<[string, number]> = [];
    rows.push(['find | xargs sha256sum (1 process)', await time(() => sh('find . -type f -print0 | xargs -0 sha256sum > /dev/null'))]);
    rows.push(['find | xargs openssl dgst -sha256 (1 process)', await time(() => sh('find . -type f -print0 | xargs -0 openssl dgst -sha256 > /dev/null'))]);
    let hash = '';
    // the two compared figures are measured alternately (best of `runs` each), so drift in the machine's speed
    // during the run affects both alike
    let bestSsl = Infinity;
    let bestOurs = Infinity;
    for (let k = 0; k < runs; k++) {
      let t0 = process.hrtime.bigint();
      sh('find . -type f -print0 | xargs -0 -P2 -n 1000 openssl dgst -sha256 > /dev/null');
      bestSsl = Math.min(bestSsl, Number(process.hrtime.bigint() - t0) / 1e9);
      t0 = process.hrtime.bigint();
      hash = (await canonicalPackageHash(root, { workers: cores })).hash;
      bestOurs = Math.min(bestOurs, Number(process.hrtime.bigint() - t0) / 1e9);
    }
    rows.push(['find | xargs -P2 openssl dgst -sha256 (2 processes)', bestSsl]);
    rows.push(['evident canonical_package_hash (inline, 1 thread)', await time(async () => (hash = (await canonicalPackageHash(root, { workers: 0 })).hash))]);
    rows.push([`evident canonical_package_hash (${cores} threads${cores > 1 ? `: ${cores - 1} worker + caller` : ''})`, bestOurs]);
    const base = rows[2]![1];
    process.stdout.write(`package hash ${hash}\n`);
    for (const [name, s] of rows) {
      process.stdout.write(`${name.padEnd(58)} ${s.toFixed(3).padStart(8)} s  ${(bytes / 1048576 / s).toFixed(0).padStart(6)} MiB/s  ${(base / s).toFixed(2)}x of openssl 2-process\n`);
    }
    const ours = rows[4]![1];
    process.stdout.write(`ratio (ours / openssl two-process throughput): ${(base / ours).toFixed(2)} (target >= 0.9)\n`);
  } finally {
    cleanup();
  }
}

await main();
