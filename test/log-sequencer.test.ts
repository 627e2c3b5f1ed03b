/**
 * Sequencer scheduling regressions (backend-independent; SQLite in memory).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair } from '../src/kernel/keys.ts';
import { noteSigner } from '../src/kernel/note.ts';
import { openLog } from '../src/log/index.ts';

const origin = 'example.com/sequencer-test';
const signer = noteSigner(origin, generateKeyPair('ed25519').privateKey);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('an append after a batch timer fired on an empty queue is still committed (no stale "running" loop)', async () => {
  const log = await openLog({ db: 'sqlite::memory:', signer, origin, batchMs: 5 });
  try {
    // "b" is appended from a's acknowledgement: the running loop commits it at once, and b's batch timer then
    // fires on an empty queue. That must not leave the sequencer wedged.
    await log.append('a').then(() => log.append('b'));
    await sleep(30);
    const c = await Promise.race([log.append('c').then((r) => r.index), sleep(3000).then(() => 'hung')]);
    assert.equal(c, 2);
    await Promise.race([log.flush(), sleep(3000).then(() => assert.fail('flush hangs'))]);
  } finally {
    await log.close();
  }
});

test('group commit: acknowledgements carry in-memory inclusion proofs equal to the stored ones, across batch shapes', async () => {
  const { hashLeaf, verifyInclusion, parseCheckpoint } = await import('../src/log/index.ts');
  const log = await openLog({ db: 'sqlite::memory:', signer, origin, batchSize: 37 });
  try {
    let next = 0;
    // waves of 1..90 concurrent appends: batches start at every alignment and split at batchSize
    for (const wave of [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 1, 64, 7]) {
      const acks = await Promise.all(Array.from({ length: wave }, () => {
        const e = `entry ${next++}`;
        return log.append(e).then((a) => ({ a, e }));
      }));
      for (const { a, e } of acks) {
        const proof = a.batchProof?.();
        assert.ok(proof, `index ${a.index} has a proof`);
        const root = parseCheckpoint(a.checkpoint.slice(0, a.checkpoint.indexOf('\n\n') + 1)).rootHash;
        assert.ok(verifyInclusion(a.index, a.size, hashLeaf(new TextEncoder().encode(e)), proof!, root), `index ${a.index} size ${a.size}`);
        assert.deepEqual(proof!.map((p) => Buffer.from(p).toString('hex')), (await log.inclusionProof(a.index, a.size)).map((p) => Buffer.from(p).toString('hex')));
      }
    }
  } finally {
    await log.close();
  }
});
