/**
 * The service's signing key ring, under `<data-dir>/keys/service/`:
 *
 *   ring.json                      every key's public half and life cycle (no private material), written atomically
 *   private.pem, public.pem, …     the first key, where the service kept its single key before rotation existed
 *   <yyyymmddThhmmssZ>-<kid12>/    one directory per key created by a rotation: private.pem (PKCS#8, 0600),
 *                                  public.pem, public.jwk (directory 0700)
 *   ring.lock                      exclusive lock file (O_EXCL) while a process rewrites ring.json
 *
 * Status: exactly one `active` key signs; `retired` keys (replaced by a rotation) stay published for
 * verification; `revoked` keys are listed (with revoked_at) but left out of the JWKS and never sign again.
 * Revoking the active key rotates first, so a ring always has an active key. Private keys are read only for the
 * active key and never leave their 0600 files (never in the database, ring.json or logs).
 *
 * Processes sharing a data directory (several service instances, `evident keys rotate`) see each other's changes:
 * `refresh()` re-reads ring.json when its stat changes (the service checks at most every 500 ms).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { KeyObject } from 'node:crypto';
import { EvidentError } from '../kernel/errors.ts';
import { algOfKey, generateKeyPair, importPublicKey, isSigAlg, JOSE_ALG, keyId, publicKeyJwk, publicKeyPem, samePublicKey, toPublicKey, type SigAlg } from '../kernel/keys.ts';
import { writeFileAtomic } from '../store/atomic.ts';
import { KEY_DIR_FILES, loadPrivateKey, readKeyText, writePrivateKeyPem } from '../store/keyfiles.ts';

export type KeyStatus = 'active' | 'retired' | 'revoked';

/** A service signing key as the routes see it (newest, active, first in ServerOptions.keys). */
export interface ServiceKey {
  kid: string;
  /** The private key for the active key (it signs), the public key otherwise. */
  key: KeyObject;
  status: KeyStatus;
  createdAt: string;
  retiredAt?: string;
  revokedAt?: string;
  revocationReason?: string;
}

export function serviceKey(key: KeyObject, createdAt: string, status: KeyStatus = 'active'): ServiceKey {
  return { kid: keyId(key, 'jwk'), key, status, createdAt };
}

export interface RingEntry {
  kid: string;
  alg: SigAlg;
  status: KeyStatus;
  created_at: string;
  retired_at?: string;
  revoked_at?: string;
  revocation_reason?: string;
  /** Private key file, relative to the ring directory. */
  private_key: string;
  public_key_pem: string;
}

export const RING_FILE = 'ring.json';
const LOCK_FILE = 'ring.lock';
const STALE_LOCK_MS = 30_000;
const LOCK_WAIT_MS = 10_000;
const REFRESH_MS = 500;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const stampOf = (st: fs.Stats) => `${st.ino}:${st.size}:${st.mtimeMs}`;

function invalid(file: string, why: string): EvidentError {
  return new EvidentError('KEY_INVALID', `key ring ${file}: ${why}`);
}

function parseRing(file: string, text: string): RingEntry[] {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw invalid(file, `not JSON (${(e as Error).message})`);
  }
  const o = j as { version?: unknown; keys?: unknown };
  if (!o || typeof o !== 'object' || o.version !== 1 || !Array.isArray(o.keys)) throw invalid(file, 'expected {"version":1,"keys":[…]}');
  const seen = new Set<string>();
  let active = 0;
  const out = (o.keys as unknown[]).map((k, i) => {
    const e = k as Partial<RingEntry>;
    const str = (v: unknown) => typeof v === 'string' && v.length > 0;
    if (!e || typeof e !== 'object' || !str(e.kid) || !isSigAlg(e.alg) || !['active', 'retired', 'revoked'].includes(e.status as string) || !str(e.created_at) || !str(e.private_key) || !str(e.public_key_pem)) {
      throw invalid(file, `keys[${i}] needs kid, alg, status (active|retired|revoked), created_at, private_key, public_key_pem`);
    }
    if (path.isAbsolute(e.private_key!) || e.private_key!.split(/[\\/]/).includes('..')) throw invalid(file, `keys[${i}].private_key must be a path inside the ring directory`);
    if (seen.has(e.kid!)) throw invalid(file, `duplicate kid ${e.kid}`);
    seen.add(e.kid!);
    if (e.status === 'active') active++;
    return e as RingEntry;
  });
  if (active > 1) throw invalid(file, `${active} active keys (at most one signs)`);
  return out;
}

export class KeyRing {
  /** The server's live key list (ServerOptions.keys): the active key first, then the others newest first. Updated in place. */
  readonly keys: ServiceKey[] = [];
  private entries: RingEntry[] = [];
  private stamp = '';
  private lastCheck = 0;

  private constructor(readonly dir: string) {}

  private get file(): string {
    return path.join(this.dir, RING_FILE);
  }

  /** Open the ring in `dir`, creating it (and a first Ed25519 key, or adopting an existing private.pem) if missing. */
  static async open(dir: string): Promise<KeyRing> {
    const ring = new KeyRing(dir);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!fs.existsSync(ring.file)) {
      await ring.locked(async () => {
        if (fs.existsSync(ring.file)) return;
        const legacy = path.join(dir, KEY_DIR_FILES.private);
        let created: string;
        let priv: KeyObject;
        if (fs.existsSync(legacy)) {
          priv = loadPrivateKey(legacy);
          created = fs.statSync(legacy).mtime.toISOString();
        } else {
          priv = generateKeyPair('ed25519').privateKey;
          created = new Date().toISOString();
          ring.writeKeyFiles(dir, priv);
        }
        const pub = toPublicKey(priv);
        ring.save([{ kid: keyId(pub, 'jwk'), alg: algOfKey(pub), status: 'active', created_at: created, private_key: KEY_DIR_FILES.private, public_key_pem: publicKeyPem(pub) }]);
      });
    }
    ring.load();
    return ring;
  }

  /** Ring entries as stored (public data only). */
  list(): RingEntry[] {
    return this.entries.map((e) => ({ ...e }));
  }

  active(): ServiceKey | undefined {
    return this.keys.find((k) => k.status === 'active');
  }

  /** Re-read ring.json if another process changed it (at most every 500 ms unless forced). True when reloaded. */
  refresh(force = false): boolean {
    const now = Date.now();
    if (!force && now - this.lastCheck < REFRESH_MS) return false;
    this.lastCheck = now;
    const st = fs.statSync(this.file, { throwIfNoEntry: false });
    if (!st || stampOf(st) === this.stamp) return false;
    this.load();
    return true;
  }

  /** A new key (default Ed25519) becomes active; the previous active key is retired (still published). */
  async rotate(alg: SigAlg = 'ed25519'): Promise<{ active: RingEntry; retired: RingEntry[] }> {
    return this.locked(async () => {
      this.load();
      const now = new Date().toISOString();
      const retired = this.entries.filter((e) => e.status === 'active');
      const entries = this.entries.map((e) => (e.status === 'active' ? { ...e, status: 'retired' as const, retired_at: now } : e));
      const next = this.newKey(alg, now);
      this.save([next, ...entries]);
      this.load();
      return { active: next, retired: retired.map((e) => this.entries.find((x) => x.kid === e.kid)!) };
    });
  }

  /**
   * Mark a key revoked (JWKS drops it; /v1/keys lists it with revoked_at). Revoking the active key first rotates
   * to a new one. Revoking a revoked key changes nothing (`already: true`).
   */
  async revoke(kid: string, reason?: string): Promise<{ revoked: RingEntry; active: RingEntry; rotated: boolean; already: boolean }> {
    return this.locked(async () => {
      this.load();
      const target = this.entries.find((e) => e.kid === kid);
      if (!target) throw new EvidentError('KEY_NOT_FOUND', `no key ${JSON.stringify(kid)} in the key ring`);
      if (target.status === 'revoked') return { revoked: { ...target }, active: { ...this.entries.find((e) => e.status === 'active')! }, rotated: false, already: true };
      const now = new Date().toISOString();
      const rotated = target.status === 'active';
      let entries = this.entries.map((e) =>
        e.kid === kid ? { ...e, status: 'revoked' as const, revoked_at: now, ...(rotated ? { retired_at: now } : {}), ...(reason ? { revocation_reason: reason } : {}) } : e,
      );
      if (rotated) entries = [this.newKey(target.alg, now), ...entries];
      this.save(entries);
      this.load();
      return { revoked: { ...this.entries.find((e) => e.kid === kid)! }, active: { ...this.entries.find((e) => e.status === 'active')! }, rotated, already: false };
    });
  }

  // ---- files

  private newKey(alg: SigAlg, now: string): RingEntry {
    const { privateKey, publicKey } = generateKeyPair(alg);
    const kid = keyId(publicKey, 'jwk');
    const sub = `${now.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${kid.slice('sha256:'.length, 'sha256:'.length + 12)}`;
    this.writeKeyFiles(path.join(this.dir, sub), privateKey);
    return { kid, alg, status: 'active', created_at: now, private_key: `${sub}/${KEY_DIR_FILES.private}`, public_key_pem: publicKeyPem(publicKey) };
  }

  private writeKeyFiles(dir: string, priv: KeyObject): void {
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new EvidentError('IO_ERROR', `cannot create key directory ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
    }
    writePrivateKeyPem(path.join(dir, KEY_DIR_FILES.private), priv);
    const pub = toPublicKey(priv);
    try {
      writeFileAtomic(path.join(dir, KEY_DIR_FILES.public), publicKeyPem(pub), 0o644);
      writeFileAtomic(path.join(dir, KEY_DIR_FILES.jwk), JSON.stringify(publicKeyJwk(pub, { kid: keyId(pub, 'jwk'), alg: JOSE_ALG[algOfKey(pub)], use: 'sig' }), null, 2) + '\n', 0o644);
    } catch (e) {
      throw new EvidentError('IO_ERROR', `cannot write public key files in ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
    }
  }

  private save(entries: RingEntry[]): void {
    try {
      writeFileAtomic(this.file, JSON.stringify({ version: 1, keys: entries }, null, 2) + '\n', 0o644);
    } catch (e) {
      throw new EvidentError('IO_ERROR', `cannot write key ring ${this.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
    }
  }

  /** Read ring.json and rebuild the live key list (private half for the active key only). */
  private load(): void {
    const st = fs.statSync(this.file, { throwIfNoEntry: false });
    const entries = parseRing(this.file, readKeyText(this.file, 'key ring'));
    const keys: ServiceKey[] = entries.map((e) => {
      const pub = importPublicKey(e.public_key_pem);
      if (keyId(pub, 'jwk') !== e.kid) throw invalid(this.file, `kid ${e.kid} does not match its public key`);
      let key = pub;
      if (e.status === 'active') {
        key = loadPrivateKey(path.join(this.dir, e.private_key));
        if (!samePublicKey(toPublicKey(key), pub)) throw invalid(this.file, `private key ${e.private_key} does not match kid ${e.kid}`);
      }
      return { kid: e.kid, key, status: e.status, createdAt: e.created_at, retiredAt: e.retired_at, revokedAt: e.revoked_at, revocationReason: e.revocation_reason };
    });
    const rank = (k: ServiceKey) => (k.status === 'active' ? 0 : 1);
    keys.sort((a, b) => rank(a) - rank(b) || (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
    this.entries = entries;
    this.keys.splice(0, this.keys.length, ...keys);
    if (st) this.stamp = stampOf(st);
  }

  /** Run f holding ring.lock (created O_EXCL; a lock older than 30 s is considered abandoned). */
  private async locked<T>(f: () => Promise<T>): Promise<T> {
    const lock = path.join(this.dir, LOCK_FILE);
    const end = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        const fd = fs.openSync(lock, 'wx', 0o600);
        fs.writeSync(fd, `${process.pid} ${new Date().toISOString()}\n`);
        fs.closeSync(fd);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new EvidentError('IO_ERROR', `cannot lock key ring ${lock}: ${(e as NodeJS.ErrnoException).code}`, { cause: e });
        const st = fs.statSync(lock, { throwIfNoEntry: false });
        if (st && Date.now() - st.mtimeMs > STALE_LOCK_MS) {
          fs.rmSync(lock, { force: true });
          continue;
        }
        if (Date.now() > end) throw new EvidentError('IO_ERROR', `key ring ${this.dir} is locked by another process (${lock})`);
        await sleep(20);
      }
    }
    try {
      return await f();
    } finally {
      fs.rmSync(lock, { force: true });
    }
  }
}
