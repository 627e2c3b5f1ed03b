/**
 * CPHAR seal registry on the kernel DB handle (SQLite or PostgreSQL; same statements on both).
 *
 * Tables (prefix default `cphar_`): `seals` (current state), `events` (append-only; every change is one event whose
 * canonical JCS bytes are also passed to `appendToLog`), `snapshots` (content-addressed: id = sha256 of the JCS body).
 * Lifecycle: Manufactured → Registered → Inspected → Sealed ⇄ Attested → Broken | Retired; any non-terminal state
 * → Revoked. Active (may attest) = Sealed | Attested. A lot can be bound to at most one non-terminal seal
 * (partial unique index), so two active seals on one lot are rejected atomically.
 */
import type { JsonWebKey, KeyObject } from 'node:crypto';
import type { DbHandle } from '../../store/db.ts';
import { canonicalizeJcs } from '../../kernel/json/index.ts';
import { sha256Digest } from '../../kernel/digest.ts';
import { utf8 } from '../../kernel/encoding.ts';
import { importPublicKey, publicKeyJwk } from '../../kernel/keys.ts';
import { EvidentError } from '../../kernel/errors.ts';
import { checkPrefix, isUniqueViolation, sqlFor, type Sql } from '../../store/sql.ts';
import { formatTime, isMeasurement, isSealId, sealAlgOfKey, type SealAlg } from './messages.ts';

export const SEAL_STATES = ['Manufactured', 'Registered', 'Inspected', 'Sealed', 'Attested', 'Broken', 'Retired', 'Revoked'] as const;
export type SealState = (typeof SEAL_STATES)[number];
export const ACTIVE_STATES: readonly SealState[] = ['Sealed', 'Attested'];
export const TERMINAL_STATES: readonly SealState[] = ['Broken', 'Retired', 'Revoked'];

const TRANSITIONS: Record<SealState, readonly SealState[]> = {
  Manufactured: ['Registered', 'Revoked'],
  Registered: ['Inspected', 'Retired', 'Revoked'],
  Inspected: ['Sealed', 'Retired', 'Revoked'],
  Sealed: ['Attested', 'Broken', 'Retired', 'Revoked'],
  Attested: ['Sealed', 'Broken', 'Retired', 'Revoked'],
  Broken: [],
  Retired: [],
  Revoked: [],
};

export function canTransition(from: SealState, to: SealState): boolean {
  return TRANSITIONS[from].includes(to);
}

export function parseState(s: string): SealState {
  const m = SEAL_STATES.find((x) => x.toLowerCase() === s.toLowerCase());
  if (!m) throw new EvidentError('INPUT_INVALID', `unknown seal state ${JSON.stringify(s)} (one of ${SEAL_STATES.join(', ')})`);
  return m;
}

export interface SealRecord {
  seal_id: string;
  alg: SealAlg;
  public_jwk: JsonWebKey;
  firmware_measurements: string[];
  lot: string | null;
  state: SealState;
  created_at: string;
  updated_at: string;
}

export interface RegistryEvent {
  type: 'cphar.registry.event';
  version: '0.1';
  seq: number;
  seal_id: string;
  event: string;
  from: SealState | null;
  to: SealState;
  at: string;
  data: Record<string, unknown>;
}

export interface RegistryOptions {
  prefix?: string;
  /** Called with the canonical bytes of every registry event (and snapshot) — wire to the transparency log. */
  appendToLog?: (entry: Uint8Array) => Promise<unknown>;
  /** Clock (ms), for tests. */
  now?: () => number;
}

/** Seal lookup as the verifier needs it. */
export interface SealLookup {
  seal_id: string;
  alg: SealAlg;
  publicKey: KeyObject;
  status: SealState | 'active' | 'revoked' | 'broken' | 'retired';
  firmware_measurements: string[];
}

export interface SealResolver {
  lookup(sealId: string): Promise<SealLookup | undefined> | SealLookup | undefined;
}

/** Advisory lock key for event appends on PostgreSQL ('cphe'). */
const EVENT_LOCK = 0x63706865;
const LOT_RE = /^[A-Za-z0-9_.:/-]{1,200}$/;

export class Registry implements SealResolver {
  private keyCache = new Map<string, KeyObject>();
  private constructor(
    private q: Sql,
    private p: string,
    private opts: RegistryOptions,
  ) {}

  static async open(h: DbHandle, opts: RegistryOptions = {}): Promise<Registry> {
    const p = checkPrefix(opts.prefix ?? 'cphar_');
    const q = sqlFor(h);
    await q.ddl([
      `CREATE TABLE IF NOT EXISTS ${p}seals (seal_id TEXT PRIMARY KEY, alg TEXT NOT NULL, public_jwk TEXT NOT NULL, ` +
        `firmware TEXT NOT NULL, lot TEXT, lot_active INTEGER NOT NULL, state TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)`,
      `CREATE UNIQUE INDEX IF NOT EXISTS ${p}seals_lot_active ON ${p}seals (lot) WHERE lot_active = 1`,
      `CREATE TABLE IF NOT EXISTS ${p}events (seq BIGINT PRIMARY KEY, seal_id TEXT NOT NULL, body TEXT NOT NULL, digest TEXT NOT NULL)`,
      `CREATE TABLE IF NOT EXISTS ${p}snapshots (digest TEXT PRIMARY KEY, body TEXT NOT NULL, created_at TEXT NOT NULL)`,
    ]);
    return new Registry(q, p, opts);
  }

  private nowIso(): string {
    return formatTime(this.opts.now ? this.opts.now() : Date.now());
  }

  private async appendEvent(q: Sql, sealId: string, event: string, from: SealState | null, to: SealState, at: string, data: Record<string, unknown>): Promise<RegistryEvent> {
    // PostgreSQL (READ COMMITTED): serialise appenders so two processes never compute the same next seq
    if (q.kind === 'postgres') await q.exec(`SELECT pg_advisory_xact_lock(${EVENT_LOCK})`);
    const rows = await q.all<{ m: unknown }>(`SELECT MAX(seq) AS m FROM ${this.p}events`);
    const seq = rows[0]?.m === null || rows[0]?.m === undefined ? 1 : Number(rows[0].m) + 1;
    const ev: RegistryEvent = { type: 'cphar.registry.event', version: '0.1', seq, seal_id: sealId, event, from, to, at, data };
    const body = canonicalizeJcs(ev);
    // seq is the primary key: even without the lock two writers could never both append the same seq
    await q.run(`INSERT INTO ${this.p}events (seq, seal_id, body, digest) VALUES (?, ?, ?, ?)`, [seq, sealId, body, sha256Digest(body)]);
    return ev;
  }

  private async log(ev: unknown): Promise<void> {
    if (this.opts.appendToLog) await this.opts.appendToLog(utf8(canonicalizeJcs(ev)));
  }

  /** Register a seal (state Registered, or Manufactured with `state`). */
  async register(input: {
    sealId: string;
    publicKey: KeyObject | string | JsonWebKey;
    firmware: string[];
    lot?: string;
    state?: 'Manufactured' | 'Registered';
  }): Promise<SealRecord> {
    if (!isSealId(input.sealId)) throw new EvidentError('INPUT_INVALID', `invalid seal id ${JSON.stringify(input.sealId)}`);
    const key = typeof input.publicKey === 'object' && 'type' in input.publicKey && typeof (input.publicKey as KeyObject).export === 'function'
      ? (input.publicKey as KeyObject)
      : importPublicKey(input.publicKey as string | JsonWebKey);
    const alg = sealAlgOfKey(key);
    const jwk = publicKeyJwk(key);
    if (!input.firmware.length) throw new EvidentError('INPUT_INVALID', 'at least one registered firmware measurement is required');
    for (const f of input.firmware) if (!isMeasurement(f)) throw new EvidentError('INPUT_INVALID', `firmware measurement must be sha256:<hex>: ${f}`);
    if (input.lot !== undefined && !LOT_RE.test(input.lot)) throw new EvidentError('INPUT_INVALID', `invalid lot ${JSON.stringify(input.lot)}`);
    const state = input.state ?? 'Registered';
    const at = this.nowIso();
    const firmware = [...new Set(input.firmware)].sort();
    let ev: RegistryEvent;
    try {
      ev = await this.q.tx(async (q) => {
        await q.run(
          `INSERT INTO ${this.p}seals (seal_id, alg, public_jwk, firmware, lot, lot_active, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [input.sealId, alg, canonicalizeJcs(jwk), JSON.stringify(firmware), input.lot ?? null, input.lot ? 1 : 0, state, at, at],
        );
        return this.appendEvent(q, input.sealId, 'register', null, state, at, { alg, public_jwk: jwk, firmware_measurements: firmware, lot: input.lot ?? null });
      });
    } catch (e) {
      throw await this.mapUnique(e, input.sealId, input.lot);
    }
    await this.log(ev);
    return (await this.get(input.sealId))!;
  }

  private async mapUnique(e: unknown, sealId: string, lot?: string | null): Promise<unknown> {
    if (!isUniqueViolation(e)) return e;
    if (lot) {
      const other = await this.q.all<{ seal_id: string }>(`SELECT seal_id FROM ${this.p}seals WHERE lot = ? AND lot_active = 1 AND seal_id <> ?`, [lot, sealId]);
      if (other.length) return new EvidentError('LOT_ALREADY_BOUND', `lot ${lot} is already bound to active seal ${other[0]!.seal_id}`);
    }
    const same = await this.q.all(`SELECT seal_id FROM ${this.p}seals WHERE seal_id = ?`, [sealId]);
    if (same.length) return new EvidentError('SEAL_EXISTS', `seal ${sealId} is already registered`);
    return e;
  }

  async get(sealId: string, q: Sql = this.q): Promise<SealRecord | undefined> {
    const rows = await q.all<Record<string, string>>(`SELECT * FROM ${this.p}seals WHERE seal_id = ?`, [sealId]);
    const r = rows[0];
    if (!r) return undefined;
    return {
      seal_id: r.seal_id!,
      alg: r.alg as SealAlg,
      public_jwk: JSON.parse(r.public_jwk!),
      firmware_measurements: JSON.parse(r.firmware!),
      lot: r.lot ?? null,
      state: r.state as SealState,
      created_at: r.created_at!,
      updated_at: r.updated_at!,
    };
  }

  async lookup(sealId: string): Promise<SealLookup | undefined> {
    const r = await this.get(sealId);
    if (!r) return undefined;
    const ck = `${r.seal_id}\n${JSON.stringify(r.public_jwk)}`;
    let k = this.keyCache.get(ck);
    if (!k) {
      k = importPublicKey(r.public_jwk, r.alg === 'Ed25519' ? 'ed25519' : 'es256');
      this.keyCache.set(ck, k);
    }
    return { seal_id: r.seal_id, alg: r.alg, publicKey: k, status: r.state, firmware_measurements: r.firmware_measurements };
  }

  /** Move a seal through its lifecycle (append-only event). */
  async transition(sealId: string, to: SealState, data: Record<string, unknown> = {}, event?: string): Promise<SealRecord> {
    const ev = await this.q.tx(async (q) => {
      const cur = await this.get(sealId, q);
      if (!cur) throw new EvidentError('SEAL_UNKNOWN', `seal ${sealId} is not registered`);
      if (!canTransition(cur.state, to)) {
        throw new EvidentError('TRANSITION_INVALID', `seal ${sealId}: ${cur.state} → ${to} is not allowed`);
      }
      const at = this.nowIso();
      const lotActive = cur.lot && !TERMINAL_STATES.includes(to) ? 1 : 0;
      const n = await q.run(`UPDATE ${this.p}seals SET state = ?, lot_active = ?, updated_at = ? WHERE seal_id = ? AND state = ?`, [
        to,
        lotActive,
        at,
        sealId,
        cur.state,
      ]);
      if (n !== 1) throw new EvidentError('TRANSITION_CONFLICT', `seal ${sealId} changed concurrently`);
      return this.appendEvent(q, sealId, event ?? to.toLowerCase(), cur.state, to, at, data);
    });
    await this.log(ev);
    return (await this.get(sealId))!;
  }

  revoke(sealId: string, reason: string): Promise<SealRecord> {
    return this.transition(sealId, 'Revoked', { reason }, 'revoke');
  }

  async events(sealId?: string): Promise<RegistryEvent[]> {
    const rows = sealId
      ? await this.q.all<{ body: string }>(`SELECT body FROM ${this.p}events WHERE seal_id = ? ORDER BY seq`, [sealId])
      : await this.q.all<{ body: string }>(`SELECT body FROM ${this.p}events ORDER BY seq`);
    return rows.map((r) => JSON.parse(r.body));
  }

  async list(): Promise<SealRecord[]> {
    const rows = await this.q.all<{ seal_id: string }>(`SELECT seal_id FROM ${this.p}seals ORDER BY seal_id`);
    const out: SealRecord[] = [];
    for (const r of rows) out.push((await this.get(r.seal_id))!);
    return out;
  }

  /** Content-addressed snapshot of all seals; returns its digest and canonical body. Idempotent per content. */
  async snapshot(): Promise<{ digest: string; body: string }> {
    const seals = (await this.list()).map((s) => ({
      seal_id: s.seal_id,
      alg: s.alg,
      public_jwk: s.public_jwk,
      firmware_measurements: s.firmware_measurements,
      lot: s.lot,
      state: s.state,
      active: ACTIVE_STATES.includes(s.state),
    }));
    const evs = await this.q.all<{ m: unknown }>(`SELECT MAX(seq) AS m FROM ${this.p}events`);
    const lastSeq = evs[0]?.m === null || evs[0]?.m === undefined ? 0 : Number(evs[0].m);
    const body = canonicalizeJcs({ type: 'cphar.registry.snapshot', version: '0.1', event_seq: lastSeq, seals });
    const digest = sha256Digest(body);
    const n = await this.q.run(`INSERT INTO ${this.p}snapshots (digest, body, created_at) VALUES (?, ?, ?) ON CONFLICT (digest) DO NOTHING`, [
      digest,
      body,
      this.nowIso(),
    ]);
    if (n === 1) await this.log({ type: 'cphar.registry.snapshot-ref', version: '0.1', digest, event_seq: lastSeq });
    return { digest, body };
  }

  async getSnapshot(digest: string): Promise<string | undefined> {
    const rows = await this.q.all<{ body: string }>(`SELECT body FROM ${this.p}snapshots WHERE digest = ?`, [digest]);
    return rows[0]?.body;
  }

  /** Drop this registry's tables (tests). */
  async drop(): Promise<void> {
    for (const t of ['snapshots', 'events', 'seals']) await this.q.exec(`DROP TABLE IF EXISTS ${this.p}${t}`);
  }
}
