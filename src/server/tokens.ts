/**
 * Bearer tokens with scopes (issue, register, admin). Only SHA-256 hashes are stored; comparison is constant time.
 * Stored in the service database (SQLite or PostgreSQL), table `evident_tokens`.
 */
import { randomBytes } from 'node:crypto';
import type { DbHandle } from '../store/db.ts';
import { sqlFor, type Sql } from '../store/sql.ts';
import { sha256Hex, timingSafeEqualString } from '../kernel/digest.ts';
import { EvidentError } from '../kernel/errors.ts';

export const SCOPES = ['issue', 'register', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface TokenRecord {
  id: string;
  scopes: Scope[];
  label: string;
  createdAt: string;
}

const TOKEN_PREFIX = 'evt_';
/** Advisory lock key for the first admin token (arbitrary constant: 'evtk'). */
const INITIAL_TOKEN_LOCK = 0x6576746b;
const TOKEN_RE = /^evt_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

function parseScopes(list: readonly string[]): Scope[] {
  if (list.length === 0) throw new EvidentError('INPUT_INVALID', 'a token needs at least one scope');
  for (const s of list) if (!(SCOPES as readonly string[]).includes(s)) throw new EvidentError('INPUT_INVALID', `unknown scope ${JSON.stringify(s)} (issue, register, admin)`);
  return [...new Set(list)] as Scope[];
}

/** How long an authenticated token is remembered (a revocation through another instance applies within this). */
export const TOKEN_CACHE_MS = 2000;
const TOKEN_CACHE_MAX = 10_000;

export class TokenStore {
  /** sha256(token) → record, for TOKEN_CACHE_MS: keyed by the hash, never by the secret itself. */
  private readonly cache = new Map<string, { record: TokenRecord; until: number }>();

  private constructor(private readonly q: Sql) {}

  static async open(h: DbHandle): Promise<TokenStore> {
    const q = sqlFor(h);
    await q.ddl(['CREATE TABLE IF NOT EXISTS evident_tokens (id TEXT PRIMARY KEY, hash TEXT NOT NULL, scopes TEXT NOT NULL, label TEXT NOT NULL, created_at TEXT NOT NULL)']);
    return new TokenStore(q);
  }

  async count(): Promise<number> {
    const rows = await this.q.all<{ n: number | string }>('SELECT COUNT(*) AS n FROM evident_tokens');
    return Number(rows[0]!.n);
  }

  /** Create a token; the secret is returned once and never stored. */
  async create(scopes: readonly string[], label = ''): Promise<{ token: string; record: TokenRecord }> {
    return this.insert(this.q, scopes, label);
  }

  /**
   * The first start's admin token: created only when the store holds no token, atomically (one transaction,
   * serialised across processes: SQLite BEGIN IMMEDIATE, PostgreSQL an advisory lock), so of several instances
   * starting together on an empty database exactly one creates and prints it. Undefined when tokens exist.
   */
  async createInitialAdmin(label = 'initial admin token'): Promise<{ token: string; record: TokenRecord } | undefined> {
    return this.q.tx(async (t) => {
      if (t.kind === 'postgres') await t.exec(`SELECT pg_advisory_xact_lock(${INITIAL_TOKEN_LOCK})`);
      const rows = await t.all<{ n: number | string }>('SELECT COUNT(*) AS n FROM evident_tokens');
      if (Number(rows[0]!.n) > 0) return undefined;
      return this.insert(t, ['admin'], label);
    });
  }

  private async insert(q: Sql, scopes: readonly string[], label: string): Promise<{ token: string; record: TokenRecord }> {
    const sc = parseScopes(scopes);
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const token = `${TOKEN_PREFIX}${id}_${secret}`;
    const record: TokenRecord = { id, scopes: sc, label, createdAt: new Date().toISOString() };
    await q.run('INSERT INTO evident_tokens (id, hash, scopes, label, created_at) VALUES (?, ?, ?, ?, ?)', [id, sha256Hex(token), sc.join(','), label, record.createdAt]);
    return { token, record };
  }

  async revoke(id: string): Promise<boolean> {
    for (const [k, v] of this.cache) if (v.record.id === id) this.cache.delete(k);
    return (await this.q.run('DELETE FROM evident_tokens WHERE id = ?', [id])) > 0;
  }

  async list(): Promise<TokenRecord[]> {
    const rows = await this.q.all<{ id: string; scopes: string; label: string; created_at: string }>('SELECT id, scopes, label, created_at FROM evident_tokens ORDER BY created_at');
    return rows.map((r) => ({ id: r.id, scopes: r.scopes.split(',') as Scope[], label: r.label, createdAt: r.created_at }));
  }

  /** The token's record when it is well-formed, known and its hash matches (constant-time), else undefined. */
  async authenticate(token: string): Promise<TokenRecord | undefined> {
    const m = TOKEN_RE.exec(token);
    if (!m) return undefined;
    const id = m[1]!;
    const presented = sha256Hex(token);
    const now = Date.now();
    const hit = this.cache.get(presented);
    if (hit && hit.until > now) return hit.record;
    const row = (await this.q.all<{ hash: string; scopes: string; label: string; created_at: string }>('SELECT hash, scopes, label, created_at FROM evident_tokens WHERE id = ?', [id]))[0];
    if (!row) {
      timingSafeEqualString(presented, presented);
      return undefined;
    }
    if (!timingSafeEqualString(presented, row.hash)) return undefined;
    const record: TokenRecord = { id, scopes: row.scopes.split(',') as Scope[], label: row.label, createdAt: row.created_at };
    if (this.cache.size >= TOKEN_CACHE_MAX) this.cache.clear();
    this.cache.set(presented, { record, until: now + TOKEN_CACHE_MS });
    return record;
  }
}
