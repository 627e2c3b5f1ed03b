/**
 * WCP registry state of the service (SQLite or PostgreSQL): enrolled worker records and the ban list.
 *
 * - `evident_wcp_workers`: one row per worker_id, the record as its exact Python canonical text (ensure_ascii,
 *   sorted keys: re-parsing it losslessly gives the same artifact_hash), the optional awp.v1 manifest (same form),
 *   and the log index / time of the enrollment event that entered the transparency log.
 * - `evident_wcp_bans`: banned SHA-256 hashes (64 lowercase hex) in the upstream ban-list entry shape
 *   `{sha256, reason, reported_at, source, review_status}` plus the log index of the ban event.
 */
import type { DbHandle } from '../store/db.ts';
import { sqlFor } from '../store/sql.ts';

export interface EnrolledWorker {
  worker_id: string;
  worker_species_id: string;
  artifact_hash: string;
  /** Python canonical text of the whole record (artifact_hash included). */
  record: string;
  /** Python canonical text of the awp.v1 manifest, when one was enrolled. */
  manifest: string | null;
  package_hash: string | null;
  enrolled_at: string;
  /** Time stamped into the latest enrollment event (its log entry is rebuilt from the row). */
  logged_at: string;
  log_index: number;
}

export interface BanEntry {
  sha256: string;
  reason: string;
  reported_at: string;
  source: string;
  review_status: string;
  log_index: number;
}

const WORKER_COLS = 'worker_id, worker_species_id, artifact_hash, record, manifest, package_hash, enrolled_at, logged_at, log_index';
const BAN_COLS = 'sha256, reason, reported_at, source, review_status, log_index';

type Row = Record<string, unknown>;
const toWorker = (r: Row): EnrolledWorker => ({ ...(r as unknown as EnrolledWorker), log_index: Number(r.log_index) });
const toBan = (r: Row): BanEntry => ({ ...(r as unknown as BanEntry), log_index: Number(r.log_index) });

export class WcpStore {
  private constructor(private readonly h: DbHandle) {}

  static async open(h: DbHandle): Promise<WcpStore> {
    const ddl = [
      'CREATE TABLE IF NOT EXISTS evident_wcp_workers (worker_id TEXT PRIMARY KEY, worker_species_id TEXT NOT NULL, artifact_hash TEXT NOT NULL, record TEXT NOT NULL, manifest TEXT, package_hash TEXT, enrolled_at TEXT NOT NULL, logged_at TEXT NOT NULL, log_index BIGINT NOT NULL)',
      'CREATE TABLE IF NOT EXISTS evident_wcp_bans (sha256 TEXT PRIMARY KEY, reason TEXT NOT NULL, reported_at TEXT NOT NULL, source TEXT NOT NULL, review_status TEXT NOT NULL, log_index BIGINT NOT NULL)',
    ];
    // through Sql.ddl: on PostgreSQL under the schema advisory lock, so instances starting together do not race
    // on the catalog (CREATE TABLE IF NOT EXISTS is not safe against a concurrent create)
    await sqlFor(h).ddl(ddl);
    return new WcpStore(h);
  }

  async getWorker(workerId: string): Promise<EnrolledWorker | undefined> {
    const sql = `SELECT ${WORKER_COLS} FROM evident_wcp_workers WHERE worker_id = `;
    const row: Row | undefined = this.h.kind === 'sqlite' ? (this.h.db.prepare(sql + '?').get(workerId) as Row | undefined) : (await this.h.pool.query(sql + '$1', [workerId])).rows[0];
    return row ? toWorker(row) : undefined;
  }

  /**
   * Insert or replace a worker's enrollment (re-enrolling keeps the first `enrolled_at`). Returns whether the row
   * existed before, and the stored `enrolled_at`.
   */
  async upsertWorker(w: Omit<EnrolledWorker, 'enrolled_at'>): Promise<{ updated: boolean; enrolled_at: string }> {
    const args = [w.worker_id, w.worker_species_id, w.artifact_hash, w.record, w.manifest, w.package_hash, w.logged_at, w.logged_at, w.log_index];
    const upd = 'worker_species_id = excluded.worker_species_id, artifact_hash = excluded.artifact_hash, record = excluded.record, manifest = excluded.manifest, package_hash = excluded.package_hash, logged_at = excluded.logged_at, log_index = excluded.log_index';
    if (this.h.kind === 'sqlite') {
      // better-sqlite3 is synchronous: the read and the write cannot interleave with another request
      const before = this.h.db.prepare('SELECT enrolled_at FROM evident_wcp_workers WHERE worker_id = ?').get(w.worker_id) as { enrolled_at: string } | undefined;
      this.h.db.prepare(`INSERT INTO evident_wcp_workers (${WORKER_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (worker_id) DO UPDATE SET ${upd}`).run(...args);
      return { updated: before !== undefined, enrolled_at: before?.enrolled_at ?? w.logged_at };
    }
    const r = await this.h.pool.query(
      `INSERT INTO evident_wcp_workers (${WORKER_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (worker_id) DO UPDATE SET ${upd} RETURNING enrolled_at, (xmax::text <> '0') AS updated`,
      args,
    );
    return { updated: r.rows[0].updated === true, enrolled_at: r.rows[0].enrolled_at as string };
  }

  /** The ban list, oldest first (ties by hash). */
  async listBans(limit?: number): Promise<BanEntry[]> {
    const sql = `SELECT ${BAN_COLS} FROM evident_wcp_bans ORDER BY reported_at, sha256`;
    const rows: Row[] =
      this.h.kind === 'sqlite'
        ? (limit === undefined ? this.h.db.prepare(sql).all() : this.h.db.prepare(sql + ' LIMIT ?').all(limit)) as Row[]
        : (limit === undefined ? await this.h.pool.query(sql) : await this.h.pool.query(sql + ' LIMIT $1', [limit])).rows;
    return rows.map(toBan);
  }

  /** The first of the given hashes (64 lowercase hex) that is banned, if any. */
  async findBan(hashes: readonly string[]): Promise<BanEntry | undefined> {
    for (const h of new Set(hashes)) {
      const sql = `SELECT ${BAN_COLS} FROM evident_wcp_bans WHERE sha256 = `;
      const row: Row | undefined = this.h.kind === 'sqlite' ? (this.h.db.prepare(sql + '?').get(h) as Row | undefined) : (await this.h.pool.query(sql + '$1', [h])).rows[0];
      if (row) return toBan(row);
    }
    return undefined;
  }

  /** Add a ban; false (nothing written) when the hash is already banned. */
  async addBan(b: BanEntry): Promise<boolean> {
    const args = [b.sha256, b.reason, b.reported_at, b.source, b.review_status, b.log_index];
    if (this.h.kind === 'sqlite') return this.h.db.prepare(`INSERT OR IGNORE INTO evident_wcp_bans (${BAN_COLS}) VALUES (?, ?, ?, ?, ?, ?)`).run(...args).changes > 0;
    return ((await this.h.pool.query(`INSERT INTO evident_wcp_bans (${BAN_COLS}) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (sha256) DO NOTHING`, args)).rowCount ?? 0) > 0;
  }

  /** Lift a ban: the entry removed, or undefined when the hash was not banned (one statement: no race). */
  async removeBan(sha256: string): Promise<BanEntry | undefined> {
    const sql = `DELETE FROM evident_wcp_bans WHERE sha256 = `;
    const row: Row | undefined =
      this.h.kind === 'sqlite'
        ? (this.h.db.prepare(sql + `? RETURNING ${BAN_COLS}`).get(sha256) as Row | undefined)
        : (await this.h.pool.query(sql + `$1 RETURNING ${BAN_COLS}`, [sha256])).rows[0];
    return row ? toBan(row) : undefined;
  }
}

/** A ban-list hash as stored: 64 lowercase hex, without the `sha256:` prefix that records and requests may carry. */
export function bareHash(h: string): string {
  return h.replace(/^sha256:/, '');
}

/** Hashes of a record (and manifest) that a ban can name: artifact_hash, attestation.code_hash, package_hash. */
export function banCandidates(artifactHash: string, record: Record<string, unknown>, packageHash?: string | null): string[] {
  const out = [bareHash(artifactHash)];
  const att = record.attestation;
  const code = att && typeof att === 'object' && !Array.isArray(att) ? (att as Record<string, unknown>).code_hash : undefined;
  if (typeof code === 'string') out.push(bareHash(code));
  if (typeof packageHash === 'string') out.push(packageHash);
  return out.filter((h) => /^[0-9a-f]{64}$/.test(h));
}

// ---- JSON Schemas shared by the WCP routes and POST /v1/receipts (format wcp)

/** worker_id: what fits one URL path segment (no whitespace, `/`, `?`, `#`). */
export const WORKER_ID = '^[^\\s/?#%]{1,256}$';

/** A WCP registry record. Its member set is open (upstream records carry many fields, all covered by artifact_hash). */
export function wcpRecordSchema(requireHash: boolean) {
  return {
    type: 'object',
    additionalProperties: true,
    description: 'WCP registry record (hall_api POST /enroll body); artifact_hash = "sha256:" + hex(sha256(Python json.dumps(record minus artifact_hash, sort_keys, compact, ensure_ascii)))',
    required: ['worker_id', 'worker_species_id', 'capabilities', ...(requireHash ? ['artifact_hash'] : [])],
    properties: {
      worker_id: { type: 'string', pattern: WORKER_ID },
      worker_species_id: { type: 'string', minLength: 1, maxLength: 256 },
      capabilities: { type: 'array', minItems: 1, maxItems: 1000 },
      artifact_hash: { type: 'string', maxLength: 200 },
    },
  } as const;
}
