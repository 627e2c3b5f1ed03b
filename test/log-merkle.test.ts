/**
 * src/log/merkle.ts + tiles.ts against every vector in ../shared/vectors/merkle (counted, not sampled):
 * transparency-dev probes (inclusion, consistency, subtree inclusion, subtree consistency), the RFC 6962 reference
 * trees (hasher vectors, roots 0..8, 36 inclusion + 36 consistency proofs generated AND verified), the MTC subtree
 * hash accumulator, the real CT Argon 2020 proofs, and the C2SP tlog-tiles path examples.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import {
  hashLeaf, hashChildren, emptyRoot, rootFromLeafHashes, CompactRange, verifyInclusion, verifyConsistency,
  verifySubtreeInclusion, verifySubtreeConsistency, inclusionProofFromLeaves, consistencyProofFromLeaves, isValidSubtree,
} from '../src/log/merkle.ts';
import { tileIndexPath, parseTileIndexPath, tileCounts, partialTilePaths, entryBundlePathFor } from '../src/log/tiles.ts';

const repoRoot = path.resolve(import.meta.dirname, '..');
const V = path.resolve(repoRoot, '../shared/vectors/merkle');
const load = (p: string) => JSON.parse(fs.readFileSync(path.join(V, p), 'utf8'));
const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const say = (name: string, n: number) => process.stdout.write(`# ${name}: ${n} cases asserted\n`);

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else if (e.name.endsWith('.json')) out.push(p);
  }
  return out.sort();
}
// JSON numbers above 2^53 must not silently round to a valid value: parse them as strings, map to NaN.
function loadProbe(p: string): Record<string, unknown> {
  const text = fs.readFileSync(p, 'utf8').replace(/:\s*(\d{16,})/g, ': "$1"');
  const o = JSON.parse(text) as Record<string, unknown>;
  for (const [k, v] of Object.entries(o)) if (typeof v === 'string' && /^\d+$/.test(v)) o[k] = Number.isSafeInteger(Number(v)) ? Number(v) : NaN;
  return o;
}
const hashes = (a: unknown) => (Array.isArray(a) ? a.map((x) => b64(String(x))) : []);

const TD = path.join(V, 'transparency-dev-testdata');

test('transparency-dev inclusion probes', () => {
  const files = walk(path.join(TD, 'inclusion'));
  let n = 0;
  for (const f of files) {
    const v = loadProbe(f);
    const ok = verifyInclusion(v.leafIdx as number, v.treeSize as number, b64(v.leafHash as string), hashes(v.proof), b64(v.root as string));
    assert.equal(ok, !v.wantErr, `${path.relative(TD, f)}: ${v.desc}`);
    n++;
  }
  assert.equal(n, 98);
  say('inclusion probes', n);
});

test('transparency-dev consistency probes', () => {
  const files = walk(path.join(TD, 'consistency'));
  let n = 0;
  for (const f of files) {
    const v = loadProbe(f);
    const ok = verifyConsistency(v.size1 as number, v.size2 as number, hashes(v.proof), b64(v.root1 as string), b64(v.root2 as string));
    assert.equal(ok, !v.wantErr, `${path.relative(TD, f)}: ${v.desc}`);
    n++;
  }
  assert.equal(n, 98);
  say('consistency probes', n);
});

test('transparency-dev subtree inclusion probes', () => {
  const files = walk(path.join(TD, 'subtreeinclusion'));
  let n = 0;
  for (const f of files) {
    const v = loadProbe(f);
    const ok = verifySubtreeInclusion(v.leafIdx as number, v.start as number, v.end as number, b64(v.leafHash as string), hashes(v.proof), b64(v.root as string));
    assert.equal(ok, !v.wantErr, `${path.relative(TD, f)}: ${v.desc}`);
    n++;
  }
  assert.equal(n, 204);
  say('subtree inclusion probes', n);
});

test('transparency-dev subtree consistency probes', () => {
  const files = walk(path.join(TD, 'subtreeconsistency'));
  let n = 0;
  for (const f of files) {
    const v = loadProbe(f);
    const ok = verifySubtreeConsistency(v.start as number, v.end as number, v.size as number, hashes(v.proof), b64(v.root1 as string), b64(v.root2 as string));
    assert.equal(ok, !v.wantErr, `${path.relative(TD, f)}: ${v.desc}`);
    n++;
  }
  assert.equal(n, 118);
  say('subtree consistency probes', n);
});

test('RFC 6962 reference: hasher, roots, 36 inclusion + 36 consistency proofs generated and verified', () => {
  const d = load('rfc6962_reference.json');
  let n = 0;
  for (const h of d.hasherVectors) {
    let got: Uint8Array;
    if (h.op === 'emptyRoot') got = emptyRoot();
    else if (h.op === 'hashLeaf') got = hashLeaf(hex(h.leafHex));
    else got = hashChildren(hex(h.leftHex), hex(h.rightHex));
    assert.equal(toHex(got), h.want, h.desc);
    n++;
  }
  const leaves = (d.leafInputsHex as string[]).map((x) => hashLeaf(hex(x)));
  assert.deepEqual(leaves.map(toHex), d.leafHashes);
  n += leaves.length;
  for (const [size, root] of Object.entries(d.rootHashesBySize as Record<string, string>)) {
    assert.equal(toHex(rootFromLeafHashes(leaves.slice(0, Number(size)))), root, `root ${size}`);
    n++;
  }
  assert.equal(d.inclusionProofs.length, 36);
  for (const p of d.inclusionProofs) {
    const gen = inclusionProofFromLeaves(p.index, leaves.slice(0, p.size));
    assert.deepEqual(gen.map(toHex), p.proof, `inclusion ${p.index}/${p.size}`);
    assert.ok(verifyInclusion(p.index, p.size, hex(p.leafHash), p.proof.map(hex), hex(p.root)));
    if (p.proof.length > 0) {
      const bad = p.proof.map(hex);
      bad[0][0] ^= 1;
      assert.equal(verifyInclusion(p.index, p.size, hex(p.leafHash), bad, hex(p.root)), false);
    }
    n++;
  }
  assert.equal(d.consistencyProofs.length, 36);
  for (const p of d.consistencyProofs) {
    const gen = consistencyProofFromLeaves(p.size1, leaves.slice(0, p.size2));
    assert.deepEqual(gen.map(toHex), p.proof, `consistency ${p.size1}->${p.size2}`);
    assert.ok(verifyConsistency(p.size1, p.size2, p.proof.map(hex), hex(p.root1), hex(p.root2)));
    // the generic subtree verifier agrees for [0, size1)
    assert.ok(verifySubtreeConsistency(0, p.size1, p.size2, p.proof.map(hex), hex(p.root1), hex(p.root2)));
    n++;
  }
  say('rfc6962 reference', n);
});

test('MTC subtree hash accumulator over 130 leaves', () => {
  const d = load('rfc6962_reference.json').subtreeHashAccumulator;
  const leaves = Array.from({ length: 130 }, (_, i) => hashLeaf(Uint8Array.of(i)));
  const acc = createHash('sha256');
  let n = 0;
  for (let end = 0; end <= 130; end++) {
    for (let start = 0; start <= end; start++) {
      if (!(start === 0 || start === end || isValidSubtree(start, end))) continue;
      const h = start === end ? emptyRoot() : rootFromLeafHashes(leaves.slice(start, end));
      acc.update(`[${start}, ${end}) ${toHex(h)}\n`);
      n++;
    }
  }
  assert.equal(acc.digest('hex'), d.want);
  say('subtree accumulator lines', n);
});

test('CT Argon 2020: real inclusion (index 10000 of 961,984,013) and consistency proofs', () => {
  const sth = load('ct-argon2020/sth.json');
  const proof = load('ct-argon2020/proof.json');
  const cons = load('ct-argon2020/consistency.json');
  const entries = load('ct-argon2020/entries.json');
  const leaf = hashLeaf(b64(entries.entries[0].leaf_input));
  const root = b64(sth.sha256_root_hash);
  const path_ = proof.audit_path.map(b64);
  assert.equal(path_.length, 30);
  assert.ok(verifyInclusion(proof.leaf_index, sth.tree_size, leaf, path_, root));
  assert.equal(verifyInclusion(proof.leaf_index + 1, sth.tree_size, leaf, path_, root), false);
  assert.equal(verifyInclusion(proof.leaf_index, sth.tree_size * 2, leaf, path_, root), false);
  const oldRoot = b64('AuIZ5V6sDUj1vn3Y1K85oOaQ7y+FJJKtyRTl1edIKBQ=');
  const cpath = cons.consistency.map(b64);
  assert.ok(verifyConsistency(3654490, sth.tree_size, cpath, oldRoot, root));
  assert.equal(verifyConsistency(3654490 * 2, sth.tree_size, cpath, oldRoot, root), false);
  assert.equal(verifyConsistency(3654490, sth.tree_size, cpath, root, oldRoot), false);
  assert.equal(verifyConsistency(3654490, sth.tree_size, cpath.slice(1), oldRoot, root), false);
  say('argon2020', 7);
});

test('compact range: incremental root equals MTH and emits every perfect node once', () => {
  const leaves = Array.from({ length: 300 }, (_, i) => hashLeaf(new TextEncoder().encode(`e${i}`)));
  const cr = new CompactRange();
  let nodes = 0;
  for (let i = 0; i < leaves.length; i++) {
    nodes += cr.append(leaves[i]!).length;
    assert.equal(toHex(cr.root()), toHex(rootFromLeafHashes(leaves.slice(0, i + 1))));
    const resumed = new CompactRange(cr.size, cr.copyHashes());
    assert.equal(toHex(resumed.root()), toHex(cr.root()));
  }
  assert.equal(nodes, 2 * 300 - 1 - 3); // 300 = 256+32+8+4: nodes = sum floor(300/2^l)
  // generated proofs verify for all (index,size) and (m,n) up to 40
  for (let size = 1; size <= 40; size++) {
    const ls = leaves.slice(0, size);
    const root = rootFromLeafHashes(ls);
    for (let i = 0; i < size; i++) assert.ok(verifyInclusion(i, size, ls[i]!, inclusionProofFromLeaves(i, ls), root));
    for (let m = 1; m <= size; m++) assert.ok(verifyConsistency(m, size, consistencyProofFromLeaves(m, ls), rootFromLeafHashes(ls.slice(0, m)), root));
  }
});

test('C2SP tlog-tiles paths', () => {
  const d = load('tlog_tiles_paths.json');
  let n = 0;
  for (const e of d.indexEncoding) {
    assert.equal(tileIndexPath(e.n), e.path);
    assert.equal(parseTileIndexPath(e.path), e.n);
    n++;
  }
  for (const t of d.tileCounts) {
    assert.deepEqual(tileCounts(t.treeSize), t.levels, `size ${t.treeSize}`);
    n++;
  }
  for (const t of d.partialTilePathsForSize) {
    assert.deepEqual(partialTilePaths(t.treeSize), t.paths);
    n++;
  }
  for (const e of d.entryBundlePaths) {
    assert.equal(entryBundlePathFor(e.entryIndex), e.bundlePath);
    n++;
  }
  assert.throws(() => parseTileIndexPath('x000/001'));
  assert.throws(() => parseTileIndexPath('1000'));
  say('tiles', n);
});
