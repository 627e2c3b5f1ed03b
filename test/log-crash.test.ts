/**
 * Crash safety: a child process appends continuously (batched sequencer), printing every acknowledged append;
 * the parent SIGKILLs it mid-batch at a random moment, 20 times per backend, then checks that
 *  - every acknowledged entry is stored at its acknowledged index with its bytes (zero acknowledged entries lost);
 *  - the stored checkpoint verifies, matches the stored tree (root recomputed from the stored entries) and
 *  - every checkpoint ever acknowledged is consistent with the final tree (RFC 6962 consistency proof verifies).
 * This file doubles as the child when EVIDENT_CRASH_CHILD is set.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { spawn } from 'node:child_process';
import { ed25519PrivateKeyFromSeed, toPublicKey } from '../src/kernel/keys.ts';
import { noteSigner, noteVerifier } from '../src/kernel/note.ts';
import { openLog, openCheckpoint, hashLeaf, verifyConsistency, CompactRange } from '../src/log/index.ts';

const ORIGIN = 'example.com/crash-log';
const SEED = new Uint8Array(32).fill(7);
const PG = process.env.EVIDENT_TEST_PG || 'postgres://postgres@127.0.0.1:5432/test';
const REPS = 20;

if (process.env.EVIDENT_CRASH_CHILD) {
  const [db, table, rep] = process.env.EVIDENT_CRASH_CHILD.split('|') as [string, string, string];
  const signer = noteSigner(ORIGIN, ed25519PrivateKeyFromSeed(SEED));
  const log = await openLog({ db, table, signer, origin: ORIGIN, batchSize: 64, batchMs: 2 });
  process.stdout.write('ready\n');
  let i = 0;
  const one = async (): Promise<void> => {
    for (;;) {
      const data = `r${rep}-e${i++}`;
      const r = await log.append(data);
      process.stdout.write(`${r.index} ${data} ${JSON.stringify(r.checkpoint)}\n`);
    }
  };
  await Promise.all(Array.from({ length: 200 }, one));
}

interface Ack {
  index: number;
  data: string;
  checkpoint: string;
}

function runChild(db: string, table: string, rep: number): Promise<Ack[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', import.meta.filename], {
      env: { ...process.env, EVIDENT_CRASH_CHILD: `${db}|${table}|${rep}` },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buf = '';
    let killed = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      buf += d;
      if (!killed && buf.includes('ready\n')) {
        killed = true;
        setTimeout(() => child.kill('SIGKILL'), 50 + Math.floor(Math.random() * 250));
      }
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') return reject(new Error(`child exited with ${code}/${signal}`));
      const acks: Ack[] = [];
      for (const line of buf.split('\n')) {
        const m = /^(\d+) (\S+) (".*")$/.exec(line);
        if (m) acks.push({ index: Number(m[1]), data: m[2]!, checkpoint: JSON.parse(m[3]!) as string });
      }
      resolve(acks);
    });
  });
}

const verifier = noteVerifier(ORIGIN, toPublicKey(ed25519PrivateKeyFromSeed(SEED)));

async function crashSuite(db: string, table: string): Promise<{ acked: number; stored: number; checkpoints: number }> {
  let acked = 0;
  let checkpoints = 0;
  const cr = new CompactRange();
  let last: { size: number; root: Uint8Array } | undefined;
  for (let rep = 0; rep < REPS; rep++) {
    const acks = await runChild(db, table, rep);
    acked += acks.length;
    const log = await openLog({ db, table });
    try {
      const size = await log.size();
      const sizes = new Map<number, Uint8Array>();
      for (const a of acks) {
        assert.ok(a.index < size, `rep ${rep}: acknowledged index ${a.index} lost (size ${size})`);
        assert.equal(Buffer.from((await log.getEntry(a.index))!).toString(), a.data, `rep ${rep}: entry ${a.index}`);
        const cp = openCheckpoint(a.checkpoint, verifier);
        assert.ok(cp.size > a.index);
        const prev = sizes.get(cp.size);
        if (prev) assert.deepEqual(prev, cp.rootHash, `two different roots for size ${cp.size}`);
        sizes.set(cp.size, cp.rootHash);
      }
      // the stored checkpoint matches the stored tree (root recomputed from the stored entries, incrementally)
      const cp = openCheckpoint(await log.latestCheckpoint(), verifier);
      assert.equal(cp.size, size);
      for (let i = cr.size; i < size; i++) cr.append(hashLeaf((await log.getEntry(i))!));
      assert.deepEqual(cr.root(), cp.rootHash, `rep ${rep}: checkpoint root matches the stored entries`);
      // every checkpoint acknowledged in this run, and the previous run's final one, is consistent with this one
      // (earlier checkpoints follow by transitivity)
      if (last) sizes.set(last.size, last.root);
      for (const [s, root] of sizes) {
        if (s === 0) continue;
        checkpoints++;
        assert.ok(verifyConsistency(s, size, await log.consistencyProof(s, size), root, cp.rootHash), `rep ${rep}: checkpoint ${s} consistent with ${size}`);
      }
      last = { size, root: cp.rootHash };
    } finally {
      await log.close();
    }
  }
  return { acked, stored: last?.size ?? 0, checkpoints };
}

if (!process.env.EVIDENT_CRASH_CHILD) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-crash-'));
  test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test(`SQLite: SIGKILL mid-batch x${REPS}: no acknowledged entry lost, checkpoints consistent`, async () => {
    const r = await crashSuite(`sqlite:${path.join(tmp, 'crash.db')}`, 'crash');
    assert.ok(r.acked > 0);
    process.stdout.write(`# sqlite crash: ${REPS} kills, ${r.acked} acknowledged appends, ${r.stored} stored, ${r.checkpoints} consistency checks\n`);
  });

  test(`PostgreSQL: SIGKILL mid-batch x${REPS}: no acknowledged entry lost, checkpoints consistent`, async () => {
    const table = `crash_${process.pid}_${Date.now() % 1e6}`;
    try {
      const r = await crashSuite(PG, table);
      assert.ok(r.acked > 0);
      process.stdout.write(`# postgres crash: ${REPS} kills, ${r.acked} acknowledged appends, ${r.stored} stored, ${r.checkpoints} consistency checks\n`);
    } finally {
      const pool = new pg.Pool({ connectionString: PG, max: 1 });
      for (const s of ['meta', 'entries', 'nodes', 'state', 'checkpoints', 'queue', 'acks']) await pool.query(`DROP TABLE IF EXISTS ${table}_${s}`);
      await pool.end();
    }
  });
}
