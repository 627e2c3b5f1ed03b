/**
 * The same storage/sequencer suite against SQLite and PostgreSQL (EVIDENT_TEST_PG, default
 * postgres://postgres@127.0.0.1:5432/test). Each test uses its own table prefix and drops it afterwards.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { generateKeyPair, toPublicKey } from '../src/kernel/keys.ts';
import { noteSigner, noteVerifier, NOTE_SIG_COSIGNATURE_V1, appendNoteSignatures } from '../src/kernel/note.ts';
import {
  openLog, hashLeaf, verifyInclusion, verifyConsistency, rootFromLeafHashes, parseCheckpoint, openCheckpoint, verifyTlogProof, parseTlogProof,
  formatTlogProof,
} from '../src/log/index.ts';
import type { NoteVerifier } from '../src/kernel/note.ts';

const PG = process.env.EVIDENT_TEST_PG || 'postgres://postgres@127.0.0.1:5432/test';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-log-'));
let seq = 0;
const prefix = () => `t${process.pid}_${Date.now() % 1e6}_${seq++}`;

async function dropPg(table: string): Promise<void> {
  const pool = new pg.Pool({ connectionString: PG, max: 1 });
  try {
    for (const s of ['meta', 'entries', 'nodes', 'state', 'checkpoints', 'queue', 'acks']) await pool.query(`DROP TABLE IF EXISTS ${table}_${s}`);
  } finally {
    await pool.end();
  }
}

const origin = 'example.com/evident-test-log';
const { privateKey } = generateKeyPair('ed25519');
const signer = noteSigner(origin, privateKey);
const verifier: NoteVerifier = noteVerifier(origin, toPublicKey(privateKey));

const backends: Array<{ name: string; db: () => string; cleanup: (t: string) => Promise<void> }> = [
  { name: 'sqlite', db: () => `sqlite:${path.join(tmp, `log-${seq}.db`)}`, cleanup: async () => {} },
  { name: 'postgres', db: () => PG, cleanup: dropPg },
];

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

for (const b of backends) {
  test(`${b.name}: appends, checkpoints, inclusion + consistency proofs from stored nodes`, async () => {
    const table = prefix();
    const db = b.db();
    const log = await openLog({ db, signer, origin, table, batchSize: 16, batchMs: 5 });
    try {
      const entries = Array.from({ length: 150 }, (_, i) => `entry-${i}`);
      const results = await Promise.all(entries.map((e) => log.append(e)));
      const leaves = entries.map((e) => hashLeaf(new TextEncoder().encode(e)));
      assert.deepEqual(results.map((r) => r.index).sort((a, c) => a - c), entries.map((_, i) => i));
      for (const r of results) {
        assert.equal(r.leafHash, Buffer.from(leaves[r.index]!).toString('hex'));
        const cp = openCheckpoint(r.checkpoint, verifier);
        assert.equal(cp.size, r.size);
        assert.ok(r.index < cp.size);
        assert.deepEqual(cp.rootHash, rootFromLeafHashes(leaves.slice(0, cp.size)));
      }
      assert.equal(await log.size(), 150);
      const cp = parseCheckpoint((await log.latestCheckpoint()).split('\n\n')[0] + '\n');
      const root = rootFromLeafHashes(leaves);
      assert.deepEqual(cp.rootHash, root);
      for (let i = 0; i < 150; i += 7) {
        assert.ok(verifyInclusion(i, 150, leaves[i]!, await log.inclusionProof(i), root), `inclusion ${i}`);
        const sz = Math.min(150, i + 1 + (i % 13));
        assert.ok(verifyInclusion(i, sz, leaves[i]!, await log.inclusionProof(i, sz), rootFromLeafHashes(leaves.slice(0, sz))), `inclusion ${i}@${sz}`);
      }
      for (const [m, n] of [[1, 150], [7, 150], [64, 150], [100, 128], [150, 150], [3, 5]] as const) {
        assert.ok(verifyConsistency(m, n, await log.consistencyProof(m, n), rootFromLeafHashes(leaves.slice(0, m)), rootFromLeafHashes(leaves.slice(0, n))), `consistency ${m}->${n}`);
      }
      assert.deepEqual(await log.getEntry(42), new TextEncoder().encode('entry-42'));
      assert.equal(await log.getEntry(150), undefined);
      await assert.rejects(log.inclusionProof(150), { code: 'INPUT_INVALID' });
      await assert.rejects(log.inclusionProof(1, 151), { code: 'INPUT_INVALID' });
      await assert.rejects(log.consistencyProof(0, 5), { code: 'INPUT_INVALID' });
      // tlog-proof round trip with only the pinned key
      const tp = await log.tlogProof(42);
      const v = verifyTlogProof(tp, verifier, { entry: new TextEncoder().encode('entry-42') });
      assert.equal(v.proof.index, 42);
      assert.throws(() => verifyTlogProof(tp, verifier, { entry: new TextEncoder().encode('entry-43') }), { code: 'PROOF_INVALID' });
      const other = noteVerifier(origin, toPublicKey(generateKeyPair('ed25519').privateKey));
      assert.throws(() => verifyTlogProof(tp, other, { entry: new TextEncoder().encode('entry-42') }), { code: 'KEY_UNTRUSTED' });
      assert.equal(formatTlogProof(parseTlogProof(tp)), tp);
      // a tlog-proof at an earlier checkpointed size
      const early = results.find((r) => r.size < 150)!;
      const tpe = await log.tlogProof(0, early.size);
      assert.equal(verifyTlogProof(tpe, verifier, { entry: new TextEncoder().encode('entry-0') }).checkpoint.size, early.size);
    } finally {
      await log.close();
      await b.cleanup(table);
    }
  });

  test(`${b.name}: reopen resumes the tree; a read-only handle serves proofs; dedupe returns the first index`, async () => {
    const table = prefix();
    const db = b.db();
    let log = await openLog({ db, signer, origin, table, batchSize: 4, batchMs: 1, dedupe: true });
    try {
      const a = await log.append('x');
      const again = await log.append('x');
      assert.equal(again.index, a.index);
      await Promise.all(['p', 'q', 'p', 'r'].map((e) => log.append(e)));
      assert.equal(await log.size(), 4);
      await log.close();
      log = await openLog({ db, signer, origin, table, dedupe: true });
      const r = await log.append('s');
      assert.equal(r.index, 4);
      const leaves = ['x', 'p', 'q', 'r', 's'].map((e) => hashLeaf(new TextEncoder().encode(e)));
      assert.deepEqual(parseCheckpoint(r.checkpoint.split('\n\n')[0] + '\n').rootHash, rootFromLeafHashes(leaves));
      const ro = await openLog({ db, table });
      try {
        assert.equal(ro.origin, origin);
        assert.equal(await ro.size(), 5);
        assert.ok(verifyInclusion(2, 5, leaves[2]!, await ro.inclusionProof(2), rootFromLeafHashes(leaves)));
        await assert.rejects(ro.append('nope'), { code: 'KEY_NOT_FOUND' });
      } finally {
        await ro.close();
      }
      const wrong = noteSigner(origin, generateKeyPair('ed25519').privateKey);
      await assert.rejects(openLog({ db, signer: wrong, origin, table }), { code: 'KEY_INVALID' });
      await assert.rejects(openLog({ db, signer, origin: 'other.example/log', table }), { code: 'INPUT_INVALID' });
    } finally {
      await log.close();
      await b.cleanup(table);
    }
  });

  test(`${b.name}: two writers on one log stay consistent (commit-time size check + reload)`, async () => {
    const table = prefix();
    const db = b.db();
    const l1 = await openLog({ db, signer, origin, table, batchSize: 8, batchMs: 1 });
    const l2 = await openLog({ db, signer, origin, table, batchSize: 8, batchMs: 1 });
    try {
      const rs = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? l1 : l2).append(`w${i}`)));
      const idx = rs.map((r) => r.index).sort((a, c) => a - c);
      assert.deepEqual(idx, Array.from({ length: 60 }, (_, i) => i));
      const leaves: Uint8Array[] = [];
      for (let i = 0; i < 60; i++) leaves.push(hashLeaf((await l1.getEntry(i))!));
      const cp = parseCheckpoint((await l1.latestCheckpoint()).split('\n\n')[0] + '\n');
      assert.equal(cp.size, 60);
      assert.deepEqual(cp.rootHash, rootFromLeafHashes(leaves));
    } finally {
      await l1.close();
      await l2.close();
      await b.cleanup(table);
    }
  });
}

test('witness cosignatures: quorum enforced, unknown witnesses ignored, bad cosignature rejected', async () => {
  const table = prefix();
  const log = await openLog({ db: `sqlite:${path.join(tmp, 'w.db')}`, signer, origin, table, batchMs: 1 });
  try {
    const r = await log.append('a');
    const w1k = generateKeyPair('ed25519').privateKey;
    const w1 = noteSigner('witness1.example', w1k, NOTE_SIG_COSIGNATURE_V1);
    const w1v = noteVerifier('witness1.example', toPublicKey(w1k), NOTE_SIG_COSIGNATURE_V1);
    const w2k = generateKeyPair('ed25519').privateKey;
    const w2v = noteVerifier('witness2.example', toPublicKey(w2k), NOTE_SIG_COSIGNATURE_V1);
    const cosigned = appendNoteSignatures(r.checkpoint, [w1], { timestamp: 1700000000 });
    const ok = openCheckpoint(cosigned, verifier, { witnesses: [w1v, w2v], quorum: 1 });
    assert.deepEqual(ok.witnesses, ['witness1.example']);
    assert.throws(() => openCheckpoint(cosigned, verifier, { witnesses: [w1v, w2v], quorum: 2 }), { code: 'SIGNATURE_MISSING' });
    assert.throws(() => openCheckpoint(r.checkpoint, verifier, { witnesses: [w1v], quorum: 1 }), { code: 'SIGNATURE_MISSING' });
    const lines = cosigned.split('\n');
    const last = lines[lines.length - 2]!;
    const sig = Buffer.from(last.split(' ')[2]!, 'base64');
    sig[sig.length - 1]! ^= 1;
    const bad = cosigned.replace(last, `${last.split(' ').slice(0, 2).join(' ')} ${sig.toString('base64')}`);
    assert.throws(() => openCheckpoint(bad, verifier, { witnesses: [w1v], quorum: 1 }), { code: 'SIGNATURE_INVALID' });
  } finally {
    await log.close();
  }
});
