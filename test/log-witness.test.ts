/**
 * C2SP tlog-witness / tlog-cosignature, in process: the wire format (key ID, signed message, 8-byte timestamp)
 * rebuilt by hand from the spec, every status of add-checkpoint (200, 400, 403, 404, 409 + text/x.tlog.size, 422)
 * on SQLite and PostgreSQL state, the compare-and-set under concurrent requests, and the remote tiles client
 * against a tile server that lies.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, verify as cryptoVerify } from 'node:crypto';
import { formatVkey, noteSigner, openNote, parseVkey, parseNote, NOTE_SIG_COSIGNATURE_V1, type NoteSigner } from '../src/kernel/note.ts';
import { rawPublicKey } from '../src/kernel/keys.ts';
import { parseBase64 } from '../src/kernel/encoding.ts';
import { signCheckpoint, openCheckpoint } from '../src/log/checkpoint.ts';
import { CompactRange, hashLeaf, consistencyProofFromLeaves } from '../src/log/merkle.ts';
import { Witness, formatAddCheckpoint, parseAddCheckpoint } from '../src/log/witness/protocol.ts';
import { SqlWitnessStore } from '../src/log/witness/state.ts';
import { requestCosignature, parseWitnessSpec } from '../src/log/witness/client.ts';
import { buildWitnessServer } from '../src/log/witness/server.ts';
import { testPostgresUrl } from '../src/store/db.ts';
import { freshPgDatabase } from './pg-fresh.ts';

const ORIGIN = 'example.com/witnessed-log';
const logSigner = noteSigner(ORIGIN, generateKeyPairSync('ed25519').privateKey);
const logVkey = parseVkey(formatVkey(ORIGIN, logSigner.privateKey));
const wKey = generateKeyPairSync('ed25519').privateKey;
const wSigner = noteSigner('witness.example/w1', wKey, NOTE_SIG_COSIGNATURE_V1);
const wVkey = parseVkey(formatVkey('witness.example/w1', wKey, NOTE_SIG_COSIGNATURE_V1));

/** A tree of `n` leaves "e0".."e{n-1}" (with a `fork` tag from index `forkAt`). */
function tree(n: number, fork?: { at: number; tag: string }) {
  const leaves = Array.from({ length: n }, (_, i) => hashLeaf(Buffer.from(fork && i >= fork.at ? `${fork.tag}${i}` : `e${i}`)));
  const cr = new CompactRange();
  for (const l of leaves) cr.append(l);
  const checkpoint = signCheckpoint({ origin: ORIGIN, size: n, rootHash: cr.root() }, logSigner);
  return { leaves, checkpoint, root: cr.root() };
}
const add = (old: number, proof: Uint8Array[], checkpoint: string) => formatAddCheckpoint({ oldSize: old, proof, checkpoint });

test('cosignature/v1 wire format: key ID, signed message and timestamp rebuilt from the spec', async () => {
  const store = await SqlWitnessStore.open('sqlite::memory:');
  try {
    const w = new Witness(wSigner, [logVkey], store, () => 1_700_000_000);
    const t = tree(5);
    const r = await w.addCheckpoint(add(0, [], t.checkpoint));
    assert.equal(r.status, 200, r.body);
    const m = /^\u2014 witness\.example\/w1 ([A-Za-z0-9+/]+=*)\n$/.exec(r.body);
    assert.ok(m, r.body);
    const sig = parseBase64(m[1]!);
    assert.equal(sig.length, 4 + 8 + 64);
    // key ID = SHA-256(name || 0x0A || 0x04 || pubkey)[:4]
    const pub = rawPublicKey(wKey);
    const id = createHash('sha256').update('witness.example/w1').update(Buffer.from([0x0a, 0x04])).update(pub).digest().subarray(0, 4);
    assert.deepEqual(Buffer.from(sig.subarray(0, 4)), id);
    // 8-byte big-endian timestamp, then Ed25519 over "cosignature/v1\ntime <t>\n" || checkpoint body
    assert.equal(Buffer.from(sig.subarray(4, 12)).readBigUInt64BE(0), 1_700_000_000n);
    const body = parseNote(t.checkpoint).text;
    assert.ok(cryptoVerify(null, Buffer.from(`cosignature/v1\ntime 1700000000\n${body}`), wKey, Buffer.from(sig.subarray(12))));
    // the vkey carries type 0x04; the line verifies with the note verifier and counts for a quorum
    const vk = formatVkey('witness.example/w1', wKey, NOTE_SIG_COSIGNATURE_V1);
    assert.equal(parseBase64(vk.slice(vk.indexOf('+', vk.indexOf('+') + 1) + 1))[0], 0x04);
    const cosigned = t.checkpoint + r.body;
    assert.deepEqual(openCheckpoint(cosigned, logVkey, { witnesses: [wVkey], quorum: 1 }).witnesses, ['witness.example/w1']);
    assert.equal(openNote(cosigned, [logVkey, wVkey]).verified.find((v) => v.type === 4)?.timestamp, 1_700_000_000n);
  } finally {
    await store.close();
  }
});

test('add-checkpoint request format: strict parse', () => {
  const t = tree(3);
  const req = add(2, consistencyProofFromLeaves(2, t.leaves), t.checkpoint);
  assert.match(req, /^old 2\n[A-Za-z0-9+/]{43}=\n\n/);
  assert.equal(parseAddCheckpoint(req).oldSize, 2);
  for (const bad of ['old 01\n\n' + t.checkpoint, 'old -1\n\n' + t.checkpoint, 'old 1\nnot-base64!\n\n' + t.checkpoint, 'old 1\n' + t.checkpoint, 'new 1\n\n' + t.checkpoint, 'old 1\nAAAA\n\n' + t.checkpoint]) {
    assert.throws(() => parseAddCheckpoint(bad), /add-checkpoint/);
  }
});

async function statusSuite(url: string): Promise<void> {
  const store = await SqlWitnessStore.open(url);
  try {
    const w = new Witness(wSigner, [logVkey], store);
    const t3 = tree(3);
    const t7 = tree(7);
    const fork7 = tree(7, { at: 3, tag: 'fork' });
    const fork9 = tree(9, { at: 5, tag: 'fork' });
    // malformed → 400; old > size → 400; proof with old 0 → 400
    assert.equal((await w.addCheckpoint('garbage')).status, 400);
    assert.equal((await w.addCheckpoint(add(4, [], t3.checkpoint))).status, 400);
    assert.equal((await w.addCheckpoint(add(0, [t3.root], t3.checkpoint))).status, 400);
    // unknown origin → 404; a signature by another key for the known origin → 403
    const other = noteSigner('example.com/other', generateKeyPairSync('ed25519').privateKey);
    assert.equal((await w.addCheckpoint(add(0, [], signCheckpoint({ origin: 'example.com/other', size: 1, rootHash: hashLeaf(Buffer.from('x')) }, other)))).status, 404);
    const impostor = noteSigner(ORIGIN, generateKeyPairSync('ed25519').privateKey);
    assert.equal((await w.addCheckpoint(add(0, [], signCheckpoint({ origin: ORIGIN, size: 3, rootHash: t3.root }, impostor)))).status, 403);
    // a tampered log signature → 403
    const tampered = t3.checkpoint.replace(/(\u2014 \S+ )(.)/, (_, a: string, c: string) => a + (c === 'A' ? 'B' : 'A'));
    assert.equal((await w.addCheckpoint(add(0, [], tampered))).status, 403);
    // first checkpoint: trust on first use
    assert.equal((await w.addCheckpoint(add(0, [], t3.checkpoint))).status, 200);
    // stale old size → 409 with the known size as text/x.tlog.size
    const stale = await w.addCheckpoint(add(0, [], t7.checkpoint));
    assert.equal(stale.status, 409);
    assert.equal(stale.contentType, 'text/x.tlog.size');
    assert.equal(stale.body, '3\n');
    // the honest extension cosigns
    assert.equal((await w.addCheckpoint(add(3, consistencyProofFromLeaves(3, t7.leaves), t7.checkpoint))).status, 200);
    // same size, other root → 409; a fork from the old size with its own (valid for the fork) proof → 422
    assert.equal((await w.addCheckpoint(add(7, [], fork7.checkpoint))).status, 409);
    assert.equal((await w.addCheckpoint(add(7, consistencyProofFromLeaves(7, fork9.leaves), fork9.checkpoint))).status, 422);
    // a rollback to a smaller (consistent) tree is never cosigned
    assert.equal((await w.addCheckpoint(add(7, [], t3.checkpoint))).status, 400);
    assert.equal((await w.addCheckpoint(add(3, [], t3.checkpoint))).status, 409);
    // re-submitting the held checkpoint cosigns it again (empty proof, same root)
    assert.equal((await w.addCheckpoint(add(7, [], t7.checkpoint))).status, 200);
    assert.equal((await store.get(ORIGIN))!.size, 7);
    assert.ok((await store.evidence(ORIGIN)).length >= 2, 'refused fork requests are kept as evidence');

    // concurrent extensions from one old size by two witness instances sharing the store: exactly one wins
    const w2 = new Witness(wSigner, [logVkey], store);
    const t10 = tree(10);
    const f10 = tree(10, { at: 8, tag: 'race' });
    const [a, b] = await Promise.all([
      w.addCheckpoint(add(7, consistencyProofFromLeaves(7, t10.leaves), t10.checkpoint)),
      w2.addCheckpoint(add(7, consistencyProofFromLeaves(7, f10.leaves), f10.checkpoint)),
    ]);
    assert.deepEqual([a.status, b.status].sort(), [200, 409], `${a.status} ${a.body} / ${b.status} ${b.body}`);
  } finally {
    await store.close();
  }
}

test('add-checkpoint statuses on SQLite state', () => statusSuite('sqlite::memory:'));
test('add-checkpoint statuses on PostgreSQL state', { skip: !testPostgresUrl() }, async () => {
  const fresh = await freshPgDatabase(testPostgresUrl()!);
  try {
    await statusSuite(fresh.url);
  } finally {
    await fresh.drop();
  }
});

test('client: follows 409, keeps only lines by the pinned key; server speaks HTTP', async () => {
  const store = await SqlWitnessStore.open('sqlite::memory:');
  const app = await buildWitnessServer({ witness: new Witness(wSigner, [logVkey], store), vkey: formatVkey('witness.example/w1', wKey, NOTE_SIG_COSIGNATURE_V1) });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    const ep = parseWitnessSpec(`w1=${formatVkey('witness.example/w1', wKey, NOTE_SIG_COSIGNATURE_V1)}@${url}/`);
    const t4 = tree(4);
    const t9 = tree(9);
    const proofs = (leaves: Uint8Array[]) => async (from: number) => consistencyProofFromLeaves(from, leaves);
    assert.equal((await requestCosignature(ep, t4.checkpoint, 4, { proof: proofs(t4.leaves) })).size, 4);
    // starts from old 0: the 409 tells the size, the client proves from it
    const r = await requestCosignature(ep, t9.checkpoint, 9, { proof: proofs(t9.leaves) });
    assert.equal(r.lines.length, 1);
    assert.equal(openCheckpoint(t9.checkpoint + r.lines[0], logVkey, { witnesses: [ep.verifier], quorum: 1 }).witnesses.length, 1);
    // a fork is refused (422) and reported
    const f12 = tree(12, { at: 6, tag: 'f' });
    await assert.rejects(requestCosignature(ep, f12.checkpoint, 12, { proof: proofs(f12.leaves), knownSize: 9 }), /answered 422/);
    // wrong pinned key: the witness's lines are ignored → failure
    const wrong = { ...ep, verifier: parseVkey(formatVkey('witness.example/w1', generateKeyPairSync('ed25519').privateKey, NOTE_SIG_COSIGNATURE_V1)) };
    await assert.rejects(requestCosignature(wrong, t9.checkpoint, 9, { proof: proofs(t9.leaves), knownSize: 9 }), /no cosignature that verifies/);
    const res = await fetch(url + '/add-checkpoint', { method: 'POST', body: add(0, [], t4.checkpoint) });
    assert.equal(res.status, 409);
    assert.equal(res.headers.get('content-type'), 'text/x.tlog.size');
    assert.equal(await res.text(), '9\n');
  } finally {
    await app.close();
    await store.close();
  }
});

export { tree, logSigner, type NoteSigner };

// ---- the remote tiles client against a static tile server (three tile levels), honest and lying

import http from 'node:http';
import { hashChildren, rootFromLeafHashes, nodeMapFromLeaves, assembleProof, inclusionProofPlan, consistencyProofPlan, verifyInclusion, verifyConsistency } from '../src/log/merkle.ts';
import { RemoteLog, parseEntryBundle } from '../src/log/remote.ts';
import { tilePath, entryBundlePath, tileCounts } from '../src/log/tiles.ts';

function perfect(hs: Uint8Array[]): Uint8Array {
  let l = hs;
  while (l.length > 1) l = Array.from({ length: l.length / 2 }, (_, i) => hashChildren(l[2 * i]!, l[2 * i + 1]!));
  return l[0]!;
}

/** Every tile (full and partial) and entry bundle of a tree, as a path → bytes map. */
function staticTiles(entries: Uint8Array[]): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  let level = entries.map((e) => hashLeaf(e));
  for (const { level: L, fullTiles, partialWidth } of tileCounts(entries.length)) {
    for (let n = 0; n <= fullTiles; n++) {
      const w = n < fullTiles ? 256 : partialWidth;
      if (w === 0) continue;
      files.set(tilePath(L, n, w), Buffer.concat(level.slice(n * 256, n * 256 + w)));
      if (L === 0) files.set(entryBundlePath(n, w), Buffer.concat(entries.slice(n * 256, n * 256 + w).flatMap((e) => [Buffer.from([e.length >> 8, e.length & 255]), e])));
    }
    level = Array.from({ length: Math.floor(level.length / 256) }, (_, i) => perfect(level.slice(i * 256, (i + 1) * 256)));
  }
  return files;
}

async function serveFiles(files: Map<string, Buffer>): Promise<{ url: string; close(): Promise<void> }> {
  const srv = http.createServer((req, res) => {
    const f = files.get((req.url ?? '/').slice(1));
    res.writeHead(f ? 200 : 404).end(f ?? '');
  });
  srv.keepAliveTimeout = 60_000; // no reset of a socket the client is about to reuse
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(srv.address() as { port: number }).port}`, close: () => new Promise((r) => srv.close(() => r())) };
}

test('remote client: three tile levels, proofs equal the reference, lies are caught', async () => {
  const N = 65_536 + 256 * 3 + 7; // level 2 partial (1), level 1 partial (3), level 0 partial (7)
  const entries = Array.from({ length: N }, (_, i) => Buffer.from(`entry ${i}`));
  const leaves = entries.map((e) => hashLeaf(e));
  const root = rootFromLeafHashes(leaves);
  const files = staticTiles(entries);
  files.set('checkpoint', Buffer.from(signCheckpoint({ origin: ORIGIN, size: N, rootHash: root }, logSigner)));
  const s = await serveFiles(files);
  try {
    const r = new RemoteLog(s.url, { logKey: logVkey });
    assert.equal((await r.checkpoint()).checkpoint.size, N);
    // byte-identical to the proofs the local log assembles from its stored nodes, and valid on their own
    const nodes = nodeMapFromLeaves(leaves);
    const local = (plan: ReturnType<typeof inclusionProofPlan>) => assembleProof(plan, (id) => nodes.get(`${id.level}/${id.index}`));
    for (const [i, size] of [[0, N], [65_535, N], [N - 1, N], [300, 66_000], [66_000, 66_001]] as const) {
      const proof = await r.inclusionProof(i, size);
      assert.deepEqual(proof, local(inclusionProofPlan(i, size)), `inclusion ${i} in ${size}`);
      assert.ok(verifyInclusion(i, size, leaves[i]!, proof, size === N ? root : rootFromLeafHashes(leaves.slice(0, size))));
    }
    for (const m of [1, 255, 256, 257, 65_536, 66_000, N - 1, N]) {
      const proof = await r.consistencyProof(m);
      assert.deepEqual(proof, local(consistencyProofPlan(m, N)), `consistency ${m}`);
      assert.ok(verifyConsistency(m, N, proof, rootFromLeafHashes(leaves.slice(0, m)), root), `consistency ${m} verifies`);
    }
    assert.deepEqual((await r.entries(65_530, 65_540)).map((e) => Buffer.from(e).toString()), Array.from({ length: 10 }, (_, i) => `entry ${65_530 + i}`));
    assert.equal(parseEntryBundle(files.get(entryBundlePath(0))!, 256).length, 256);

    // a lying mirror: a flipped byte in a full level-0 tile, a right-edge tile, an entry bundle
    const lie = async (path: string, check: (r: RemoteLog) => Promise<unknown>, re: RegExp) => {
      const orig = files.get(path)!;
      const bad = Buffer.from(orig);
      bad[bad.length - 1]! ^= 1;
      files.set(path, bad);
      try {
        await assert.rejects(check(new RemoteLog(s.url, { logKey: logVkey })), re, path);
      } finally {
        files.set(path, orig);
      }
    };
    await lie(tilePath(0, 5), async (c) => (await c.checkpoint(), c.inclusionProof(5 * 256 + 3)), /does not match its parent tile/);
    await lie(tilePath(1, 0), async (c) => (await c.checkpoint(), c.inclusionProof(3)), /does not match its parent tile/);
    await lie(tilePath(0, 259, 7), (c) => c.checkpoint(), /do not hash to the checkpoint root/);
    await lie(tilePath(2, 0, 1), (c) => c.checkpoint(), /do not hash to the checkpoint root/);
    await lie(entryBundlePath(3), async (c) => (await c.checkpoint(), c.entries(800, 801)), /does not hash to its leaf/);
    // a checkpoint by another key is refused before any tile is read
    const other = noteSigner(ORIGIN, generateKeyPairSync('ed25519').privateKey);
    const cp = files.get('checkpoint')!;
    files.set('checkpoint', Buffer.from(signCheckpoint({ origin: ORIGIN, size: N, rootHash: root }, other)));
    await assert.rejects(new RemoteLog(s.url, { logKey: logVkey }).checkpoint(), /no signature from a known key|not signed by the pinned/);
    files.set('checkpoint', cp);
  } finally {
    await s.close();
  }
});
