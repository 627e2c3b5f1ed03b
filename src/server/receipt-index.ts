/** id → log index of issued receipts (the receipt itself is the log entry). SQLite or PostgreSQL. */
import type { DbHandle } from '../store/db.ts';

export class ReceiptIndex {
  private constructor(private readonly h: DbHandle) {}

  static async open(h: DbHandle): Promise<ReceiptIndex> {
    const ddl = 'CREATE TABLE IF NOT EXISTS evident_receipts (id TEXT PRIMARY KEY, log_index BIGINT NOT NULL, format TEXT NOT NULL, created_at TEXT NOT NULL)';
    if (h.kind === 'sqlite') h.db.exec(ddl);
    else await h.pool.query(ddl);
    return new ReceiptIndex(h);
  }

  /** Idempotent: the same envelope issued twice keeps its first index. */
  async put(id: string, index: number, format: string): Promise<void> {
    const at = new Date().toISOString();
    if (this.h.kind === 'sqlite') this.h.db.prepare('INSERT OR IGNORE INTO evident_receipts (id, log_index, format, created_at) VALUES (?, ?, ?, ?)').run(id, index, format, at);
    else await this.h.pool.query('INSERT INTO evident_receipts (id, log_index, format, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING', [id, index, format, at]);
  }

  async get(id: string): Promise<number | undefined> {
    const row: { log_index: number | string } | undefined =
      this.h.kind === 'sqlite'
        ? (this.h.db.prepare('SELECT log_index FROM evident_receipts WHERE id = ?').get(id) as never)
        : (await this.h.pool.query('SELECT log_index FROM evident_receipts WHERE id = $1', [id])).rows[0];
    return row === undefined ? undefined : Number(row.log_index);
  }
}
