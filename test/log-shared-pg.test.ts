/**
 * One PostgreSQL log shared by several TransparencyLog handles (as several processes would): exactly one holds the
 * sequencer role (session advisory lock), the others forward their appends through the queue table and take over
 * when the sequencer goes away. Each test runs in a throw-away database (test/pg-fresh.ts).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { generateKeyPair, toPublicKey } from '../src/kernel/keys.ts';
import { noteSigner, noteVerifier } from '../src/kernel/note.ts';
import { openLog, openCheckpoint, verifyTlogProof, verifyInclusion, verifyConsistency, hashLeaf, sequencerLockKey, type TransparencyLog } from '../src/log/index.ts';
import { testPostgresUrl } from '../src/store/db.ts';
import { freshPgDatabase } from './pg-fresh.ts';

const PG = testPostgresUrl();
const origin = 'example.com/shared-log';
const { privateKey } = generateKeyPair('ed25519');
const signer = noteSigner(origin, privateKey);
const verifier = noteVerifier(origin, toPublicKey(privateKey));
const enc = (s: string) => new TextEncoder().encode(s);

async function until(what: string, f: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Every acknowledged append is stored at its index and proves into the final checkpoint; every checkpoint seen is consistent with it. */
async function checkAll(log: TransparencyLog, acks: Array<{ data: string; index: number; checkpoint: string }>): Promise<void> {
  const final = openCheckpoint(await log.latestCheckpoint(), verifier);
  const idx = new Set<number>();
  for (const a of acks) {
    assert.ok(!idx.has(a.index), `index ${a.index} acknowledged twice`);
    idx.add(a.index);
    assert.equal(Buffer.from((await log.getEntry(a.index))!).toString(), a.data);
    assert.ok(verifyInclusion(a.index, final.size, hashLeaf(enc(a.data)), await log.inclusionProof(a.index, final.size), final.rootHash), `inclusion of ${a.index}`);
    const cp = openCheckpoint(a.checkpoint, verifier);
    assert.ok(cp.size > a.index);
    if (cp.size < final.size) assert.ok(verifyConsistency(cp.size, final.size, await log.consistencyProof(cp.size, final.size), cp.rootHash, final.rootHash));
    else assert.deepEqual(cp.rootHash, final.rootHash);
  }
  // the tlog-proof of one forwarded entry verifies offline with only the pinned log key
  const a = acks[acks.length - 1]!;
  assert.equal(verifyTlogProof(await log.tlogProof(a.index), verifier, { entry: enc(a.data) }).proof.index, a.index);
}

test('PostgreSQL shared log: one sequencer, the other forwards; all appends acknowledged with distinct indexes and valid proofs', { skip: !PG && 'EVIDENT_TEST_PG not set' }, async () => {
  const db = await freshPgDatabase(PG!);
  const l1 = await openLog({ db: db.url, signer, origin, batchSize: 32, batchMs: 2 });
  const l2 = await openLog({ db: db.url, signer, origin, batchSize: 32, batchMs: 2 });
  try {
    assert.equal(l1.isSequencer(), true, 'the first handle takes the role');
    assert.equal(l2.isSequencer(), false, 'the second forwards');
    const acks = await Promise.all(
      Array.from({ length: 400 }, async (_, i) => {
        const data = `shared-${i}`;
        const r = await (i % 2 ? l1 : l2).append(data);
        assert.equal(r.leafHash, Buffer.from(hashLeaf(enc(data))).toString('hex'));
        return { data, index: r.index, checkpoint: r.checkpoint };
      }),
    );
    assert.deepEqual(acks.map((a) => a.index).sort((a, b) => a - b), Array.from({ length: 400 }, (_, i) => i));
    assert.equal(await l2.size(), 400);
    await checkAll(l2, acks);
    assert.equal([l1.isSequencer(), l2.isSequencer()].filter(Boolean).length, 1, 'still exactly one sequencer');
    // a read-only handle never competes for the role
    const ro = await openLog({ db: db.url });
    assert.equal(ro.isSequencer(), false);
    await ro.close();
    // forwarding with dedupe: the sequencer honours the forwarder's flag
    const d = await openLog({ db: db.url, signer, origin, dedupe: true, batchMs: 1 });
    try {
      assert.equal(d.isSequencer(), false);
      assert.equal((await d.append('shared-7')).index, acks.find((a) => a.data === 'shared-7')!.index);
      assert.equal((await d.append('fresh')).index, 400);
    } finally {
      await d.close();
    }
  } finally {
    await l1.close();
    await l2.close();
    await db.drop();
  }
});

test('PostgreSQL shared log: take-over when the sequencer closes or its session is killed; queued rows of a dead forwarder are committed', { skip: !PG && 'EVIDENT_TEST_PG not set' }, async () => {
  const db = await freshPgDatabase(PG!);
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  const opts = { db: db.url, signer, origin, batchSize: 16, batchMs: 2, pollMs: 50 };
  const l1 = await openLog(opts);
  const l2 = await openLog(opts);
  let l3: TransparencyLog | undefined;
  const acks: Array<{ data: string; index: number; checkpoint: string }> = [];
  const put = async (l: TransparencyLog, data: string) => {
    const r = await l.append(data);
    acks.push({ data, index: r.index, checkpoint: r.checkpoint });
  };
  try {
    assert.ok(l1.isSequencer() && !l2.isSequencer());
    // load through both while the sequencer closes: l2 takes over and nothing acknowledged is lost
    const load = Promise.all(Array.from({ length: 100 }, (_, i) => put(l2, `a-${i}`)));
    await put(l1, 'a-last-of-l1');
    await l1.close();
    await load;
    await until('l2 takes over', () => l2.isSequencer());
    // a third handle forwards to l2; then l2's control session is killed by the server
    l3 = await openLog(opts);
    assert.equal(l3.isSequencer(), false);
    await Promise.all(Array.from({ length: 50 }, (_, i) => put(i % 2 ? l2 : l3!, `b-${i}`)));
    const key = sequencerLockKey('tlog');
    const holder = await admin.query(
      `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
         AND ((classid::bigint << 32) | objid::bigint) = $1::bigint`,
      [key],
    );
    assert.equal(holder.rows.length, 1, 'one session holds the sequencer lock');
    const during = Promise.all(Array.from({ length: 100 }, (_, i) => put(i % 2 ? l2 : l3!, `c-${i}`)));
    await admin.query('SELECT pg_terminate_backend($1)', [holder.rows[0].pid]);
    await during;
    await until('someone sequences again', () => l2.isSequencer() || l3!.isSequencer());
    assert.equal([l2.isSequencer(), l3.isSequencer()].filter(Boolean).length, 1);
    const after = await admin.query(
      `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
         AND ((classid::bigint << 32) | objid::bigint) = $1::bigint`,
      [key],
    );
    assert.equal(after.rows.length, 1);
    assert.notEqual(after.rows[0].pid, holder.rows[0].pid, 'the role moved to a new session');
    // a forwarder that died after queueing: its rows are committed by the sequencer (nobody waits for the ack)
    await admin.query(`INSERT INTO tlog_queue (data) VALUES ($1), ($2)`, [Buffer.from('orphan-1'), Buffer.from('orphan-2')]);
    await until('orphaned queue rows are committed', async () => (await admin.query('SELECT count(*)::int AS n FROM tlog_queue')).rows[0].n === 0);
    const size = await l2.size();
    const tail = [Buffer.from((await l2.getEntry(size - 2))!).toString(), Buffer.from((await l2.getEntry(size - 1))!).toString()];
    assert.deepEqual(tail.sort(), ['orphan-1', 'orphan-2']);
    await until('orphan acks are written', async () => (await admin.query('SELECT count(*)::int AS n FROM tlog_acks')).rows[0].n === 2);
    assert.equal(size, acks.length + 2);
    await checkAll(l2, acks);
  } finally {
    await l2.close();
    await l3?.close();
    await admin.end();
    await db.drop();
  }
});

test('PostgreSQL shared log: without a live sequencer a forwarded append is withdrawn after forwardTimeoutMs (not logged); a waiting one is committed on take-over', { skip: !PG && 'EVIDENT_TEST_PG not set' }, async () => {
  const db = await freshPgDatabase(PG!);
  const init = await openLog({ db: db.url, signer, origin });
  await init.append('first');
  await init.close();
  // something else holds the role but never sequences (a hung sequencer)
  const squatter = new pg.Client({ connectionString: db.url });
  await squatter.connect();
  await squatter.query('SELECT pg_advisory_lock($1)', [sequencerLockKey('tlog')]);
  const l = await openLog({ db: db.url, signer, origin, batchMs: 1, pollMs: 50, forwardTimeoutMs: 300 });
  try {
    assert.equal(l.isSequencer(), false);
    await assert.rejects(l.append('never'), (e: Error & { code?: string }) => e.code === 'LOG_TIMEOUT' && /withdrawn and is not logged/.test(e.message));
    assert.equal((await squatter.query('SELECT count(*)::int AS n FROM tlog_queue')).rows[0].n, 0, 'withdrawn from the queue');
    // queued while nobody sequences, then the squatter's session ends: the forwarder takes over and commits its own row
    const p = l.append('later');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await squatter.query('SELECT count(*)::int AS n FROM tlog_queue')).rows[0].n, 1);
    await squatter.end();
    const r = await p;
    assert.equal(r.index, 1);
    assert.equal(l.isSequencer(), true);
    assert.equal(await l.size(), 2);
    assert.equal(openCheckpoint(r.checkpoint, verifier).size, 2);
  } finally {
    await l.close();
    await squatter.end().catch(() => {});
    await db.drop();
  }
});
