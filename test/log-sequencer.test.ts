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
