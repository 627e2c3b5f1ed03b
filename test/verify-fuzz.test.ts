/**
 * Mutation fuzzing of the one verifier (`verifyAny`, what `evident verify` and `POST /v1/verify` run): real
 * artifacts of every family — ELI and CDIL packets, H4MK containers, HashMatch files, a DSSE envelope and a signed
 * note signed here — mutated by bit flips, byte overwrites, truncation, duplication and JSON-token replacement
 * (non-finite and huge numbers, lone surrogates, deep nesting, `__proto__`…), verified in strict and compat mode with
 * the right keys pinned. Every run must return a report (never throw), with an exit code from the contract, that
 * serialises to JSON, within 2 s. Deterministic (xorshift PRNG, fixed seed), so a failure reproduces.
 *
 * This is how the 1e999-in-a-HashMatch-receipt throw was found; a longer run: FUZZ_RUNS=200000.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bytesInput, verifyAny } from '../src/verify/detect.ts';
import { parseEliJson, prettyPacket } from '../src/profiles/eli/c14n.ts';
import { generateKeyPair, publicKeyPem } from '../src/kernel/keys.ts';
import { signDsse } from '../src/kernel/dsse.ts';
import { noteSigner, signNote } from '../src/kernel/note.ts';
import { mutator, xorshift } from './fuzz-mutate.ts';

const V = path.resolve(import.meta.dirname, '../../shared/vectors');
const RUNS = Number(process.env.FUZZ_RUNS ?? 20000);
const EXIT_CODES = new Set([0, 1, 2, 3, 4, 10]);

function seeds(tmp: string): { seeds: Array<[string, Buffer]>; keys: string[] } {
  const out: Array<[string, Buffer]> = [];
  const add = (name: string, b: Buffer | string) => out.push([name, Buffer.from(b)]);
  const sp = parseEliJson(fs.readFileSync(path.join(V, 'eli/signed-packets.json'))) as { packets: Array<{ id: string; packet: unknown }>; test_key: { public_jwk: unknown } };
  for (const p of sp.packets) add(`eli:${p.id}`, prettyPacket(p.packet));
  add('eli:upstream', fs.readFileSync(path.join(V, 'eli/upstream/signed_packet.json')));
  add('cdil', fs.readFileSync(path.join(V, 'eli/cdil-variant/halo_sample_packet.json')));
  for (const f of fs.readdirSync(path.join(V, 'h4/generated'))) if (f.endsWith('.h4mk')) add(`h4:${f}`, fs.readFileSync(path.join(V, 'h4/generated', f)));
  const t42 = path.join(V, 'hashmatch/generated/tournament-42');
  for (const f of ['tournament_receipt.json', 'tournament_manifest.json', 'standings.json']) add(`hm:${f}`, fs.readFileSync(path.join(t42, f)));
  const { privateKey, publicKey } = generateKeyPair('ed25519');
  add('dsse', JSON.stringify(signDsse('application/vnd.in-toto+json', JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', subject: [{ name: 'a', digest: { sha256: 'a'.repeat(64) } }], predicateType: 'https://x/v1', predicate: { n: 1.5 } }), privateKey)));
  add('note', signNote('example.org/fuzz\n42\nhello\n', noteSigner('example.org/fuzz', privateKey)));
  const own = path.join(tmp, 'own.pem');
  fs.writeFileSync(own, publicKeyPem(publicKey));
  const eliJwk = path.join(tmp, 'eli.jwk');
  fs.writeFileSync(eliJwk, JSON.stringify(sp.test_key.public_jwk));
  return { seeds: out, keys: [own, eliJwk, path.join(V, 'eli/cdil-variant/dev_public.jwk.json'), path.join(V, 'hashmatch/generated/keys/organizer.pub')] };
}

const JUNK = ['null', '0', '-0', '1e999', '-1e999', '1.0', '""', '"\\ud800"', '[]', '{}', 'true', '"sha256:' + 'a'.repeat(64) + '"', '99999999999999999999999', '['.repeat(300) + ']'.repeat(300), '"' + 'x'.repeat(5000) + '"', '{"__proto__":{"x":1}}', '{"a":1,"a":2}'];

test(`verifyAny on ${RUNS} mutated artifacts × strict/compat: always a report with a contract exit code, never a throw or a hang`, { timeout: 600_000 }, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-fuzz-'));
  try {
    const { seeds: all, keys } = seeds(tmp);
    const rand = xorshift(0x9e3779b9);
    const mutate = mutator(rand, JUNK);
    const formats = new Map<string, number>();
    for (let run = 0; run < RUNS; run++) {
      const [name, seed] = all[rand(all.length)]!;
      let b = seed;
      for (let k = 1 + rand(3); k > 0; k--) b = mutate(b);
      for (const mode of ['strict', 'compat'] as const) {
        const t0 = performance.now();
        let r;
        try {
          r = (await verifyAny(bytesInput(b), { mode, keys })).toJSON();
        } catch (e) {
          assert.fail(`run ${run} (${name}, ${mode}) threw: ${(e as Error).stack}\ninput (base64): ${b.toString('base64').slice(0, 4000)}`);
        }
        assert.ok(EXIT_CODES.has(r.exitCode), `run ${run} (${name}, ${mode}): exit code ${r.exitCode}`);
        assert.equal(typeof r.valid, 'boolean');
        assert.equal(r.valid, r.exitCode === 0 ? r.valid : false, `run ${run}: valid with a failing exit code`);
        JSON.stringify(r);
        const ms = performance.now() - t0;
        assert.ok(ms < 2000, `run ${run} (${name}, ${mode}) took ${ms.toFixed(0)} ms`);
        formats.set(r.format, (formats.get(r.format) ?? 0) + 1);
      }
    }
    // the mutations must reach the real verifiers, not only the "cannot detect" exit
    for (const f of ['eli.packet', 'eli.cdil', 'h4mk', 'hashmatch.receipt', 'dsse', 'signed-note']) assert.ok((formats.get(f) ?? 0) > 20, `few runs reached ${f}: ${JSON.stringify([...formats])}`);
    process.stdout.write(`# ${RUNS * 2} verifications; by format: ${JSON.stringify(Object.fromEntries(formats))}\n`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
