/**
 * ELI-Sentinel verification throughput: full packet verifications/s (parse lossless → json_c14n_v1 → 5 HALO
 * blocks → RS256) against bare node:crypto RS256 verifications/s of the same signature, measured in the same run.
 * Target: full ≥ 0.5× bare. The public KeyObject is parsed once.
 *
 *   node --import tsx bench/eli.ts [--seconds N]   (default 3 s per measurement; ~12 s total)
 */
import fs from 'node:fs';
import path from 'node:path';
import { verify as nodeVerify, createPublicKey, constants } from 'node:crypto';
import { parseEliJson, prettyPacket } from '../src/profiles/eli/c14n.ts';
import { signedMessageBytes } from '../src/profiles/eli/sign.ts';
import { verifyEliBytes } from '../src/profiles/eli/verify.ts';
import type { JsonObject } from '../src/kernel/json/index.ts';

const argSeconds = process.argv.indexOf('--seconds');
const SECONDS = argSeconds > 0 ? Number(process.argv[argSeconds + 1]) : 3;
const repoRoot = path.resolve(import.meta.dirname, '..');
const V = path.resolve(repoRoot, '../shared/vectors/eli');

const sp = parseEliJson(fs.readFileSync(path.join(V, 'signed-packets.json'))) as any;
const key = createPublicKey({ key: sp.test_key.public_jwk, format: 'jwk' });

async function measure(name: string, fn: () => Promise<boolean> | boolean): Promise<number> {
  for (let i = 0; i < 200; i++) if (!(await fn())) throw new Error(`${name}: verification failed`);
  const end = performance.now() + SECONDS * 1000;
  let n = 0;
  const t0 = performance.now();
  while (performance.now() < end) {
    for (let i = 0; i < 50; i++) if (!(await fn())) throw new Error(`${name}: verification failed`);
    n += 50;
  }
  const rate = n / ((performance.now() - t0) / 1000);
  console.log(`${name.padEnd(52)} ${rate.toFixed(0).padStart(8)} /s`);
  return rate;
}

// "approved": a typical gateway packet (ASCII, a few floats); "unicode-floats-bigint": the worst case of the
// vectors (non-ASCII text, exponent floats, an integer beyond 2^53 — every slow path of parse and c14n)
for (const id of ['approved', 'unicode-floats-bigint']) {
  const packet = sp.packets.find((p: any) => p.id === id).packet as JsonObject;
  const bytes = Buffer.from(prettyPacket(packet));
  const msg = Buffer.from(signedMessageBytes(packet));
  const sig = Buffer.from((packet.verification as any).signature.signature_b64, 'base64');
  console.log(`packet "${id}": ${bytes.length} bytes, RSA-${key.asymmetricKeyDetails?.modulusLength}`);
  const bare = await measure('  bare node:crypto RS256 verify', () => nodeVerify('sha256', msg, { key, padding: constants.RSA_PKCS1_PADDING }, sig));
  const strict = await measure('  eli full packet verify (strict)', async () => (await verifyEliBytes(bytes, { mode: 'strict', publicKeys: [key] })).report.valid);
  const compat = await measure('  eli full packet verify (compat)', async () => (await verifyEliBytes(bytes, { mode: 'compat', publicKeys: [key] })).report.valid);
  console.log(`  ratio strict/bare: ${(strict / bare).toFixed(2)}x   compat/bare: ${(compat / bare).toFixed(2)}x   (target >= 0.50x)`);
}
