/**
 * PostgreSQL backend (pg). Same tables as SQLite (bytea instead of BLOB), plus the cross-process write queue:
 *
 *   <prefix>_queue (id BIGSERIAL, data, dedupe, created)  appends forwarded by non-sequencing processes
 *   <prefix>_acks  (id, idx, size, created)              acknowledgements of forwarded appends (id = queue id)
 *
 * Exactly one process sequences a log: the one holding the session-level advisory lock
 * {@link sequencerLockKey}(prefix) on its dedicated control connection. The others INSERT their appends into
 * `<prefix>_queue` (and NOTIFY `evident_<prefix>_q`), then wait for their ack rows (NOTIFY `evident_<prefix>_ack`,
 * plus a short poll). The sequencer claims queued rows and commits entries + nodes + tree state + checkpoint +
 * the DELETE of the claimed queue rows + their ack rows in ONE transaction, so a forwarded entry is either still
 * queued or committed-and-acknowledged, never half of each. Every commit also takes `pg_advisory_xact_lock(<log>)`
 * and re-checks the stored size and the number of queue rows it consumed (LOG_CONFLICT otherwise): correctness
 * never depends on the role lock being exclusive (a sequencer that lost its control connection cannot fork the
 * tree or commit a queued entry twice). PostgreSQL releases the role lock when the holder's session ends (process
 * killed, connection lost, server-side TCP keepalive gives up), and the next process's `pg_try_advisory_lock`
 * takes over.
 */
import type pg from 'pg';
import { createHash } from '../../kernel/crypto/index.ts';
import { EvidentError } from '../../kernel/errors.ts';
import type { NodeId } from '../merkle.ts';
import type { QueueAck, QueueEvents, QueuedEntry, SharedCommit, SharedQueue } from '../sequencer.ts';
import { splitHashes } from './sqlite.ts';
import { checkTablePrefix, nodeKey, type CommitBatch, type LogMeta, type LogState, type LogStorage } from './types.ts';

const key64 = (s: string): string => createHash('sha256').update(s).digest().readBigInt64BE(0).toString();

/** Session-level advisory lock held by the one sequencing process of the log with this table prefix. */
export const sequencerLockKey = (prefix: string): string => key64(`evident-log-sequencer:${checkTablePrefix(prefix)}`);
/** Transaction-level advisory lock taken by every commit (and by the DDL at start-up). */
export const commitLockKey = (prefix: string): string => key64(`evident-log:${checkTablePrefix(prefix)}`);
/** NOTIFY channels: forwarders → sequencer ("rows queued"), sequencer → forwarders ("acks committed", payload: size). */
export const queueChannels = (prefix: string): { enqueue: string; ack: string } => ({ enqueue: `evident_${checkTablePrefix(prefix)}_q`, ack: `evident_${prefix}_ack` });

export class PostgresLogStorage implements LogStorage, SharedQueue {
  readonly kind = 'postgres' as const;
  private readonly t: string;
  private readonly lockKey: string;
  private readonly roleKey: string;
  private readonly channels: { enqueue: string; ack: string };
  /** Dedicated connection (not from the pool): holds the role lock (session-level) and LISTENs. */
  private control: pg.Client | undefined;
  private controlOpening: Promise<pg.Client> | undefined;
  private holding = false;
  private events: QueueEvents | undefined;
  private closed = false;
  /**
   * `connect` opens the dedicated control connection (a new, connected pg.Client) used to hold the sequencer role;
   * without it this storage can commit, read and forward but never takes the role.
   */
  constructor(
    private readonly pool: pg.Pool,
    prefix = 'tlog',
    private readonly onClose?: () => Promise<void>,
    private readonly connect?: () => Promise<pg.Client>,
  ) {
    this.t = checkTablePrefix(prefix);
    this.lockKey = commitLockKey(prefix);
    this.roleKey = sequencerLockKey(prefix);
    this.channels = queueChannels(prefix);
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
          CREATE TABLE IF NOT EXISTS ${t}_nodes (level INT NOT NULL, idx BIGINT NOT NULL, hash BYTEA NOT NULL, PRIMARY KEY (level, idx));
          CREATE TABLE IF NOT EXISTS ${t}_checkpoints (size BIGINT PRIMARY KEY, note TEXT NOT NULL);
          CREATE TABLE IF NOT EXISTS ${t}_state (id INT PRIMARY KEY CHECK (id = 1), size BIGINT NOT NULL, compact BYTEA NOT NULL, checkpoint TEXT);
          CREATE TABLE IF NOT EXISTS ${t}_queue (id BIGSERIAL PRIMARY KEY, data BYTEA NOT NULL, dedupe BOOLEAN NOT NULL DEFAULT FALSE, created TIMESTAMPTZ NOT NULL DEFAULT now());
          CREATE TABLE IF NOT EXISTS ${t}_acks (id BIGINT PRIMARY KEY, idx BIGINT NOT NULL, size BIGINT NOT NULL, created TIMESTAMPTZ NOT NULL DEFAULT now());
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

  /**
   * One transaction, three round trips: (1) BEGIN + the per-log commit lock + the stored size read under it;
   * (2) entries, nodes, state, checkpoint, the DELETE of consumed queue rows, their ack rows and the NOTIFY to the
   * forwarders as one statement (data-modifying CTEs); (3) COMMIT. The NOTIFY is delivered only if it commits.
   */
  async commit(b: CommitBatch & Partial<SharedCommit>): Promise<void> {
    const t = this.t;
    const consumed = b.consumed ?? [];
    const acks = b.acks ?? [];
    const c = await this.pool.connect();
    try {
      try {
        // simple-query protocol: several statements in one round trip, each with its own snapshot (READ COMMITTED),
        // so the size is read after the lock is granted. lockKey is a decimal integer we computed, not input.
        const rs = (await c.query(`BEGIN; SELECT pg_advisory_xact_lock(${this.lockKey}); SELECT size FROM ${t}_state WHERE id = 1`)) as unknown as pg.QueryResult[];
        const cur = rs[2]!;
        const size = cur.rows.length ? Number((cur.rows[0] as { size: string }).size) : 0;
        if (size !== b.startIndex) throw new EvidentError('LOG_CONFLICT', 'log size changed under the sequencer (another process sequenced)');
        const nodes = b.nodes.filter((n) => n.level > 0);
        const r = await c.query(
          `WITH
             e AS (INSERT INTO ${t}_entries (idx, leaf_hash, data) SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[])),
             n AS (INSERT INTO ${t}_nodes (level, idx, hash) SELECT * FROM unnest($4::int[], $5::bigint[], $6::bytea[]) ON CONFLICT (level, idx) DO UPDATE SET hash = EXCLUDED.hash),
             s AS (INSERT INTO ${t}_state (id, size, compact, checkpoint) VALUES (1, $7::bigint, $8::bytea, $9::text)
                   ON CONFLICT (id) DO UPDATE SET size = EXCLUDED.size, compact = EXCLUDED.compact, checkpoint = EXCLUDED.checkpoint),
             k AS (INSERT INTO ${t}_checkpoints (size, note) VALUES ($7::bigint, $9::text) ON CONFLICT (size) DO UPDATE SET note = EXCLUDED.note),
             d AS (DELETE FROM ${t}_queue WHERE id = ANY($10::bigint[]) RETURNING 1),
             a AS (INSERT INTO ${t}_acks (id, idx, size) SELECT q.id, q.idx, $7::bigint FROM unnest($11::bigint[], $12::bigint[]) AS q(id, idx))
           SELECT (SELECT count(*) FROM d)::int AS consumed,
                  (SELECT count(*) FROM (SELECT pg_notify($13::text, $7::text) WHERE cardinality($10::bigint[]) > 0) x)::int AS notified`,
          [
            b.entries.map((_, i) => b.startIndex + i),
            b.leafHashes.map((h) => Buffer.from(h)),
            b.entries.map((e) => Buffer.from(e)),
            nodes.map((n) => n.level),
            nodes.map((n) => n.index),
            nodes.map((n) => Buffer.from(n.hash)),
            b.size,
            Buffer.concat(b.compact),
            b.checkpoint,
            consumed,
            acks.map((a) => a.id),
            acks.map((a) => a.index),
            this.channels.ack,
          ],
        );
        const got = (r.rows[0] as { consumed: number }).consumed;
        if (got !== consumed.length) throw new EvidentError('LOG_CONFLICT', `${consumed.length - got} claimed queue row(s) were withdrawn or committed meanwhile`);
        await c.query('COMMIT');
      } catch (e) {
        await c.query('ROLLBACK').catch(() => {});
        throw e;
      }
    } finally {
      c.release();
    }
  }

  private leafIndexReady = false;

  /**
   * De-duplication looks entries up by leaf hash. As on SQLite, the index over random 32-byte hashes is created
   * when a de-duplicating writer first asks (once there, PostgreSQL maintains it for every writer), so logs that
   * never de-duplicate do not pay for it on every append.
   */
  async findLeaves(hashes: Uint8Array[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (hashes.length === 0) return out;
    if (!this.leafIndexReady) {
      try {
        await this.pool.query(`CREATE INDEX IF NOT EXISTS ${this.t}_entries_leaf ON ${this.t}_entries (leaf_hash)`);
      } catch (e) {
        // another process created it at the same moment (duplicate relation / unique catalog row): it exists
        if (!['42P07', '23505'].includes((e as { code?: string }).code ?? '')) throw e;
      }
      this.leafIndexReady = true;
    }
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
    // a named (prepared once per connection) statement: planning costs as much as running this point query
    const r = await this.pool.query({
      name: `${this.t}_get_nodes`,
      text: `SELECT 0 AS level, idx, leaf_hash AS hash FROM ${this.t}_entries WHERE idx = ANY($1::bigint[])
       UNION ALL
       SELECT n.level, n.idx, n.hash FROM ${this.t}_nodes n JOIN unnest($2::int[], $3::bigint[]) AS q(level, idx) ON n.level = q.level AND n.idx = q.idx`,
      values: [leaves, inner.map((i) => i.level), inner.map((i) => i.index)],
    });
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

  async updateCheckpointNote(size: number, note: string): Promise<void> {
    await this.pool.query(
      `WITH c AS (UPDATE ${this.t}_checkpoints SET note = $1::text WHERE size = $2::bigint)
       UPDATE ${this.t}_state SET checkpoint = $1::text WHERE id = 1 AND size = $2::bigint`,
      [note, size],
    );
  }

  // ---- the sequencer role and the forwarding queue (SharedQueue)

  get holdsRole(): boolean {
    return this.holding;
  }

  setQueueEvents(h: QueueEvents | undefined): void {
    this.events = h;
  }

  /** The control connection (opened on first use, again after it was lost): LISTENs on the ack channel. */
  private controlClient(): Promise<pg.Client> {
    if (this.control) return Promise.resolve(this.control);
    if (this.closed) return Promise.reject(new EvidentError('INPUT_INVALID', 'log storage is closed'));
    if (!this.connect) return Promise.reject(new EvidentError('INPUT_INVALID', 'this storage has no control connection'));
    this.controlOpening ??= (async () => {
      const c = await this.connect!();
      let gone = false;
      const onGone = (): void => {
        if (gone) return;
        gone = true;
        const held = this.control === c && this.holding;
        if (this.control === c) {
          this.control = undefined;
          this.holding = false;
        }
        c.end().catch(() => {});
        if (held) this.events?.lost();
      };
      // the listener stays for good: a late error on a dead connection must never be an uncaught exception
      c.on('error', onGone);
      c.on('end', onGone);
      c.on('notification', (m) => {
        if (m.channel === this.channels.enqueue) this.events?.enqueued();
        else if (m.channel === this.channels.ack) this.events?.acked();
      });
      try {
        // A dead peer (host gone without closing TCP) must not keep the role lock for hours: let the server probe.
        await c.query('SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 3; SET tcp_keepalives_count = 3').catch(() => {});
        await c.query(`LISTEN ${this.channels.ack}`);
      } catch (e) {
        onGone();
        throw e;
      }
      if (gone) throw new EvidentError('IO_ERROR', 'PostgreSQL control connection lost');
      if (this.closed) {
        await c.end().catch(() => {});
        throw new EvidentError('INPUT_INVALID', 'log storage is closed');
      }
      this.control = c;
      return c;
    })().finally(() => {
      this.controlOpening = undefined;
    });
    return this.controlOpening;
  }

  /** Take the sequencer role if free (pg_try_advisory_lock on the control connection); true while held. */
  async acquireSequencerLock(): Promise<boolean> {
    if (this.holding) return true;
    const c = await this.controlClient();
    const r = await c.query('SELECT pg_try_advisory_lock($1) AS ok', [this.roleKey]);
    if (!(r.rows[0] as { ok: boolean }).ok) return false;
    if (this.control !== c) return false; // lost while asking: the session (and the lock) is gone
    this.holding = true;
    try {
      await c.query(`LISTEN ${this.channels.enqueue}`);
    } catch {
      return this.holding; // the connection broke: onGone already dropped the role
    }
    return this.holding;
  }

  async enqueue(items: Array<{ data: Uint8Array; dedupe: boolean }>): Promise<string[]> {
    if (items.length === 0) return [];
    const r = await this.pool.query(
      `WITH ins AS (INSERT INTO ${this.t}_queue (data, dedupe) SELECT * FROM unnest($1::bytea[], $2::bool[]) RETURNING id),
            n AS (SELECT pg_notify($3::text, '') AS x)
       SELECT ins.id::text AS id FROM ins, n`,
      [items.map((i) => Buffer.from(i.data)), items.map((i) => i.dedupe), this.channels.enqueue],
    );
    // ids come from one sequence, drawn in the order unnest yields the rows (the array order)
    const ids = (r.rows as Array<{ id: string }>).map((x) => x.id).sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
    if (ids.length !== items.length) throw new EvidentError('IO_ERROR', `queued ${ids.length} of ${items.length} entries`);
    return ids;
  }

  async claimQueue(limit: number): Promise<QueuedEntry[]> {
    if (limit <= 0) return [];
    const r = await this.pool.query(`SELECT id::text AS id, data, dedupe FROM ${this.t}_queue ORDER BY id LIMIT $1`, [limit]);
    return (r.rows as Array<{ id: string; data: Buffer; dedupe: boolean }>).map((x) => ({ id: x.id, data: new Uint8Array(x.data), dedupe: x.dedupe }));
  }

  async takeAcks(ids: string[]): Promise<QueueAck[]> {
    if (ids.length === 0) return [];
    const r = await this.pool.query(
      `WITH d AS (DELETE FROM ${this.t}_acks WHERE id = ANY($1::bigint[]) RETURNING id, idx, size)
       SELECT d.id::text AS id, d.idx, d.size, c.note FROM d JOIN ${this.t}_checkpoints c ON c.size = d.size`,
      [ids],
    );
    return (r.rows as Array<{ id: string; idx: string; size: string; note: string }>).map((x) => ({ id: x.id, index: Number(x.idx), size: Number(x.size), checkpoint: x.note }));
  }

  async withdraw(ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const r = await this.pool.query(`DELETE FROM ${this.t}_queue WHERE id = ANY($1::bigint[]) RETURNING id::text AS id`, [ids]);
    return (r.rows as Array<{ id: string }>).map((x) => x.id);
  }

  async purgeAcks(olderThanSeconds: number): Promise<void> {
    await this.pool.query(`DELETE FROM ${this.t}_acks WHERE created < now() - make_interval(secs => $1)`, [olderThanSeconds]);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.events = undefined;
    await this.controlOpening?.catch(() => {});
    const c = this.control;
    if (c) {
      this.control = undefined;
      if (this.holding) await c.query('SELECT pg_advisory_unlock($1)', [this.roleKey]).catch(() => {});
      this.holding = false;
      await c.end().catch(() => {}); // the session is gone (LISTENs, any lock) when close() resolves
    }
    if (this.onClose) await this.onClose();
  }
}
