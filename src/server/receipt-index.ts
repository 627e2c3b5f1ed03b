/**
 * id → log index of issued receipts (the receipt itself is the log entry). SQLite or PostgreSQL.
 *
 * Writes are group-committed: the puts of all requests that arrive in the same event-loop turn go into one
 * transaction, and each put resolves only after that transaction commits (so a receipt answered 201 is
 * immediately readable through GET /v1/receipts/{id}).
 */
import type { DbHandle } from '../store/db.ts';
import { sqlFor, type Sql } from '../store/sql.ts';

interface PendingPut {
  id: string;
  index: number;
  format: string;
  at: string;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class ReceiptIndex {
  private pending: PendingPut[] = [];
  private scheduled = false;

  private constructor(private readonly q: Sql) {}

  static async open(h: DbHandle): Promise<ReceiptIndex> {
    const q = sqlFor(h);
    await q.ddl(['CREATE TABLE IF NOT EXISTS evident_receipts (id TEXT PRIMARY KEY, log_index BIGINT NOT NULL, format TEXT NOT NULL, created_at TEXT NOT NULL)']);
    return new ReceiptIndex(q);
  }

  /** Idempotent: the same envelope issued twice keeps its first index. */
  put(id: string, index: number, format: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ id, index, format, at: new Date().toISOString(), resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    try {
      await this.q.runMany(
        'INSERT INTO evident_receipts (id, log_index, format, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING',
        batch.map((p) => [p.id, p.index, p.format, p.at]),
      );
      for (const p of batch) p.resolve();
    } catch (e) {
      for (const p of batch) p.reject(e);
    }
  }

  async get(id: string): Promise<number | undefined> {
    const row = (await this.q.all<{ log_index: number | string }>('SELECT log_index FROM evident_receipts WHERE id = ?', [id]))[0];
    return row === undefined ? undefined : Number(row.log_index);
  }
}
