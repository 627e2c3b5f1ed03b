/**
 * PostgreSQL backend (pg). Same tables as SQLite (bytea instead of BLOB). Every commit runs in one transaction that
 * first takes `pg_advisory_xact_lock(<log key>)`, so however many Evident processes share the log, exactly one
 * sequences at a time; the stored size is re-checked under the lock (a stale sequencer gets LOG_CONFLICT, reloads
 * the tree state and retries). `acquireSequencerLock` takes a separate session-level "sequencer role" lock (pg_try_advisory_lock) so a
 * deployment can elect one dedicated sequencer; the per-commit lock is what guarantees correctness.
 */
import type pg from 'pg';
import { createHash } from 'node:crypto';
import { EvidentError } from '../../kernel/errors.ts';
import type { NodeId } from '../merkle.ts';
import { splitHashes } from './sqlite.ts';
import { checkTablePrefix, nodeKey, type CommitBatch, type LogMeta, type LogState, type LogStorage } from './types.ts';

export class PostgresLogStorage implements LogStorage {
  readonly kind = 'postgres' as const;
  private readonly t: string;
  private readonly lockKey: string;
  private readonly roleKey: string;
  private lockClient: pg.PoolClient | undefined;
  constructor(
    private readonly pool: pg.Pool,
    prefix = 'tlog',
    private readonly onClose?: () => Promise<void>,
  ) {
    this.t = checkTablePrefix(prefix);
    this.lockKey = createHash('sha256').update(`evident-log:${prefix}`).digest().readBigInt64BE(0).toString();
    this.roleKey = createHash('sha256').update(`evident-log-sequencer:${prefix}`).digest().readBigInt64BE(0).toString();
  }

  async init(): Promise<void> {
    const t = this.t;
    const c = await this.pool.connect();
    try {
      await c.query('SELECT pg_advisory_lock($1)', [this.lockKey]);
      try {
        await c.query(`
          CREATE TABLE IF NOT EXISTS ${t}_meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
          CREATE TABLE IF NOT EXISTS ${t}_entries (idx BIGINT PRIMARY KEY, leaf_hash BYTEA NOT NULL, data BYTEA NOT NULL);
          CREATE INDEX IF NOT EXISTS ${t}_entries_leaf ON ${t}_entries (leaf_hash);
          CREATE TABLE IF NOT EXISTS ${t}_nodes (level INT NOT NULL, idx BIGINT NOT NULL, hash BYTEA NOT NULL, PRIMARY KEY (level, idx));
          CREATE TABLE IF NOT EXISTS ${t}_checkpoints (size BIGINT PRIMARY KEY, note TEXT NOT NULL);
          CREATE TABLE IF NOT EXISTS ${t}_state (id INT PRIMARY KEY CHECK (id = 1), size BIGINT NOT NULL, compact BYTEA NOT NULL, checkpoint TEXT);
        `);
      } finally {
        await c.query('SELECT pg_advisory_unlock($1)', [this.lockKey]);
      }
    } finally {
      c.release();
    }
  }

  async getMeta(): Promise<LogMeta | undefined> {
    const r = await this.pool.query(`SELECT k, v FROM ${this.t}_meta`);
    const m = Object.fromEntries(r.rows.map((x: { k: string; v: string }) => [x.k, x.v]));
    if (!m.origin) return undefined;
    return { origin: m.origin, vkey: m.vkey, keyPath: m.keyPath };
  }

  async setMeta(meta: LogMeta): Promise<void> {
    for (const [k, v] of Object.entries(meta)) {
      if (v === undefined) continue;
      await this.pool.query(`INSERT INTO ${this.t}_meta (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v`, [k, String(v)]);
    }
  }

  async loadState(): Promise<LogState> {
    const r = await this.pool.query(`SELECT size, compact, checkpoint FROM ${this.t}_state WHERE id = 1`);
    if (r.rows.length === 0) return { size: 0, compact: [] };
    const row = r.rows[0] as { size: string; compact: Buffer; checkpoint: string | null };
    return { size: Number(row.size), compact: splitHashes(row.compact), checkpoint: row.checkpoint ?? undefined };
  }

  async commit(b: CommitBatch): Promise<void> {
    const t = this.t;
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      try {
        await c.query('SELECT pg_advisory_xact_lock($1)', [this.lockKey]);
        const cur = await c.query(`SELECT size FROM ${t}_state WHERE id = 1`);
        const size = cur.rows.length ? Number((cur.rows[0] as { size: string }).size) : 0;
        if (size !== b.startIndex) throw new EvidentError('LOG_CONFLICT', 'log size changed under the sequencer (another process sequenced)');
        if (b.entries.length > 0) {
          await c.query(`INSERT INTO ${t}_entries (idx, leaf_hash, data) SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[])`, [
            b.entries.map((_, i) => b.startIndex + i),
            b.leafHashes.map((h) => Buffer.from(h)),
            b.entries.map((e) => Buffer.from(e)),
          ]);
        }
        const nodes = b.nodes.filter((n) => n.level > 0);
        if (nodes.length > 0) {
          await c.query(
            `INSERT INTO ${t}_nodes (level, idx, hash) SELECT * FROM unnest($1::int[], $2::bigint[], $3::bytea[]) ON CONFLICT (level, idx) DO UPDATE SET hash = EXCLUDED.hash`,
            [nodes.map((n) => n.level), nodes.map((n) => n.index), nodes.map((n) => Buffer.from(n.hash))],
          );
        }
        await c.query(
          `INSERT INTO ${t}_state (id, size, compact, checkpoint) VALUES (1, $1, $2, $3) ON CONFLICT (id) DO UPDATE SET size = EXCLUDED.size, compact = EXCLUDED.compact, checkpoint = EXCLUDED.checkpoint`,
          [b.size, Buffer.concat(b.compact), b.checkpoint],
        );
        await c.query(`INSERT INTO ${t}_checkpoints (size, note) VALUES ($1, $2) ON CONFLICT (size) DO UPDATE SET note = EXCLUDED.note`, [b.size, b.checkpoint]);
        await c.query('COMMIT');
      } catch (e) {
        await c.query('ROLLBACK').catch(() => {});
        throw e;
      }
    } finally {
      c.release();
    }
  }

  async findLeaves(hashes: Uint8Array[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (hashes.length === 0) return out;
    const r = await this.pool.query(`SELECT leaf_hash, min(idx) AS idx FROM ${this.t}_entries WHERE leaf_hash = ANY($1::bytea[]) GROUP BY leaf_hash`, [hashes.map((h) => Buffer.from(h))]);
    for (const row of r.rows as Array<{ leaf_hash: Buffer; idx: string }>) out.set(row.leaf_hash.toString('hex'), Number(row.idx));
    return out;
  }

  async getNodes(ids: NodeId[]): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>();
    if (ids.length === 0) return out;
    const leaves = ids.filter((i) => i.level === 0).map((l) => l.index);
    const inner = ids.filter((i) => i.level > 0);
    // one round trip: leaf hashes (level 0) from entries, inner perfect nodes from nodes
    const r = await this.pool.query(
      `SELECT 0 AS level, idx, leaf_hash AS hash FROM ${this.t}_entries WHERE idx = ANY($1::bigint[])
       UNION ALL
       SELECT n.level, n.idx, n.hash FROM ${this.t}_nodes n JOIN unnest($2::int[], $3::bigint[]) AS q(level, idx) ON n.level = q.level AND n.idx = q.idx`,
      [leaves, inner.map((i) => i.level), inner.map((i) => i.index)],
    );
    for (const row of r.rows as Array<{ level: number; idx: string; hash: Buffer }>) out.set(nodeKey({ level: Number(row.level), index: Number(row.idx) }), new Uint8Array(row.hash));
    return out;
  }

  async getEntry(index: number): Promise<Uint8Array | undefined> {
    const r = await this.pool.query(`SELECT data FROM ${this.t}_entries WHERE idx = $1`, [index]);
    return r.rows.length ? new Uint8Array((r.rows[0] as { data: Buffer }).data) : undefined;
  }

  async getLeafHash(index: number): Promise<Uint8Array | undefined> {
    const r = await this.pool.query(`SELECT leaf_hash FROM ${this.t}_entries WHERE idx = $1`, [index]);
    return r.rows.length ? new Uint8Array((r.rows[0] as { leaf_hash: Buffer }).leaf_hash) : undefined;
  }

  async getCheckpoint(size: number): Promise<string | undefined> {
    const r = await this.pool.query(`SELECT note FROM ${this.t}_checkpoints WHERE size = $1`, [size]);
    return r.rows.length ? (r.rows[0] as { note: string }).note : undefined;
  }

  async acquireSequencerLock(): Promise<boolean> {
    if (this.lockClient) return true;
    const c = await this.pool.connect();
    const r = await c.query('SELECT pg_try_advisory_lock($1) AS ok', [this.roleKey]);
    if ((r.rows[0] as { ok: boolean }).ok) {
      this.lockClient = c;
      return true;
    }
    c.release();
    return false;
  }

  async close(): Promise<void> {
    if (this.lockClient) {
      await this.lockClient.query('SELECT pg_advisory_unlock($1)', [this.roleKey]).catch(() => {});
      this.lockClient.release();
      this.lockClient = undefined;
    }
    if (this.onClose) await this.onClose();
  }
}
