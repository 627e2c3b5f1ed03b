/** ELI-Sentinel formats: json_c14n_v1, HALO chain, RS256 signing — byte-exact against ../shared/vectors/eli. */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createPublicKey } from 'node:crypto';
import { isJsonObject, type JsonObject } from '../src/kernel/json/index.ts';
import { importPrivateKey, importPublicKey } from '../src/kernel/keys.ts';
import { sha256Hex } from '../src/kernel/digest.ts';
import { hasNoEscapes, jsonC14nV1, parseEliJson, prettyPacket } from '../src/profiles/eli/c14n.ts';
import { computeHaloChain, haloPreimages, checkHaloChain, HALO_BLOCKS } from '../src/profiles/eli/halo.ts';
import { eliKeyId, eliPublicJwk, signPacket, signedMessageBytes, verifyPacketSignature } from '../src/profiles/eli/sign.ts';
import { buildPacket } from '../src/profiles/eli/issue.ts';

const repoRoot = path.resolve(import.meta.dirname, '..');
const V = path.resolve(repoRoot, '../shared/vectors/eli');
const readText = (f: string) => fs.readFileSync(path.join(V, f), 'utf8');
const readLossless = (f: string) => parseEliJson(fs.readFileSync(path.join(V, f))) as any;

test('c14n-edge-vectors: every case (ok cases byte-exact + sha256, error cases rejected)', () => {
  const d = readLossless('c14n-edge-vectors.json');
  let ok = 0;
  let err = 0;
  for (const v of d.vectors) {
    const exp = v.expected;
    let out: string | undefined;
    let error: unknown;
    try {
      out = jsonC14nV1(parseEliJson(v.input_json_text));
    } catch (e) {
      error = e;
    }
    if (exp.ok) {
      assert.equal(error, undefined, `${v.id}: ${(error as Error)?.message}`);
      assert.equal(out, exp.canonical_utf8, v.id);
      assert.equal(Buffer.from(out!, 'utf8').toString('hex'), exp.canonical_hex, v.id);
      assert.equal(sha256Hex(out!), exp.sha256, v.id);
      ok++;
    } else {
      assert.ok(error, `${v.id} must be rejected`);
      assert.match((error as { code: string }).code, /^JSON_/, v.id);
      err++;
    }
  }
  assert.equal(ok + err, d.vectors.length);
  assert.equal(d.vectors.length, 28);
  assert.equal(err, 4);
});

test('upstream canonicalization_vectors.json and cdil c14n_vectors.json: all cases', () => {
  const up = readLossless('upstream/canonicalization_vectors.json');
  for (const v of up) {
    assert.equal(jsonC14nV1(v.input), v.canonical_json, v.description);
    assert.equal(sha256Hex(jsonC14nV1(v.input)), v.sha256, v.description);
  }
  assert.equal(up.length, 9);
  const cd = readLossless('cdil-variant/c14n_vectors.json');
  for (const v of cd) assert.equal(jsonC14nV1(v.input), v.expected, v.name);
  assert.equal(cd.length, 18);
});

test('halo-vectors.json: all chains and block preimages, from the object and from the JSON text', () => {
  const d = readLossless('halo-vectors.json');
  let preimages = 0;
  for (const v of d.vectors) {
    const hasPre = Object.keys(v.block_preimages_utf8 ?? {}).length > 0;
    if (hasPre) preimages++;
    for (const fields of [v.packet_fields, parseEliJson(v.packet_fields_json_text)]) {
      assert.deepEqual(computeHaloChain(fields), { ...v.expected_halo_chain }, v.id);
      if (hasPre) assert.deepEqual(haloPreimages(fields), { ...v.block_preimages_utf8 }, v.id);
      assert.deepEqual(checkHaloChain(fields, v.expected_halo_chain).mismatches, [], v.id);
    }
  }
  assert.equal(d.vectors.length, 4);
  assert.equal(preimages, 3);
  // absent key ≡ null
  const denied = d.vectors.find((v: any) => v.id === 'sample_packet_denied');
  const absent = d.vectors.find((v: any) => v.id === 'denied_with_absent_keys');
  assert.deepEqual({ ...absent.expected_halo_chain }, { ...denied.expected_halo_chain });
  // a naive JSON.parse loses 1.0 → block_4 and final_hash differ
  const fixed = d.vectors.find((v: any) => v.id === 'test_fixed_vector_1');
  const naive = checkHaloChain(JSON.parse(fixed.packet_fields_json_text), fixed.expected_halo_chain);
  assert.deepEqual(naive.mismatches.map((m) => m.block), ['block_4', 'final_hash']);
});

test('computeHaloChain (concatenation fast path) equals hashing the block objects, on vectors and odd values', async () => {
  const { haloBlocks } = await import('../src/profiles/eli/halo.ts');
  const d = readLossless('halo-vectors.json');
  const odd: JsonObject[] = [
    {},
    { transaction_id: 'tx_é\u2028"\\', environment: 'p\u0000', intent_manifest: { z: [1, new (await import('../src/kernel/json/index.ts')).JsonNumber('1.0')], a: null }, token_usage: { '\ud83d\ude00': 1, 'é': 2, z: 3 } },
    parseEliJson('{"policy_receipt_subset":{"b":1e300,"a":-0,"c":-0.0},"latency_ms":12345678901234567890,"user_ref":"\\ud83d\\ude00"}') as JsonObject,
  ];
  for (const fields of [...d.vectors.map((v: any) => v.packet_fields as JsonObject), ...odd]) {
    const slow = Object.fromEntries(HALO_BLOCKS.map((b) => [b, 'sha256:' + sha256Hex(jsonC14nV1(haloBlocks(fields).objects[b]))]));
    assert.deepEqual(computeHaloChain(fields), slow);
  }
  // the plain-strings path (packets parsed from bytes without a backslash) gives the same chain on every vector
  // packet, pretty-printed as a gateway writes it
  const sp = readLossless('signed-packets.json');
  for (const v of sp.packets as Array<{ packet: JsonObject }>) {
    const bytes = Buffer.from(prettyPacket(v.packet));
    const p = parseEliJson(bytes) as JsonObject;
    if (!hasNoEscapes(bytes)) continue;
    assert.deepEqual(computeHaloChain(p, true), computeHaloChain(p));
    assert.deepEqual(signedMessageBytes(p, true), signedMessageBytes(p));
  }
  assert.equal(hasNoEscapes(Buffer.from('{"a":"\\n"}')), false);
});

test('signedMessageBytes (concatenation fast path) equals json_c14n_v1 of the signed-message object', async () => {
  const { signedMessage } = await import('../src/profiles/eli/sign.ts');
  const sp = readLossless('signed-packets.json');
  const odd: JsonObject[] = [
    {},
    { halo_chain: 'not an object', policy_receipt_subset: [], transaction_id: 'tx_é\u2028"\\', client_key_fingerprint: { b: 1, a: [null] } },
    parseEliJson('{"halo_chain":{"final_hash":1.0},"policy_receipt_subset":{"policy_version_hash":"\\ud83d\\ude00"},"gateway_timestamp_utc":12345678901234567890}') as JsonObject,
  ];
  for (const p of [...sp.packets.map((v: any) => v.packet as JsonObject), ...odd]) {
    assert.deepEqual(Buffer.from(signedMessageBytes(p)).toString('utf8'), jsonC14nV1(signedMessage(p)));
  }
});

test('upstream sample packets: HALO verifies; each block tamper names the right block', () => {
  for (const f of ['upstream/sample_packet.json', 'upstream/signed_packet.json', 'upstream/gateway_transaction.json']) {
    const p = readLossless(f);
    assert.deepEqual(checkHaloChain(p, p.halo_chain).mismatches, [], f);
  }
  const p = readLossless('upstream/signed_packet.json') as JsonObject;
  const t = { ...p, user_ref: 'someone-else' };
  assert.deepEqual(checkHaloChain(t, p.halo_chain!).mismatches.map((m) => m.block), ['block_2', 'block_3', 'block_4', 'final_hash']);
  const t2 = { ...p, halo_chain: { ...(p.halo_chain as JsonObject), block_3: 'sha256:' + '0'.repeat(64) } };
  assert.deepEqual(checkHaloChain(t2, t2.halo_chain).mismatches.map((m) => m.block), ['block_3']);
  assert.equal(HALO_BLOCKS.length, 5);
});

test('upstream public_key.jwk: kid = sha256 of SPKI PEM; signed_packet.json and gateway_transaction.json verify', () => {
  const jwk = JSON.parse(readText('upstream/public_key.jwk'));
  const key = importPublicKey(jwk);
  assert.equal(eliKeyId(key), jwk.kid);
  assert.deepEqual(eliPublicJwk(key), { kty: 'RSA', use: 'sig', alg: 'RS256', kid: jwk.kid, n: jwk.n, e: jwk.e });
  for (const f of ['upstream/signed_packet.json', 'upstream/gateway_transaction.json']) {
    const p = readLossless(f);
    const sig = Buffer.from(p.verification.signature.signature_b64, 'base64');
    assert.ok(verifyPacketSignature(p, sig, key), f);
    assert.equal(p.verification.signature.key_id, jwk.kid);
  }
});

test('signed-packets.json: re-signing with the TEST key reproduces every packet byte-for-byte', () => {
  const d = readLossless('signed-packets.json');
  const priv = importPrivateKey(d.test_key.private_key_pem_pkcs8);
  assert.equal(eliKeyId(priv), d.test_key.public_jwk.kid);
  assert.deepEqual(eliPublicJwk(priv), { ...d.test_key.public_jwk });
  assert.equal(createPublicKey(priv).export({ type: 'spki', format: 'pem' }), d.test_key.public_key_pem);
  for (const v of d.packets) {
    const packet = v.packet as JsonObject;
    assert.equal(Buffer.from(signedMessageBytes(packet)).toString('utf8'), v.signed_message_c14n_utf8, v.id);
    const { verification: _v, ...unsigned } = packet;
    const resigned = signPacket(unsigned, priv);
    assert.equal(jsonC14nV1(resigned), jsonC14nV1(packet), v.id);
    assert.deepEqual(Object.keys(resigned), Object.keys(packet), v.id);
    // from the transaction fields alone (no chain): build + sign gives the same packet
    const { halo_chain: _h, ...fields } = unsigned;
    const built = buildPacket(fields, { privateKey: priv });
    assert.equal(jsonC14nV1(built), jsonC14nV1(packet), `${v.id} (buildPacket)`);
    assert.deepEqual(Object.keys(built), Object.keys(packet), v.id);
    assert.ok(isJsonObject(built.verification));
  }
  assert.equal(d.packets.length, 3);
});
