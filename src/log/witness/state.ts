/**
 * Durable witness state on SQLite (default) or PostgreSQL: one row per log origin with the latest verified
 * checkpoint, updated by compare-and-set (UPDATE … WHERE size = old AND root = old root), plus an evidence table of
 * refused log-signed requests (a fork or a rollback attempt, kept for whoever investigates).
 *
 *   evident_witness_state (origin TEXT PRIMARY KEY, size BIGINT, root TEXT (base64), checkpoint TEXT, updated TEXT)
 *   evident_witness_evidence (id, origin, reason, request TEXT, created TEXT)
 */
import { openDb, type DbHandle } from '../../store/db.ts';
import { sqlFor, type Sql } from '../../store/sql.ts';
import { parseBase64, toBase64 } from '../../kernel/encoding.ts';
import type { WitnessStateStore, WitnessedState } from './protocol.ts';

export const DEFAULT_WITNESS_DB = 'sqlite:./evident-data/witness.db';

export class SqlWitnessStore implements WitnessStateStore {
  private constructor(
    private readonly h: DbHandle,
    private readonly q: Sql,
  ) {}

  static async open(url: string = DEFAULT_WITNESS_DB): Promise<SqlWitnessStore> {
    const h = await openDb(url);
    const q = sqlFor(h);
    const serial = h.kind === 'postgres' ? 'BIGSERIAL' : 'INTEGER';
    await q.ddl([
      'CREATE TABLE IF NOT EXISTS evident_witness_state (origin TEXT PRIMARY KEY, size BIGINT NOT NULL, root TEXT NOT NULL, checkpoint TEXT NOT NULL, updated TEXT NOT NULL)',
      `CREATE TABLE IF NOT EXISTS evident_witness_evidence (id ${serial} PRIMARY KEY, origin TEXT NOT NULL, reason TEXT NOT NULL, request TEXT NOT NULL, created TEXT NOT NULL)`,
    ]);
    return new SqlWitnessStore(h, q);
  }

  async get(origin: string): Promise<WitnessedState | undefined> {
    const rows = await this.q.all<{ size: unknown; root: string; checkpoint: string }>('SELECT size, root, checkpoint FROM evident_witness_state WHERE origin = ?', [origin]);
    const r = rows[0];
    if (!r) return undefined;
    return { origin, size: Number(r.size), rootHash: parseBase64(r.root), checkpoint: r.checkpoint };
  }

  async compareAndSet(prev: WitnessedState | undefined, next: WitnessedState): Promise<boolean> {
    const now = new Date().toISOString();
    if (!prev) {
      return (await this.q.run('INSERT INTO evident_witness_state (origin, size, root, checkpoint, updated) VALUES (?, ?, ?, ?, ?) ON CONFLICT (origin) DO NOTHING', [next.origin, next.size, toBase64(next.rootHash), next.checkpoint, now])) === 1;
    }
    return (
      (await this.q.run('UPDATE evident_witness_state SET size = ?, root = ?, checkpoint = ?, updated = ? WHERE origin = ? AND size = ? AND root = ?', [
        next.size,
        toBase64(next.rootHash),
        next.checkpoint,
        now,
        next.origin,
        prev.size,
        toBase64(prev.rootHash),
      ])) === 1
    );
  }

  async recordEvidence(origin: string, reason: string, request: string): Promise<void> {
    await this.q.run('INSERT INTO evident_witness_evidence (origin, reason, request, created) VALUES (?, ?, ?, ?)', [origin, reason, request, new Date().toISOString()]);
  }

  async evidence(origin: string): Promise<Array<{ reason: string; request: string; created: string }>> {
    return this.q.all('SELECT reason, request, created FROM evident_witness_evidence WHERE origin = ? ORDER BY id', [origin]);
  }

  close(): Promise<void> {
    return this.h.close();
  }
}
