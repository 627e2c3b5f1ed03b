/**
 * What a v2 receipt needs beyond its log entry (`evident.receipt/v2`, src/receipts/receipt-v2.ts): the DSSE envelope
 * (the Rekor v2 dsse body holds only its payload hash and signature) and the RFC 3161 timestamp taken when it was
 * issued, by receipt id. SQLite or PostgreSQL. Written before the receipt is answered; re-read by
 * GET /v1/receipts/{id} and /v1/receipts/{id}/sigstore.
 */
import type { DbHandle } from '../store/db.ts';
import { sqlFor, type Sql } from '../store/sql.ts';
import { parseBase64 } from '../kernel/encoding.ts';
import type { DsseEnvelope } from '../kernel/dsse.ts';

export class ReceiptV2Store {
  private constructor(private readonly q: Sql) {}

  static async open(h: DbHandle): Promise<ReceiptV2Store> {
    const q = sqlFor(h);
    await q.ddl(['CREATE TABLE IF NOT EXISTS evident_receipts_v2 (id TEXT PRIMARY KEY, envelope TEXT NOT NULL, rfc3161_timestamp TEXT)']);
    return new ReceiptV2Store(q);
  }

  /** Idempotent: the first stored envelope and timestamp of an id are kept. */
  async put(id: string, envelope: DsseEnvelope, timestamp: string | undefined): Promise<void> {
    await this.q.run('INSERT INTO evident_receipts_v2 (id, envelope, rfc3161_timestamp) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING', [id, JSON.stringify(envelope), timestamp ?? null]);
  }

  async get(id: string): Promise<{ envelope: DsseEnvelope; timestamp?: Uint8Array } | undefined> {
    const row = (await this.q.all<{ envelope: string; rfc3161_timestamp: string | null }>('SELECT envelope, rfc3161_timestamp FROM evident_receipts_v2 WHERE id = ?', [id]))[0];
    if (!row) return undefined;
    return { envelope: JSON.parse(row.envelope) as DsseEnvelope, ...(row.rfc3161_timestamp ? { timestamp: parseBase64(row.rfc3161_timestamp) } : {}) };
  }
}
