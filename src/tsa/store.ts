/**
 * The service's TSA keys and certificate chains, beside the other service keys (`<data-dir>/keys/tsa/`):
 *
 *   tsa.json                     {"version":1,"authorities":[{"dir","status":"active"|"retired","valid_from","valid_to"?}]}
 *   <yyyymmddThhmmssZ>-<8 hex>/private.pem       TSA signing key (ECDSA P-256, PKCS#8, 0600)
 *   <yyyymmddThhmmssZ>-<8 hex>/root-private.pem  the TSA root's key (signed the leaf only; 0600)
 *   <yyyymmddThhmmssZ>-<8 hex>/chain.pem         leaf certificate, then the self-signed root
 *
 * Created on first start. `rotateTsa` adds a new chain and retires the previous one (valid_to = now), so the trusted
 * root keeps every chain with its window and older timestamps still verify.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { EvidentError } from '../kernel/errors.ts';
import { writeFileAtomic, writeFileExclusive } from '../store/atomic.ts';
import { loadPrivateKey, readKeyText, writePrivateKeyPem } from '../store/keyfiles.ts';
import { certificatePem, createTsaChain, parseCertificatePems, TimestampAuthority } from './tsa.ts';
import type { TrustedRootTsa } from '../receipts/trusted-root.ts';

const FILE = 'tsa.json';

interface TsaEntry {
  dir: string;
  status: 'active' | 'retired';
  valid_from: string;
  valid_to?: string;
}

export interface TsaStore {
  /** The active authority (signs). */
  active: TimestampAuthority;
  /** Every chain with its window, for the trusted root. */
  authorities: TrustedRootTsa[];
  /**
   * Re-read tsa.json when it changed (a rotation by another process, `evident tsa rotate`); checks its stat at
   * most every 500 ms. The service calls it before answering.
   */
  refresh(): void;
}

const REFRESH_MS = 500;
const stampOf = (st: fs.Stats) => `${st.ino}:${st.size}:${st.mtimeMs}`;

function liveStore(dir: string): TsaStore {
  const file = path.join(dir, FILE);
  let seen = stampOf(fs.statSync(file));
  let lastCheck = Date.now();
  const store: TsaStore = {
    ...load(dir, readEntries(dir)),
    refresh() {
      const now = Date.now();
      if (now - lastCheck < REFRESH_MS) return;
      lastCheck = now;
      const st = fs.statSync(file, { throwIfNoEntry: false });
      if (!st || stampOf(st) === seen) return;
      const next = load(dir, readEntries(dir));
      store.active = next.active;
      store.authorities = next.authorities;
      seen = stampOf(st);
    },
  };
  return store;
}

const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');

function readEntries(dir: string): TsaEntry[] {
  const file = path.join(dir, FILE);
  let j: { version?: unknown; authorities?: unknown };
  try {
    j = JSON.parse(readKeyText(file, 'TSA key list'));
  } catch (e) {
    if (e instanceof EvidentError) throw e;
    throw new EvidentError('KEY_INVALID', `${file}: not JSON`);
  }
  if (j?.version !== 1 || !Array.isArray(j.authorities) || j.authorities.length === 0) throw new EvidentError('KEY_INVALID', `${file}: expected {"version":1,"authorities":[…]}`);
  const out = j.authorities as TsaEntry[];
  for (const [i, e] of out.entries()) {
    if (typeof e?.dir !== 'string' || !/^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$/.test(e.dir) || (e.status !== 'active' && e.status !== 'retired') || typeof e.valid_from !== 'string') {
      throw new EvidentError('KEY_INVALID', `${file}: authorities[${i}] needs dir, status (active|retired), valid_from`);
    }
  }
  if (out.filter((e) => e.status === 'active').length !== 1) throw new EvidentError('KEY_INVALID', `${file}: exactly one active TSA key expected`);
  return out;
}

async function newChainDir(dir: string, now: Date): Promise<TsaEntry> {
  // a random suffix: instances sharing the data directory may create a key in the same second
  const name = `${stamp(now)}-${randomBytes(4).toString('hex')}`;
  const d = path.join(dir, name);
  fs.mkdirSync(d, { mode: 0o700 });
  const c = await createTsaChain({ now });
  writePrivateKeyPem(path.join(d, 'private.pem'), c.leafKey, { exclusive: true });
  writePrivateKeyPem(path.join(d, 'root-private.pem'), c.rootKey, { exclusive: true });
  writeFileAtomic(path.join(d, 'chain.pem'), certificatePem(c.leaf) + certificatePem(c.root), 0o644);
  return { dir: name, status: 'active', valid_from: new Date(Math.floor(now.getTime() / 1000) * 1000 - 60_000).toISOString() };
}

function load(dir: string, entries: TsaEntry[]): Pick<TsaStore, 'active' | 'authorities'> {
  const authorities: TrustedRootTsa[] = [];
  let active: TimestampAuthority | undefined;
  for (const e of entries) {
    const chain = parseCertificatePems(readKeyText(path.join(dir, e.dir, 'chain.pem'), 'TSA chain'));
    if (chain.length < 2) throw new EvidentError('KEY_INVALID', `${path.join(dir, e.dir, 'chain.pem')}: leaf and root certificates expected`);
    authorities.push({ chain, validFrom: e.valid_from, ...(e.valid_to ? { validTo: e.valid_to } : {}) });
    if (e.status === 'active') active = new TimestampAuthority(loadPrivateKey(path.join(dir, e.dir, 'private.pem')), chain);
  }
  return { active: active!, authorities };
}

/** Open (creating on first use) the TSA keys in `dir` (e.g. <data-dir>/keys/tsa). */
export async function openTsaStore(dir: string, now: Date = new Date()): Promise<TsaStore> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, FILE);
  if (!fs.existsSync(file)) {
    const e = await newChainDir(dir, now);
    try {
      writeFileExclusive(file, JSON.stringify({ version: 1, authorities: [e] }, null, 2) + '\n', 0o644);
    } catch (err) {
      // another instance sharing the data directory created it first: use theirs
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      fs.rmSync(path.join(dir, e.dir), { recursive: true, force: true });
    }
  }
  return liveStore(dir);
}

/** A new TSA key and chain; the previous one is retired with valid_to = now (kept in the trusted root). */
export async function rotateTsa(dir: string, now: Date = new Date()): Promise<TsaStore> {
  const entries = readEntries(dir);
  const e = await newChainDir(dir, now);
  for (const o of entries) {
    if (o.status === 'active') {
      o.status = 'retired';
      o.valid_to = now.toISOString();
    }
  }
  entries.push(e);
  writeFileAtomic(path.join(dir, FILE), JSON.stringify({ version: 1, authorities: entries }, null, 2) + '\n', 0o644);
  return liveStore(dir);
}
