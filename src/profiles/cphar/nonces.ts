/**
 * Single-use nonce stores for CPHAR challenges.
 *
 * A nonce is issued (recorded with its seal, issue time and expiry) and consumed at most once. Consumption is one
 * atomic statement (`UPDATE … WHERE consumed_at IS NULL` for issued nonces, `INSERT … ON CONFLICT DO NOTHING` for
 * nonces the store never issued), so a replay is rejected across restarts and across processes sharing the DB.
 */
import type { DbHandle } from '../../store/db.ts';
import { checkPrefix, sqlFor, type Sql } from '../../store/sql.ts';

export type ConsumeResult =
  | { status: 'OK'; issuedAt?: number; sealId?: string }
  | { status: 'REPLAY' }
  | { status: 'NONCE_UNKNOWN' }
  | { status: 'NONCE_EXPIRED' };

export interface NonceStore {
  /** Record an issued nonce (throws on duplicate). */
  issue(nonce: string, sealId: string, issuedAt: number, expiresAt: number): Promise<void>;
  /**
   * Consume a nonce at `now`. With `requireIssued`, nonces this store did not issue are NONCE_UNKNOWN; otherwise
   * an unseen nonce is recorded as consumed (replay protection only).
   */
  consume(nonce: string, now: number, opts?: { requireIssued?: boolean; ttlMs?: number }): Promise<ConsumeResult>;
  /** Delete rows whose expiry is before `before` (consumed rows are kept until then). */
  purge(before: number): Promise<number>;
}

/** Default nonce TTL: 5 minutes (longer than any freshness window, so expiry never hides a replay). */
export const DEFAULT_NONCE_TTL_MS = 5 * 60_000;

/** In-process store (tests, benchmarks, single-process verifiers). */
export class MemoryNonceStore implements NonceStore {
  private rows = new Map<string, { sealId: string; issuedAt: number; expiresAt: number; consumed: boolean; issued: boolean }>();
  async issue(nonce: string, sealId: string, issuedAt: number, expiresAt: number): Promise<void> {
    if (this.rows.has(nonce)) throw new Error('duplicate nonce');
    this.rows.set(nonce, { sealId, issuedAt, expiresAt, consumed: false, issued: true });
  }
  async consume(nonce: string, now: number, opts: { requireIssued?: boolean; ttlMs?: number } = {}): Promise<ConsumeResult> {
    const r = this.rows.get(nonce);
    if (!r) {
      if (opts.requireIssued) return { status: 'NONCE_UNKNOWN' };
      this.rows.set(nonce, { sealId: '', issuedAt: now, expiresAt: now + (opts.ttlMs ?? DEFAULT_NONCE_TTL_MS), consumed: true, issued: false });
      return { status: 'OK' };
    }
    if (r.consumed) return { status: 'REPLAY' };
    if (r.issued && now > r.expiresAt) return { status: 'NONCE_EXPIRED' };
    r.consumed = true;
    return { status: 'OK', issuedAt: r.issuedAt, sealId: r.sealId };
  }
  async purge(before: number): Promise<number> {
    let n = 0;
    for (const [k, r] of this.rows) {
      if (r.expiresAt < before) {
        this.rows.delete(k);
        n++;
      }
    }
    return n;
  }
}

/** SQLite / PostgreSQL nonce store on the kernel DB handle. Table: `<prefix>nonces`. */
export class DbNonceStore implements NonceStore {
  private constructor(
    private q: Sql,
    private t: string,
  ) {}

  static async open(h: DbHandle, opts: { prefix?: string } = {}): Promise<DbNonceStore> {
    const p = checkPrefix(opts.prefix ?? 'cphar_');
    const q = sqlFor(h);
    await q.ddl([
      `CREATE TABLE IF NOT EXISTS ${p}nonces (nonce TEXT PRIMARY KEY, seal_id TEXT NOT NULL, issued_at BIGINT NOT NULL, ` +
        `expires_at BIGINT NOT NULL, consumed_at BIGINT, issued INTEGER NOT NULL)`,
      `CREATE INDEX IF NOT EXISTS ${p}nonces_exp ON ${p}nonces (expires_at)`,
    ]);
    return new DbNonceStore(q, `${p}nonces`);
  }

  async issue(nonce: string, sealId: string, issuedAt: number, expiresAt: number): Promise<void> {
    await this.q.run(`INSERT INTO ${this.t} (nonce, seal_id, issued_at, expires_at, consumed_at, issued) VALUES (?, ?, ?, ?, NULL, 1)`, [
      nonce,
      sealId,
      issuedAt,
      expiresAt,
    ]);
  }

  async consume(nonce: string, now: number, opts: { requireIssued?: boolean; ttlMs?: number } = {}): Promise<ConsumeResult> {
    // 1. issued and unconsumed and unexpired → consume atomically
    const n = await this.q.run(`UPDATE ${this.t} SET consumed_at = ? WHERE nonce = ? AND consumed_at IS NULL AND expires_at >= ?`, [now, nonce, now]);
    if (n === 1) {
      const rows = await this.q.all<{ issued_at: unknown; seal_id: string }>(`SELECT issued_at, seal_id FROM ${this.t} WHERE nonce = ?`, [nonce]);
      const r = rows[0];
      return { status: 'OK', issuedAt: r ? Number(r.issued_at) : undefined, sealId: r?.seal_id };
    }
    // 2. never seen → unknown, or record as consumed (replay-only mode)
    if (!opts.requireIssued) {
      const ins = await this.q.run(
        `INSERT INTO ${this.t} (nonce, seal_id, issued_at, expires_at, consumed_at, issued) VALUES (?, '', ?, ?, ?, 0) ON CONFLICT (nonce) DO NOTHING`,
        [nonce, now, now + (opts.ttlMs ?? DEFAULT_NONCE_TTL_MS), now],
      );
      if (ins === 1) return { status: 'OK' };
    }
    const rows = await this.q.all<{ consumed_at: unknown }>(`SELECT consumed_at FROM ${this.t} WHERE nonce = ?`, [nonce]);
    if (!rows.length) return { status: 'NONCE_UNKNOWN' };
    if (rows[0]!.consumed_at !== null && rows[0]!.consumed_at !== undefined) return { status: 'REPLAY' };
    return { status: 'NONCE_EXPIRED' };
  }

  async purge(before: number): Promise<number> {
    return this.q.run(`DELETE FROM ${this.t} WHERE expires_at < ?`, [before]);
  }
}
