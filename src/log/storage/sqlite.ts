/**
 * SQLite backend (better-sqlite3, WAL). One file; tables `<prefix>_meta`, `_entries`, `_nodes`, `_state`.
 * Node key = level * 2^53-safe packing is avoided: (level, idx) composite primary key, WITHOUT ROWID.
 */
import type Database from 'better-sqlite3';
import { EvidentError } from '../../kernel/errors.ts';
import type { NodeId } from '../merkle.ts';
import { checkTablePrefix, nodeKey, type CommitBatch, type LogMeta, type LogState, type LogStorage } from './types.ts';

/** Rows per multi-row INSERT (3 parameters each; far below SQLite's 32,766-parameter limit). */
const CHUNK = 128;

const hexKey = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export class SqliteLogStorage implements LogStorage {
  readonly kind = 'sqlite' as const;
  private readonly t: string;
  constructor(
    private readonly db: Database.Database,
    prefix = 'tlog',
    private readonly onClose?: () => Promise<void>,
  ) {
    this.t = checkTablePrefix(prefix);
  }

  /** Prepared statements are compiled once per SQL text (preparing costs more than running a point query). */
  private readonly stmts = new Map<string, Database.Statement>();
  private st(sql: string): Database.Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  async init(): Promise<void> {
    const t = this.t;
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS ${t}_meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS ${t}_entries (idx INTEGER PRIMARY KEY, leaf_hash BLOB NOT NULL, data BLOB NOT NULL);
      CREATE TABLE IF NOT EXISTS ${t}_nodes (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (level, idx)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS ${t}_checkpoints (size INTEGER PRIMARY KEY, note TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS ${t}_state (id INTEGER PRIMARY KEY CHECK (id = 1), size INTEGER NOT NULL, compact BLOB NOT NULL, checkpoint TEXT);
    `);
  }

  async getMeta(): Promise<LogMeta | undefined> {
    const rows = this.st(`SELECT k, v FROM ${this.t}_meta`).all() as Array<{ k: string; v: string }>;
    const m = Object.fromEntries(rows.map((r) => [r.k, r.v]));
    if (!m.origin) return undefined;
    return { origin: m.origin, vkey: m.vkey, keyPath: m.keyPath };
  }

  async setMeta(meta: LogMeta): Promise<void> {
    const st = this.st(`INSERT INTO ${this.t}_meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v`);
    this.db.transaction(() => {
      for (const [k, v] of Object.entries(meta)) if (v !== undefined) st.run(k, String(v));
    })();
  }

  async loadState(): Promise<LogState> {
    const r = this.st(`SELECT size, compact, checkpoint FROM ${this.t}_state WHERE id = 1`).get() as { size: number; compact: Buffer; checkpoint: string | null } | undefined;
    if (!r) return { size: 0, compact: [] };
    return { size: Number(r.size), compact: splitHashes(r.compact), checkpoint: r.checkpoint ?? undefined };
  }

  /** `INSERT … VALUES (…),(…)` with `rows` rows: one statement step per chunk instead of one per row. */
  private multiInsert(head: string, cols: number, rows: number): Database.Statement {
    const one = '(' + Array(cols).fill('?').join(',') + ')';
    return this.st(head + Array(rows).fill(one).join(','));
  }

  async commit(b: CommitBatch): Promise<void> {
    const t = this.t;
    const db = this.db;
    const headE = `INSERT INTO ${t}_entries (idx, leaf_hash, data) VALUES `;
    const headN = `INSERT OR REPLACE INTO ${t}_nodes (level, idx, hash) VALUES `;
    const cur = this.st(`SELECT size FROM ${t}_state WHERE id = 1`);
    const insC = this.st(`INSERT OR REPLACE INTO ${t}_checkpoints (size, note) VALUES (?, ?)`);
    const up = this.st(`INSERT INTO ${t}_state (id, size, compact, checkpoint) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET size = excluded.size, compact = excluded.compact, checkpoint = excluded.checkpoint`);
    const nodes = b.nodes.filter((n) => n.level > 0);
    db.transaction(() => {
      const c = cur.get() as { size: number } | undefined;
      if ((c ? Number(c.size) : 0) !== b.startIndex) throw new EvidentError('LOG_CONFLICT', 'log size changed under the sequencer (another writer?)');
      for (let i = 0; i < b.entries.length; ) {
        const k = Math.min(CHUNK, b.entries.length - i);
        const params: unknown[] = new Array(k * 3);
        for (let j = 0; j < k; j++) {
          params[j * 3] = b.startIndex + i + j;
          params[j * 3 + 1] = b.leafHashes[i + j];
          params[j * 3 + 2] = b.entries[i + j];
        }
        this.multiInsert(headE, 3, k).run(params);
        i += k;
      }
      for (let i = 0; i < nodes.length; ) {
        const k = Math.min(CHUNK, nodes.length - i);
        const params: unknown[] = new Array(k * 3);
        for (let j = 0; j < k; j++) {
          const n = nodes[i + j]!;
          params[j * 3] = n.level;
          params[j * 3 + 1] = n.index;
          params[j * 3 + 2] = n.hash;
        }
        this.multiInsert(headN, 3, k).run(params);
        i += k;
      }
      up.run(b.size, Buffer.concat(b.compact), b.checkpoint);
      insC.run(b.size, b.checkpoint);
    }).immediate();
  }

  private leafIndexReady = false;

  /**
   * De-duplication looks entries up by leaf hash. The index over the random 32-byte hashes more than halves append
   * throughput, so it is created only when a de-duplicating writer first asks (once created, SQLite maintains it
   * for every writer, so later look-ups stay complete).
   */
  async findLeaves(hashes: Uint8Array[]): Promise<Map<string, number>> {
    if (!this.leafIndexReady) {
      this.db.exec(`CREATE INDEX IF NOT EXISTS ${this.t}_entries_leaf ON ${this.t}_entries (leaf_hash)`);
      this.leafIndexReady = true;
    }
    const st = this.st(`SELECT idx FROM ${this.t}_entries WHERE leaf_hash = ? ORDER BY idx LIMIT 1`);
    const out = new Map<string, number>();
    for (const h of hashes) {
      const r = st.get(h) as { idx: number } | undefined;
      if (r) out.set(hexKey(h), Number(r.idx));
    }
    return out;
  }

  async getNodes(ids: NodeId[]): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>();
    const node = this.st(`SELECT hash FROM ${this.t}_nodes WHERE level = ? AND idx = ?`);
    const leaf = this.st(`SELECT leaf_hash FROM ${this.t}_entries WHERE idx = ?`);
    for (const id of ids) {
      const r = id.level === 0 ? (leaf.get(id.index) as { leaf_hash: Buffer } | undefined)?.leaf_hash : (node.get(id.level, id.index) as { hash: Buffer } | undefined)?.hash;
      if (r) out.set(nodeKey(id), new Uint8Array(r));
    }
    return out;
  }

  async getEntry(index: number): Promise<Uint8Array | undefined> {
    const r = this.st(`SELECT data FROM ${this.t}_entries WHERE idx = ?`).get(index) as { data: Buffer } | undefined;
    return r ? new Uint8Array(r.data) : undefined;
  }

  async getLeafHash(index: number): Promise<Uint8Array | undefined> {
    const r = this.st(`SELECT leaf_hash FROM ${this.t}_entries WHERE idx = ?`).get(index) as { leaf_hash: Buffer } | undefined;
    return r ? new Uint8Array(r.leaf_hash) : undefined;
  }

  async getCheckpoint(size: number): Promise<string | undefined> {
    const r = this.st(`SELECT note FROM ${this.t}_checkpoints WHERE size = ?`).get(size) as { note: string } | undefined;
    return r?.note;
  }

  async updateCheckpointNote(size: number, note: string): Promise<void> {
    this.db
      .transaction(() => {
        this.st(`UPDATE ${this.t}_checkpoints SET note = ? WHERE size = ?`).run(note, size);
        this.st(`UPDATE ${this.t}_state SET checkpoint = ? WHERE id = 1 AND size = ?`).run(note, size);
      })
      .immediate();
  }

  async acquireSequencerLock(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {
    if (this.onClose) await this.onClose();
  }
}

export function splitHashes(b: Uint8Array): Uint8Array[] {
  if (b.length % 32 !== 0) throw new EvidentError('IO_ERROR', 'corrupt stored compact range');
  const out: Uint8Array[] = [];
  for (let i = 0; i < b.length; i += 32) out.push(new Uint8Array(b.subarray(i, i + 32)));
  return out;
}
