/**
 * Commit-reveal seed encoding (docs/hashmatch.md). Known answers computed independently with Python's hashlib/hmac
 * from the documented encoding (LP = u32be length || bytes), so the encoding is pinned across implementations.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { seedCommitment, revealedMatchSeed, checkReveal, parseServerSeed, type SeedReveal } from '../src/profiles/hashmatch/seeds.ts';

const SEED = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';

test('commitment and HMAC match seeds: known answers (with and without external entropy, non-ASCII key)', () => {
  assert.equal(seedCommitment(SEED, '42'), 'sha256:161776df5c28a03780cd2972086bb9a7ca0fdc527a687c06020647fc2719a702');
  assert.equal(revealedMatchSeed(SEED, '42', 'RR:a-0-vs-b-1:round1'), 1529299230);
  assert.equal(revealedMatchSeed(SEED, '42', 'RR:a-0-vs-b-1:round1', ''), 1529299230);
  assert.equal(revealedMatchSeed(SEED, '42', 'RR:a-0-vs-b-1:round1', 'beacon-round-123'), 3393803008);
  assert.equal(revealedMatchSeed(SEED, '42', 'RR:Ø😀:round1'), 970405374);
});

test('reveal checks: wrong seed, wrong tournamentSeed, wrong published commitment, malformed serverSeed', () => {
  const good: SeedReveal = { version: 1, scheme: 'evident-hmac-sha256-v1', tournamentSeed: '42', serverSeed: SEED, commitment: seedCommitment(SEED, '42') };
  assert.deepEqual(checkReveal(good, good.commitment), { ok: true });
  assert.equal(checkReveal({ ...good, tournamentSeed: '43' }).ok, false);
  assert.equal(checkReveal({ ...good, serverSeed: SEED.replace('9d', '9e') }).ok, false);
  assert.equal(checkReveal(good, seedCommitment(SEED, '43')).ok, false);
  assert.equal(checkReveal({ ...good, serverSeed: SEED.toUpperCase() }).ok, false);
  assert.throws(() => parseServerSeed('abcd'), { code: 'INPUT_INVALID' });
});
