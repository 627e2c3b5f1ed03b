/** HashMatch seeds and ids (spec §A.4) plus Evident's commit-reveal seed protocol (docs/hashmatch.md). */
import { createHash, createHmac, randomBytes } from '../../kernel/crypto/index.ts';
import { EvidentError } from '../../kernel/errors.ts';
import { timingSafeEqualString } from '../../kernel/digest.ts';

/** 32-bit FNV-1a over UTF-16 code units (charCodeAt), as upstream. */
export function fnv1a32Utf16(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** 32-bit FNV-1a over UTF-8 bytes (for contrast only). */
export function fnv1a32Utf8(s: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s, 'utf8')) {
    h ^= b;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Match seed = FNV-1a(`${tournamentSeed}:${matchKey}`) with JS String(number) rendering. */
export function deriveMatchSeed(tournamentSeed: number, matchKey: string): number {
  return fnv1a32Utf16(`${String(tournamentSeed)}:${matchKey}`);
}

/** mulberry32 PRNG, returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** matchId = "m_" + 12 chars of a-z0-9 drawn with mulberry32(seed). */
export function matchIdFromRng(rng: () => number): string {
  let s = 'm_';
  for (let i = 0; i < 12; i++) s += ALPHABET[Math.floor(rng() * 36)];
  return s;
}

export function matchIdFromSeed(seed: number): string {
  return matchIdFromRng(mulberry32(seed));
}

/** deriveSeed as runMatch uses it: signed int32 of rng()*2^32. */
export function deriveSeed(rng: () => number): number {
  return (rng() * 4294967296) | 0;
}

// ------------------------------------------------------------------ commit-reveal (Evident; see docs/hashmatch.md)

export const COMMIT_DOMAIN = 'evident/hashmatch/seed-commit/v1';
export const DERIVE_DOMAIN = 'evident/hashmatch/seed-derive/v1';

/** Length-prefixed concatenation: each field = u32 big-endian byte length || bytes. */
export function lp(...fields: Uint8Array[]): Uint8Array {
  const parts: Buffer[] = [];
  for (const f of fields) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(f.length);
    parts.push(len, Buffer.from(f));
  }
  return new Uint8Array(Buffer.concat(parts));
}

const u8 = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));

export function parseServerSeed(hex: string): Uint8Array {
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new EvidentError('INPUT_INVALID', 'serverSeed must be 64 lowercase hex characters (32 bytes)');
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

export function newServerSeed(): string {
  return randomBytes(32).toString('hex');
}

/** seedCommitment = "sha256:" hex( SHA-256( LP(domain, serverSeed bytes, tournamentSeed decimal) ) ). */
export function seedCommitment(serverSeedHex: string, tournamentSeed: string): string {
  const seed = parseServerSeed(serverSeedHex);
  return 'sha256:' + createHash('sha256').update(lp(u8(COMMIT_DOMAIN), seed, u8(tournamentSeed))).digest('hex');
}

/**
 * Derived match seed (uint32) = first 4 bytes big-endian of
 * HMAC-SHA256(key = serverSeed bytes, msg = LP(domain, tournamentSeed, matchKey, externalEntropy or empty)).
 */
export function revealedMatchSeed(serverSeedHex: string, tournamentSeed: string, matchKey: string, externalEntropy?: string): number {
  const key = parseServerSeed(serverSeedHex);
  const mac = createHmac('sha256', key)
    .update(lp(u8(DERIVE_DOMAIN), u8(tournamentSeed), u8(matchKey), u8(externalEntropy ?? '')))
    .digest();
  return mac.readUInt32BE(0);
}

export interface SeedReveal {
  version: 1;
  scheme: 'evident-hmac-sha256-v1';
  tournamentSeed: string;
  serverSeed: string;
  commitment: string;
  externalEntropy?: string;
}

/** Checks a reveal: commitment recomputes, and (when given) the commitment equals the published one. */
export function checkReveal(reveal: SeedReveal, published?: string): { ok: boolean; reason?: string } {
  let c: string;
  try {
    c = seedCommitment(reveal.serverSeed, reveal.tournamentSeed);
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
  if (!timingSafeEqualString(c, reveal.commitment)) return { ok: false, reason: 'serverSeed does not match the commitment in seed_reveal.json' };
  if (published !== undefined && !timingSafeEqualString(c, published)) return { ok: false, reason: 'serverSeed does not match the published seedCommitment' };
  return { ok: true };
}
