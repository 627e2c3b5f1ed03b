/**
 * bench/cphar: challenge → attestation → verified round trips per second through the library, one process
 * (one core). A round trip = makeChallenge (CSPRNG nonce) + seal signs (SoftwareSeal.respond: parse, JCS, hash,
 * Ed25519 sign) + verifier (registry lookup, JCS, hash, Ed25519 verify, freshness, atomic nonce consumption).
 * Baseline measured in the same run: bare Ed25519 sign + verify of the same 200-byte message (the crypto floor);
 * the ratio shows how close the protocol gets to it. Target: >= 5,000 round trips/s with the in-memory store.
 *
 *   node --import tsx bench/cphar.ts [--seconds N]   (default 2 s per measurement, ~10 s total)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateKeyPair } from '../src/kernel/keys.ts';
import { sign, verify } from '../src/kernel/sign.ts';
import { makeChallenge, attestationSignedBytes, signAttestation } from '../src/profiles/cphar/messages.ts';
import { SoftwareSeal } from '../src/profiles/cphar/device.ts';
import { MemoryNonceStore, DbNonceStore, type NonceStore } from '../src/profiles/cphar/nonces.ts';
import { verifyAttestation } from '../src/profiles/cphar/verify.ts';
import { Registry, type SealResolver } from '../src/profiles/cphar/registry.ts';
import { openDb } from '../src/store/db.ts';

const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1]) || 2;
const FW = 'sha256:' + '11'.repeat(32);
const { privateKey, publicKey } = generateKeyPair('ed25519');
const SEAL = 'seal_01HZX3K9Q7M2V4N6P8R0T2A4C6';

async function rate(fn: () => Promise<unknown> | unknown): Promise<number> {
  for (let i = 0; i < 500; i++) await fn();
  let n = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  let t = start;
  while (t < end) {
    for (let i = 0; i < 200; i++) await fn();
    n += 200;
    t = performance.now();
  }
  return n / ((t - start) / 1000);
}

const memSeals: SealResolver = {
  lookup: (id) => (id === SEAL ? { seal_id: SEAL, alg: 'Ed25519', publicKey, status: 'Sealed', firmware_measurements: [FW] } : undefined),
};
const dev = new SoftwareSeal(privateKey, FW, SEAL);

async function roundTrip(seals: SealResolver, nonces: NonceStore): Promise<void> {
  const c = makeChallenge(SEAL);
  const a = dev.respond(c);
  const r = await verifyAttestation(c, a, { seals, nonces });
  if (!r.ok) throw new Error(`round trip failed: ${r.reason}`);
}

// baseline: bare Ed25519 sign + verify of a message the size of the signed attestation bytes
const msg = attestationSignedBytes(signAttestation(makeChallenge(SEAL), privateKey, FW));
const base = await rate(() => {
  const s = sign(privateKey, msg);
  if (!verify(publicKey, msg, s)) throw new Error('baseline verify failed');
});
const mem = await rate(() => roundTrip(memSeals, new MemoryNonceStore()));
const memShared = new MemoryNonceStore();
const memOne = await rate(() => roundTrip(memSeals, memShared));

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-bench-cphar-'));
const h = await openDb(`sqlite:${path.join(dir, 'b.db')}`);
const reg = await Registry.open(h);
await reg.register({ sealId: SEAL, publicKey, firmware: [FW] });
await reg.transition(SEAL, 'Inspected');
await reg.transition(SEAL, 'Sealed');
const dbNonces = await DbNonceStore.open(h);
const sqliteMemReg = await rate(() => roundTrip(memSeals, dbNonces));
const sqliteAll = await rate(() => roundTrip(reg, dbNonces));
await h.close();
fs.rmSync(dir, { recursive: true, force: true });

const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
const line = (name: string, x: number) => process.stdout.write(`${name.padEnd(58)} ${fmt(x).padStart(9)}/s   ratio vs baseline ${(x / base).toFixed(2)}\n`);
process.stdout.write(`cphar round trips (${seconds}s each, node ${process.version}, ${os.cpus()[0]?.model ?? '?'})\n`);
line('baseline: bare Ed25519 sign+verify', base);
line('round trip, in-memory seal + in-memory nonce store', mem);
line('round trip, in-memory seal + one growing memory store', memOne);
line('round trip, in-memory seal + SQLite nonce store', sqliteMemReg);
line('round trip, SQLite registry + SQLite nonce store', sqliteAll);
process.stdout.write(`target >= 5,000/s (in-memory store): ${mem >= 5000 ? 'MET' : 'NOT MET'}\n`);
