/** C2SP tlog-proof@v1 and tlog-checkpoint parsing: strict syntax, bounded sizes, exact error codes. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair, toPublicKey } from '../src/kernel/keys.ts';
import { noteSigner, noteVerifier } from '../src/kernel/note.ts';
import {
  formatTlogProof, parseTlogProof, verifyTlogProof, expectedPathLength, inclusionProofPlan, formatCheckpoint, parseCheckpoint,
  signCheckpoint, hashLeaf, rootFromLeafHashes, inclusionProofFromLeaves,
} from '../src/log/index.ts';

const origin = 'example.com/tp';
const key = generateKeyPair('ed25519').privateKey;
const signer = noteSigner(origin, key);
const verifier = noteVerifier(origin, toPublicKey(key));

test('checkpoint format/parse round trip and strict rejections', () => {
  const root = hashLeaf(new Uint8Array());
  const body = formatCheckpoint({ origin, size: 12, rootHash: root, extensions: ['ext line'] });
  assert.deepEqual(parseCheckpoint(body), { origin, size: 12, rootHash: root, extensions: ['ext line'] });
  const b64 = Buffer.from(root).toString('base64');
  for (const bad of [
    `${origin}\n012\n${b64}\n`, // leading zero
    `${origin}\n-1\n${b64}\n`,
    `${origin}\n12\n${b64.slice(4)}\n`, // not 32 bytes
    `${origin}\n12\n${b64}`, // no final newline
    `\n12\n${b64}\n`, // empty origin
    `${origin}\n12\n${b64}\n\n`, // empty extension line
    `${origin}\n99999999999999999\n${b64}\n`, // beyond 2^53
  ]) assert.throws(() => parseCheckpoint(bad), { code: 'NOTE_INVALID' }, JSON.stringify(bad));
});

test('tlog-proof: round trip, verify, and parse rejections (INPUT_INVALID)', () => {
  const data = ['a', 'b', 'c', 'd', 'e'].map((s) => new TextEncoder().encode(s));
  const leaves = data.map(hashLeaf);
  const cp = signCheckpoint({ origin, size: 5, rootHash: rootFromLeafHashes(leaves) }, signer);
  const text = formatTlogProof({ index: 2, proof: inclusionProofFromLeaves(2, leaves), checkpoint: cp, extra: data[2] });
  assert.equal(formatTlogProof(parseTlogProof(text)), text);
  assert.equal(verifyTlogProof(text, verifier, { entry: data[2] }).checkpoint.size, 5);
  assert.equal(verifyTlogProof(text, verifier, { shapeOnly: true }).proof.index, 2); // shape-only, by explicit opt-in
  // fail closed: without entry or leaf hash the inclusion is not checked, so the proof does not verify
  assert.throws(() => verifyTlogProof(text, verifier), { code: 'ENTRY_MISSING' });
  assert.equal(verifyTlogProof(text, verifier, { leafHash: leaves[2] }).checkpoint.size, 5);
  assert.equal(verifyTlogProof(text, verifier, { entry: data[2], leafHash: leaves[2] }).checkpoint.size, 5);
  assert.throws(() => verifyTlogProof(text, verifier, { entry: data[2], leafHash: leaves[3] }), { code: 'PROOF_INVALID' });
  assert.throws(() => verifyTlogProof(text, verifier, { leafHash: leaves[3] }), { code: 'PROOF_INVALID' });
  assert.throws(() => verifyTlogProof(text, verifier, { entry: data[3] }), { code: 'PROOF_INVALID' });
  const noPath = formatTlogProof({ index: 2, proof: [], checkpoint: cp });
  assert.throws(() => verifyTlogProof(noPath, verifier, { shapeOnly: true }), { code: 'PROOF_INVALID' });
  assert.throws(() => verifyTlogProof(noPath, verifier), { code: 'PROOF_INVALID' });
  const outOfRange = formatTlogProof({ index: 5, proof: [], checkpoint: cp });
  assert.throws(() => verifyTlogProof(outOfRange, verifier), { code: 'PROOF_INVALID' });
  const [head, rest] = [text.slice(0, text.indexOf('\n\n')), text.slice(text.indexOf('\n\n'))];
  for (const bad of [
    text.replace('c2sp.org/tlog-proof@v1', 'c2sp.org/tlog-proof@v2'),
    text.replace('index 2', 'index 02'),
    text.replace('index 2', 'index -2'),
    text.replace(/^extra .*$/m, 'extra !!'),
    head.replace(/\n([^\n]+)$/, '\n$1x') + rest, // broken base64 hash
    head + '\nAAAA' + rest, // short hash
    head, // no checkpoint
    head + '\n' + 'x'.repeat(10),
    new Uint8Array([0xff, 0xfe]),
  ]) assert.throws(() => parseTlogProof(bad), { code: 'INPUT_INVALID' });
  const long = 'c2sp.org/tlog-proof@v1\nindex 0\n' + `${Buffer.alloc(32).toString('base64')}\n`.repeat(64) + '\n' + cp;
  assert.throws(() => parseTlogProof(long), { code: 'INPUT_INVALID' });
});

test('expectedPathLength equals the RFC 6962 PATH length for every (index, size <= 70)', () => {
  let n = 0;
  for (let size = 1; size <= 70; size++)
    for (let i = 0; i < size; i++) {
      assert.equal(expectedPathLength(i, size), inclusionProofPlan(i, size).length, `${i}/${size}`);
      n++;
    }
  assert.equal(n, (70 * 71) / 2);
});
