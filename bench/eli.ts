/**
 * ELI-Sentinel verification throughput: full packet verifications/s (parse lossless → json_c14n_v1 → 5 HALO
 * blocks → RS256) against bare node:crypto RS256 verifications/s of the same signature, measured in the same run.
 * Target: full ≥ 0.5× bare. The public KeyObject is parsed once. Both sides are synchronous calls (the offline
 * entry point verifyEliBytesSync; verifyEliBytes is the same plus a promise and a --keys-url fetch when asked).
 *
 * The machine's speed drifts by up to ±15% over seconds, so the three measurements of a packet are interleaved in
 * slices of ~20 ms (bare, strict, compat, bare, …) for --seconds in total and each rate is its operations over its
 * own summed time: drift then affects the baseline and ours alike.
 *
 * A fourth line, "reference floor", is not a verification: native JSON.parse (lossy: a `1.0` becomes 1, duplicate
 * keys pass) + the five SHA-256 of the precomputed block texts + the same RS256 call. It is the rate a verifier
 * could not beat in JS on this machine, so it says how much of the target the machine leaves room for.
 *
 *   node --import tsx bench/eli.ts [--seconds N]   (default 6 s per packet; ~15 s in all)
 */
import fs from 'node:fs';
import path from 'node:path';
import { verify as nodeVerify, createPublicKey, constants, hash } from 'node:crypto';
import { parseEliJson, prettyPacket } from '../src/profiles/eli/c14n.ts';
import { signedMessageBytes } from '../src/profiles/eli/sign.ts';
import { haloPreimages } from '../src/profiles/eli/halo.ts';
import { verifyEliBytesSync } from '../src/profiles/eli/verify.ts';
import type { JsonObject } from '../src/kernel/json/index.ts';

const argSeconds = process.argv.indexOf('--seconds');
const SECONDS = argSeconds > 0 ? Number(process.argv[argSeconds + 1]) : 6;
const repoRoot = path.resolve(import.meta.dirname, '..');
const V = path.resolve(repoRoot, '../shared/vectors/eli');

const sp = parseEliJson(fs.readFileSync(path.join(V, 'signed-packets.json'))) as any;
const key = createPublicKey({ key: sp.test_key.public_jwk, format: 'jwk' });

type Case = [name: string, fn: () => boolean];

/** Run the cases in interleaved ~20 ms slices for SECONDS in all; returns each case's operations per second. */
function measureInterleaved(cases: Case[]): number[] {
  const ops = cases.map(() => 0);
  const ms = cases.map(() => 0);
  const batch = cases.map(() => 50);
  for (const [name, fn] of cases) for (let i = 0; i < 500; i++) if (!fn()) throw new Error(`${name}: verification failed`);
  const end = performance.now() + SECONDS * 1000;
  while (performance.now() < end) {
    for (let k = 0; k < cases.length; k++) {
      const [name, fn] = cases[k]!;
      const n = batch[k]!;
      const t0 = performance.now();
      for (let i = 0; i < n; i++) if (!fn()) throw new Error(`${name}: verification failed`);
      const dt = performance.now() - t0;
      ops[k]! += n;
      ms[k]! += dt;
      batch[k] = Math.max(10, Math.round((n * 20) / Math.max(dt, 0.1)));
    }
  }
  return ops.map((o, k) => o / (ms[k]! / 1000));
}

// "approved": a typical gateway packet (ASCII, a few floats); "unicode-floats-bigint": the worst case of the
// vectors (non-ASCII text, exponent floats, an integer beyond 2^53 — every slow path of parse and c14n)
for (const id of ['approved', 'unicode-floats-bigint']) {
  const packet = sp.packets.find((p: any) => p.id === id).packet as JsonObject;
  const bytes = Buffer.from(prettyPacket(packet));
  const msg = Buffer.from(signedMessageBytes(packet));
  const sig = Buffer.from((packet.verification as any).signature.signature_b64, 'base64');
  const blockTexts = Object.values(haloPreimages(packet));
  const text = bytes.toString('utf8');
  console.log(`packet "${id}": ${bytes.length} bytes, RSA-${key.asymmetricKeyDetails?.modulusLength}, interleaved for ${SECONDS} s`);
  const cases: Case[] = [
    ['bare node:crypto RS256 verify', () => nodeVerify('sha256', msg, { key, padding: constants.RSA_PKCS1_PADDING }, sig)],
    ['eli full packet verify (strict)', () => verifyEliBytesSync(bytes, { mode: 'strict', publicKeys: [key] }).report.valid],
    ['eli full packet verify (compat)', () => verifyEliBytesSync(bytes, { mode: 'compat', publicKeys: [key] }).report.valid],
    ['reference floor (not a verification, see above)', () => {
      const v = JSON.parse(text);
      let n = 0;
      for (const t of blockTexts) n += hash('sha256', t).length;
      return nodeVerify('sha256', msg, { key, padding: constants.RSA_PKCS1_PADDING }, sig) && v !== null && n === 320;
    }],
  ];
  const rates = measureInterleaved(cases);
  cases.forEach(([name], k) => console.log(`  ${name.padEnd(50)} ${rates[k]!.toFixed(0).padStart(8)} /s`));
  const [bare, strict, compat, floor] = rates as [number, number, number, number];
  console.log(`  ratio strict/bare: ${(strict / bare).toFixed(2)}x   compat/bare: ${(compat / bare).toFixed(2)}x   (target >= 0.50x)   floor/bare: ${(floor / bare).toFixed(2)}x`);
}
