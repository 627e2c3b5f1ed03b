/**
 * Evident transparency log: RFC 6962 Merkle tree over SQLite or PostgreSQL, C2SP checkpoints and tlog-proofs.
 *
 *   const log = await openLog({ db: 'sqlite:./evident-data/evident.db', signer, origin: 'example.com/log' });
 *   const { index, checkpoint } = await log.append('hello');   // resolves after the covering checkpoint is committed
 *   const proof = await log.tlogProof(index);                  // offline receipt (c2sp.org/tlog-proof@v1)
 *
 * PostgreSQL logs may be shared by several processes: the one holding the sequencer role commits, the others
 * forward their appends through the database and take over when it dies (sequencer.ts, storage/postgres.ts).
 */
import type pg from 'pg';
import { EvidentError } from '../kernel/errors.ts';
import { utf8 } from '../kernel/encoding.ts';
import { formatVkey, type NoteSigner } from '../kernel/note.ts';
import { toPublicKey } from '../kernel/keys.ts';
import { openPgPool, openSqliteFile, parseDbUrl, pgLib, PG_DEADLINES } from '../store/db.ts';
import { assembleProof, consistencyProofPlan, inclusionProofPlan, planNodeIds } from './merkle.ts';
import { formatTlogProof } from './tlogproof.ts';
import { parseCheckpoint, signCheckpoint } from './checkpoint.ts';
import { Sequencer, type AppendResult } from './sequencer.ts';
import { SqliteLogStorage } from './storage/sqlite.ts';
import { PostgresLogStorage } from './storage/postgres.ts';
import { nodeKey, type LogMeta, type LogStorage } from './storage/types.ts';
import { emptyRoot } from './merkle.ts';

export * from './merkle.ts';
export * from './checkpoint.ts';
export * from './tlogproof.ts';
export * from './tiles.ts';
export { formatProofLines, parseProofLines } from './proof.ts';
export type { LogStorage, LogMeta } from './storage/types.ts';
export type { AppendResult } from './sequencer.ts';
export { sequencerLockKey, queueChannels } from './storage/postgres.ts';

export interface OpenLogOptions {
  /** sqlite:PATH | sqlite::memory: | postgres://… */
  db: string;
  signer?: NoteSigner;
  origin?: string;
  batchSize?: number;
  batchMs?: number;
  dedupe?: boolean;
  /** Table name prefix (default "tlog"); lets several logs share one database. */
  table?: string;
  /** Record this key file path in the log metadata (CLI `log init`). */
  keyPath?: string;
  /** PostgreSQL: role attempts / ack polls interval in ms (default 250). */
  pollMs?: number;
  /** PostgreSQL: a forwarded append not acknowledged after this long is withdrawn and fails with LOG_TIMEOUT (default 30000). */
  forwardTimeoutMs?: number;
}

export interface TransparencyLog {
  origin: string;
  append(data: Uint8Array | string): Promise<AppendResult>;
  size(): Promise<number>;
  latestCheckpoint(): Promise<string>;
  inclusionProof(index: number, size?: number): Promise<Uint8Array[]>;
  consistencyProof(from: number, to: number): Promise<Uint8Array[]>;
  tlogProof(index: number, size?: number, opts?: { extra?: Uint8Array }): Promise<string>;
  getEntry(index: number): Promise<Uint8Array | undefined>;
  /** Wait until every queued append is committed. */
  flush(): Promise<void>;
  /**
   * True while this handle sequences the log: SQLite with a signer, or PostgreSQL while it holds the sequencer
   * role. False for read-only handles and for PostgreSQL handles that forward their appends to another process.
   */
  isSequencer(): boolean;
  /** Appends waiting in this process (queued for the next commit; forwarded to the sequencer, unacknowledged). */
  pendingAppends?(): { queued: number; forwarded: number };
  meta(): Promise<LogMeta | undefined>;
  readonly storage: LogStorage;
  close(): Promise<void>;
}

export async function openStorage(db: string, table = 'tlog'): Promise<LogStorage> {
  const u = parseDbUrl(db);
  if (u.kind === 'sqlite') {
    // FULL: an acknowledged entry survives power loss, not only a process crash
    const h = openSqliteFile(u.path, { synchronous: 'FULL', busyTimeoutMs: 10_000 });
    const s = new SqliteLogStorage(h, table, async () => void h.close());
    await s.init();
    return s;
  }
  const pool = await openPgPool(u.url, 4);
  // the control connection of a signing handle (sequencer role lock + LISTEN) is its own client, outside the pool
  const control = async (): Promise<pg.Client> => {
    const c = new (pgLib().Client)({ connectionString: u.url, keepAlive: true, ...PG_DEADLINES });
    c.on('error', () => {}); // until the storage attaches its own handlers
    await c.connect();
    return c;
  };
  const s = new PostgresLogStorage(pool, table, () => pool.end(), control);
  await s.init();
  return s;
}

export async function openLog(opts: OpenLogOptions): Promise<TransparencyLog> {
  const storage = await openStorage(opts.db, opts.table);
  try {
    let meta = await storage.getMeta();
    const origin = opts.origin ?? meta?.origin ?? opts.signer?.name;
    if (!origin) throw new EvidentError('INPUT_INVALID', 'log not initialised: give an origin (evident log init --origin NAME)');
    if (meta && meta.origin !== origin) throw new EvidentError(
        'INPUT_INVALID',
        `log origin is ${JSON.stringify(meta.origin)}, not ${JSON.stringify(origin)}: a log's origin is fixed when it is created ` +
          '(every checkpoint names it; changing it would fork the log); keep the origin, or start a new log in a new database',
      );
    if (opts.signer && opts.signer.name !== origin) throw new EvidentError('KEY_INVALID', `signer name ${JSON.stringify(opts.signer.name)} must equal the log origin ${JSON.stringify(origin)}`);
    const vkey = opts.signer ? formatVkey(origin, toPublicKey(opts.signer.privateKey)) : undefined;
    if (meta?.vkey && vkey && meta.vkey !== vkey) throw new EvidentError('KEY_INVALID', 'signing key does not match the log key recorded at init');
    if (!meta || (vkey && !meta.vkey) || (opts.keyPath && meta.keyPath !== opts.keyPath)) {
      meta = { origin, vkey: meta?.vkey ?? vkey, keyPath: opts.keyPath ?? meta?.keyPath };
      await storage.setMeta(meta);
    }
    // PostgreSQL: exactly one signing process sequences (session advisory lock); the others forward
    const shared = opts.signer && storage instanceof PostgresLogStorage ? storage : undefined;
    if (shared) await shared.acquireSequencerLock();
    let state = await storage.loadState();
    if (state.checkpoint && parseCheckpoint(state.checkpoint.slice(0, state.checkpoint.indexOf('\n\n') + 1)).size !== state.size) {
      throw new EvidentError('IO_ERROR', 'stored checkpoint does not match the stored tree size');
    }
    if (!state.checkpoint && opts.signer && state.size === 0 && (!shared || shared.holdsRole)) {
      const checkpoint = signCheckpoint({ origin, size: 0, rootHash: emptyRoot() }, opts.signer);
      try {
        await storage.commit({ startIndex: 0, entries: [], leafHashes: [], nodes: [], size: 0, compact: [], checkpoint });
      } catch (e) {
        if ((e as { code?: string }).code !== 'LOG_CONFLICT') throw e;
      }
      state = await storage.loadState();
    }
    const seq = opts.signer
      ? new Sequencer(
          storage,
          state,
          { origin, signer: opts.signer, batchSize: opts.batchSize, batchMs: opts.batchMs, dedupe: opts.dedupe, pollMs: opts.pollMs, forwardTimeoutMs: opts.forwardTimeoutMs },
          shared,
        )
      : undefined;
    return new Log(origin, storage, seq);
  } catch (e) {
    await storage.close().catch(() => {});
    throw e;
  }
}

class Log implements TransparencyLog {
  /** Largest size seen committed: sizes only grow, so a proof for a size up to this needs no state read. */
  private knownSize = 0;

  constructor(
    readonly origin: string,
    readonly storage: LogStorage,
    private readonly seq: Sequencer | undefined,
  ) {}

  append(data: Uint8Array | string): Promise<AppendResult> {
    if (!this.seq) return Promise.reject(new EvidentError('KEY_NOT_FOUND', 'this log was opened without a signing key; appends need one'));
    return this.seq.append(typeof data === 'string' ? utf8(data) : data);
  }

  async size(): Promise<number> {
    const n = (await this.storage.loadState()).size;
    if (n > this.knownSize) this.knownSize = n;
    return n;
  }

  async latestCheckpoint(): Promise<string> {
    const s = await this.storage.loadState();
    if (!s.checkpoint) throw new EvidentError('INPUT_INVALID', 'the log has no checkpoint yet');
    return s.checkpoint;
  }

  private async checkSize(size: number | undefined): Promise<number> {
    if (size !== undefined && Number.isSafeInteger(size) && size >= 0 && size <= Math.max(this.knownSize, this.seq?.committed.size ?? 0)) return size;
    const cur = await this.size();
    const n = size ?? cur;
    if (!Number.isSafeInteger(n) || n < 0 || n > cur) throw new EvidentError('INPUT_INVALID', `tree size ${n} is not between 0 and the log size ${cur}`);
    return n;
  }

  async inclusionProof(index: number, size?: number): Promise<Uint8Array[]> {
    const n = await this.checkSize(size);
    const plan = inclusionProofPlan(index, n);
    const nodes = await this.storage.getNodes(planNodeIds(plan));
    return assembleProof(plan, (id) => nodes.get(nodeKey(id)));
  }

  async consistencyProof(from: number, to: number): Promise<Uint8Array[]> {
    const n = await this.checkSize(to);
    const plan = consistencyProofPlan(from, n);
    const nodes = await this.storage.getNodes(planNodeIds(plan));
    return assembleProof(plan, (id) => nodes.get(nodeKey(id)));
  }

  async tlogProof(index: number, size?: number, opts: { extra?: Uint8Array } = {}): Promise<string> {
    const state = await this.storage.loadState();
    let checkpoint = state.checkpoint;
    let n = state.size;
    if (size !== undefined && size !== state.size) {
      n = await this.checkSize(size);
      checkpoint = await this.storage.getCheckpoint(n);
      if (!checkpoint) throw new EvidentError('INPUT_INVALID', `no checkpoint was signed at tree size ${n} (checkpoints exist at batch boundaries)`);
    }
    if (!checkpoint) throw new EvidentError('INPUT_INVALID', 'the log has no checkpoint yet');
    const plan = inclusionProofPlan(index, n);
    const nodes = await this.storage.getNodes(planNodeIds(plan));
    const proof = assembleProof(plan, (id) => nodes.get(nodeKey(id)));
    return formatTlogProof({ index, proof, checkpoint, extra: opts.extra });
  }

  getEntry(index: number): Promise<Uint8Array | undefined> {
    if (!Number.isSafeInteger(index) || index < 0) return Promise.resolve(undefined);
    return this.storage.getEntry(index);
  }

  async flush(): Promise<void> {
    await this.seq?.drain();
  }

  isSequencer(): boolean {
    return this.seq?.isSequencer ?? false;
  }

  pendingAppends(): { queued: number; forwarded: number } {
    return this.seq?.pending ?? { queued: 0, forwarded: 0 };
  }

  meta(): Promise<LogMeta | undefined> {
    return this.storage.getMeta();
  }

  async close(): Promise<void> {
    try {
      await this.seq?.close();
    } finally {
      await this.storage.close();
    }
  }
}
