/** Local RFC 6962 Merkle helper + per-event tree/chain over match.jsonl lines. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { leafHash, nodeHash, merkleRoot, rootFromLeafHashes, auditPath, verifyInclusion } from '../src/profiles/hashmatch/merkle.ts';
import { jsonlLines, eventMerkleRoot, eventChainHead } from '../src/profiles/hashmatch/hashes.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const u8 = (s: string) => new Uint8Array(Buffer.from(s));

test('RFC 6962 known values: empty tree, empty leaf, two leaves', () => {
  assert.equal(hex(merkleRoot([])), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.equal(hex(leafHash(new Uint8Array())), '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
  const a = u8('a');
  const b = u8('b');
  const manual = createHash('sha256').update(Uint8Array.of(1)).update(leafHash(a)).update(leafHash(b)).digest('hex');
  assert.equal(hex(merkleRoot([a, b])), manual);
  // 3 leaves: split at 2
  const c = u8('c');
  assert.equal(hex(merkleRoot([a, b, c])), hex(nodeHash(nodeHash(leafHash(a), leafHash(b)), leafHash(c))));
});

test('inclusion proofs verify for every leaf of trees of size 1..33; tampering rejected', () => {
  let n = 0;
  for (let size = 1; size <= 33; size++) {
    const leaves = Array.from({ length: size }, (_, i) => leafHash(u8(`event-${i}`)));
    const root = rootFromLeafHashes(leaves);
    for (let i = 0; i < size; i++) {
      const p = auditPath(leaves, i);
      assert.ok(verifyInclusion(leaves[i]!, i, size, p, root), `${size}/${i}`);
      assert.equal(verifyInclusion(leafHash(u8('x')), i, size, p, root), false);
      if (size > 1) assert.equal(verifyInclusion(leaves[i]!, (i + 1) % size, size, p, root), false);
      n++;
    }
  }
  process.stdout.write(`# inclusion proofs: ${n} asserted\n`);
});

test('event tree and chain over match.jsonl lines', () => {
  const log = u8('{"seq":0}\n{"seq":1}\n');
  assert.deepEqual(jsonlLines(log).map((l) => Buffer.from(l).toString()), ['{"seq":0}', '{"seq":1}']);
  assert.equal(eventMerkleRoot(log), 'sha256:' + hex(merkleRoot([u8('{"seq":0}'), u8('{"seq":1}')])));
  assert.notEqual(eventChainHead(log), eventChainHead(u8('{"seq":1}\n{"seq":0}\n')));
  assert.match(eventChainHead(log), /^sha256:[0-9a-f]{64}$/);
});
