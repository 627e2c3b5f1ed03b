/**
 * The sequencer: batches appends (size or time bound), computes the new tree state incrementally (compact range),
 * signs a checkpoint over it and commits entries + new perfect nodes + tree state + checkpoint in ONE transaction
 * before acknowledging any of them. A crash before the commit loses only unacknowledged entries; a crash can never
 * leave a checkpoint that does not match the stored tree (they are written together).
 *
 * SQLite: one process sequences (the file lock serialises writers; a second writer reloads and retries).
 *
 * PostgreSQL (a {@link SharedQueue}): several processes may share one log. The process holding the sequencer
 * role (a session advisory lock) sequences its own appends and drains the other processes' forwarded appends from
 * the queue table in the same batches (the DELETE of the claimed rows and their ack rows are part of the commit).
 * Every other process forwards: it INSERTs its appends into the queue and resolves them from their ack rows
 * (NOTIFY + poll). It keeps trying to take the role every `pollMs` and, once it has it, reloads the tree state and
 * drains whatever is queued — including entries forwarded by a process that died before they were acknowledged.
 */
import { EvidentError } from '../kernel/errors.ts';
import type { NoteSigner } from '../kernel/note.ts';
import { CompactRange, assembleProof, hashLeaf, inclusionProofPlan, type NodeId } from './merkle.ts';
import { signCheckpoint } from './checkpoint.ts';
import { ENTRY_MAX_BYTES } from './tiles.ts';
import type { LogState, LogStorage } from './storage/types.ts';

export interface AppendResult {
  index: number;
  leafHash: string;
  size: number;
  checkpoint: string;
  /**
   * Inclusion proof of `index` in the tree of `size` (the checkpoint's), built from the batch in memory on request
   * — when this process sequenced the entry (not for de-duplicated or forwarded appends: undefined or absent).
   */
  batchProof?: () => Uint8Array[] | undefined;
}

interface Pending {
  data: Uint8Array;
  dedupe: boolean;
  resolve: (r: AppendResult) => void;
  reject: (e: unknown) => void;
  /** When forwarded: ms timestamp of the INSERT; withdrawal already tried. */
  since?: number;
  withdrawTried?: boolean;
}

/** A forwarded append waiting in the queue table. */
export interface QueuedEntry {
  id: string;
  data: Uint8Array;
  dedupe: boolean;
}

/** An acknowledgement of a forwarded append (the checkpoint is the one signed at `size`). */
export interface QueueAck {
  id: string;
  index: number;
  size: number;
  checkpoint: string;
}

/** What a commit that drains forwarded appends adds to the batch (same transaction). */
export interface SharedCommit {
  /** Queue ids consumed: all must still be queued at commit time, else the commit fails with LOG_CONFLICT. */
  consumed: string[];
  /** Ack rows for the consumed ids whose forwarder is another process (size = the batch's size). */
  acks: Array<{ id: string; index: number }>;
}

export interface QueueEvents {
  /** Another process queued appends (only delivered while holding the role). */
  enqueued(): void;
  /** The sequencer committed acks. */
  acked(): void;
  /** The role lock was lost (control connection gone). */
  lost(): void;
}

/** Cross-process sequencing over a shared database (storage/postgres.ts). */
export interface SharedQueue {
  readonly holdsRole: boolean;
  acquireSequencerLock(): Promise<boolean>;
  setQueueEvents(h: QueueEvents | undefined): void;
  enqueue(items: Array<{ data: Uint8Array; dedupe: boolean }>): Promise<string[]>;
  claimQueue(limit: number): Promise<QueuedEntry[]>;
  takeAcks(ids: string[]): Promise<QueueAck[]>;
  withdraw(ids: string[]): Promise<string[]>;
  purgeAcks(olderThanSeconds: number): Promise<void>;
}

export interface SequencerOptions {
  origin: string;
  signer: NoteSigner;
  batchSize?: number;
  /**
   * Linger before an idle sequencer starts a batch. Default 0 = group commit: the appends of one event-loop turn
   * start a batch at once, and appends that arrive while a commit runs form the next one (so batches grow with
   * load and latency stays one commit). A positive value waits that long to fill a batch (up to batchSize).
   */
  batchMs?: number;
  dedupe?: boolean;
  /** Largest entry accepted (default and upper bound: ENTRY_MAX_BYTES, the tlog-tiles entry-bundle limit). */
  maxEntryBytes?: number;
  maxPending?: number;
  /** Shared log: role attempts and ack polls every pollMs (default 250); the sequencer polls the queue every max(pollMs, 1000). */
  pollMs?: number;
  /** Shared log: a forwarded append not acknowledged after this long is withdrawn from the queue (default 30 s). */
  forwardTimeoutMs?: number;
}

const LOG_TIMEOUT = 'LOG_TIMEOUT';
const ACK_RETENTION_S = 600;

export class Sequencer {
  private queue: Pending[] = [];
  /** Appends forwarded to the queue table (shared logs), by queue id, waiting for their acknowledgement. */
  private forwarded = new Map<string, Pending>();
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private running: Promise<void> | undefined;
  private readonly batchSize: number;
  private readonly batchMs: number;
  private readonly maxEntryBytes: number;
  private readonly maxPending: number;
  private readonly pollMs: number;
  private readonly forwardTimeoutMs: number;
  private closed = false;
  /** This process commits (always for SQLite; for a shared log while it holds the role). */
  private role: boolean;
  /** The queue table may hold rows for us (notification, poll, take-over, a full claim). */
  private remoteHint = false;
  private tickTimer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private lastQueuePoll = 0;
  private lastPurge = 0;
  private collecting: Promise<void> | undefined;
  private collectAgain = false;
  /** The role was just taken: the previous sequencer advanced the tree, reload before the next commit. */
  private stateStale = false;
  private closing = false;

  constructor(
    private readonly storage: LogStorage,
    private state: LogState,
    private readonly opts: SequencerOptions,
    private readonly shared?: SharedQueue,
  ) {
    this.batchSize = Math.max(1, Math.min(opts.batchSize ?? 256, 65536));
    this.batchMs = Math.max(0, opts.batchMs ?? 0);
    this.maxEntryBytes = Math.min(opts.maxEntryBytes ?? ENTRY_MAX_BYTES, ENTRY_MAX_BYTES);
    this.maxPending = opts.maxPending ?? 1_000_000;
    this.pollMs = Math.max(10, opts.pollMs ?? 250);
    this.forwardTimeoutMs = Math.max(100, opts.forwardTimeoutMs ?? 30_000);
    this.role = shared ? shared.holdsRole : true;
    if (shared) {
      this.remoteHint = this.role;
      shared.setQueueEvents({
        enqueued: () => this.onEnqueued(),
        acked: () => void this.collectAcks(),
        lost: () => this.onLost(),
      });
      this.scheduleTick(this.role ? 0 : this.pollMs);
    }
  }

  get committed(): LogState {
    return this.state;
  }

  /** True while this process commits the log (SQLite: always; PostgreSQL: while it holds the sequencer role). */
  get isSequencer(): boolean {
    return this.role;
  }

  /** Appends waiting in this process: queued for the next commit, and forwarded to the sequencer but not yet acknowledged. */
  get pending(): { queued: number; forwarded: number } {
    return { queued: this.queue.length, forwarded: this.forwarded.size };
  }

  append(data: Uint8Array): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new EvidentError('INPUT_INVALID', 'log is closed'));
    if (data.length > this.maxEntryBytes) return Promise.reject(new EvidentError('ENTRY_TOO_LARGE', `entry of ${data.length} bytes is larger than ${this.maxEntryBytes} bytes (the tlog-tiles entry-bundle limit)`));
    if (this.queue.length + this.forwarded.size >= this.maxPending) return Promise.reject(new EvidentError('LOG_BUSY', 'too many pending appends'));
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ data, dedupe: this.opts.dedupe ?? false, resolve, reject });
      if (this.queue.length >= this.batchSize) this.kick();
      else if (this.running) {
        // group commit: appends arriving during a commit form the next batch, taken by the running loop
      } else if (!this.timer) this.timer = this.batchMs > 0 ? setTimeout(() => this.kick(), this.batchMs) : setImmediate(() => this.kick());
    });
  }

  private kick(): void {
    if (this.timer) {
      if (this.batchMs > 0) clearTimeout(this.timer as NodeJS.Timeout);
      else clearImmediate(this.timer as NodeJS.Immediate);
      this.timer = undefined;
    }
    if (this.running) return;
    if (!(this.queue.length > 0 || this.remotePass())) return;
    this.running = (async () => {
      // Never finish synchronously: the finally below must run after `this.running` is assigned, or a stale
      // resolved promise stays in `running` (kick() would then never start a loop again and drain() would spin).
      await undefined;
      try {
        while (this.queue.length > 0 || this.remotePass()) {
          if (this.role) {
            await this.sequenceBatch(this.takeLocal());
            if (this.closing) this.remoteHint = false; // one last pass over the queue table, not an endless one
          } else await this.forwardBatch(this.queue.splice(0, this.batchSize));
        }
      } finally {
        this.running = undefined;
      }
    })();
  }

  /** A batch for queued (forwarded) rows alone is due: this process sequences, rows may wait, not closed. */
  private remotePass(): boolean {
    return this.role && this.remoteHint && !this.closed;
  }

  /** Local appends for the next batch: leaves room for queued (forwarded) rows when there may be some. */
  private takeLocal(): Pending[] {
    if (!this.shared || !this.remoteHint) return this.queue.splice(0, this.batchSize);
    return this.queue.splice(0, Math.ceil(this.batchSize / 2));
  }

  /** Wait for every queued append to be committed (or failed), forwarded ones included. */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.running || this.forwarded.size > 0) {
      if (!this.running && this.queue.length > 0) this.kick();
      if (this.running) await this.running;
      else await new Promise((r) => setTimeout(r, 10));
    }
  }

  async close(): Promise<void> {
    if (this.shared && this.role && !this.closed) {
      // hand over cleanly: one last pass over what other processes queued
      this.closing = true;
      this.remoteHint = true;
      this.kick();
    }
    await this.drain();
    this.closed = true;
    if (this.tickTimer) clearTimeout(this.tickTimer);
    this.tickTimer = undefined;
    await this.ticking;
    await this.running; // a take-over by the last tick may have started a pass
    await this.collecting;
    this.shared?.setQueueEvents(undefined);
  }

  // ---- sequencing

  private async sequenceBatch(local: Pending[]): Promise<void> {
    if (this.stateStale) {
      try {
        this.state = await this.storage.loadState();
        this.stateStale = false;
      } catch (e) {
        for (const p of local) p.reject(e);
        return;
      }
    }
    for (let attempt = 0; ; attempt++) {
      let remote: QueuedEntry[] = [];
      if (this.shared && this.remoteHint) {
        this.remoteHint = false;
        const limit = this.batchSize - local.length;
        if (limit > 0) {
          try {
            remote = await this.shared.claimQueue(limit);
          } catch {
            remote = []; // the poll retries
          }
          if (remote.length === limit) this.remoteHint = true;
        } else this.remoteHint = true;
      }
      if (local.length === 0 && remote.length === 0) return;
      try {
        const results = await this.commitBatch(local, remote);
        remote.forEach((r, i) => {
          const p = this.forwarded.get(r.id);
          if (p) {
            this.forwarded.delete(r.id);
            p.resolve(results[i]!);
          }
        });
        local.forEach((p, i) => p.resolve(results[remote.length + i]!));
        return;
      } catch (e) {
        const conflict = (e as { code?: string }).code === 'LOG_CONFLICT';
        if (conflict && attempt < 5) {
          try {
            this.state = await this.storage.loadState();
          } catch (le) {
            for (const p of local) p.reject(le);
            return;
          }
          if (remote.length > 0) this.remoteHint = true; // rolled back: those rows are still queued (or withdrawn)
          if (this.shared && !this.role) {
            // another process sequences now: forward these instead
            this.queue.unshift(...local);
            return;
          }
          continue;
        }
        for (const p of local) p.reject(e);
        return;
      }
    }
  }

  private async commitBatch(local: Pending[], remote: QueuedEntry[]): Promise<AppendResult[]> {
    const items: Array<{ data: Uint8Array; dedupe: boolean }> = remote.length ? [...remote, ...local] : local;
    const n = items.length;
    const hashes = items.map((p) => hashLeaf(p.data));
    const keys = hashes.map((h) => Buffer.from(h).toString('hex'));
    const anyDedupe = items.some((p) => p.dedupe);
    const existing = anyDedupe ? await this.storage.findLeaves(hashes.filter((_, i) => items[i]!.dedupe)) : new Map<string, number>();
    const cr = new CompactRange(this.state.size, this.state.compact);
    const start = this.state.size;
    const entries: Uint8Array[] = [];
    const leafHashes: Uint8Array[] = [];
    const nodes: Array<NodeId & { hash: Uint8Array }> = [];
    const indexOf: number[] = [];
    const inBatch = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const k = keys[i]!;
      const dup = items[i]!.dedupe ? (existing.get(k) ?? inBatch.get(k)) : undefined;
      if (dup !== undefined) {
        indexOf.push(dup);
        continue;
      }
      const idx = cr.size;
      for (const node of cr.append(hashes[i]!)) nodes.push(node);
      entries.push(items[i]!.data);
      leafHashes.push(hashes[i]!);
      indexOf.push(idx);
      if (anyDedupe && !inBatch.has(k)) inBatch.set(k, idx);
    }
    const size = cr.size;
    const compact = cr.copyHashes();
    let checkpoint = this.state.checkpoint;
    if (entries.length > 0 || !checkpoint || remote.length > 0) {
      if (entries.length > 0 || !checkpoint) checkpoint = signCheckpoint({ origin: this.opts.origin, size, rootHash: cr.root() }, this.opts.signer);
      const batch = { startIndex: start, entries, leafHashes, nodes, size, compact, checkpoint };
      if (remote.length > 0) {
        const shared: SharedCommit = {
          consumed: remote.map((r) => r.id),
          acks: remote.flatMap((r, i) => (this.forwarded.has(r.id) ? [] : [{ id: r.id, index: indexOf[i]! }])),
        };
        await this.storage.commit({ ...batch, ...shared });
      } else await this.storage.commit(batch);
    }
    // Every node an inclusion proof of a leaf appended in this batch needs is either a node of the old compact
    // range or a node the batch created (left siblings inside [0, start) are old compact nodes; the rest lie in
    // the batch), so proofs come from memory instead of one storage read per node. Built on first request only.
    const oldCompact = this.state.compact;
    let known: Map<string, Uint8Array> | undefined;
    const proofOf = (idx: number) => (): Uint8Array[] | undefined => {
      if (idx < start) return undefined;
      if (!known) {
        known = new Map();
        CompactRange.nodeIds(start).forEach((id, k) => known!.set(`${id.level}/${id.index}`, oldCompact[k]!));
        for (const nd of nodes) known.set(`${nd.level}/${nd.index}`, nd.hash);
      }
      try {
        return assembleProof(inclusionProofPlan(idx, size), (id) => known!.get(`${id.level}/${id.index}`));
      } catch {
        return undefined;
      }
    };
    this.state = { size, compact, checkpoint };
    return items.map((_, i) => ({ index: indexOf[i]!, leafHash: keys[i]!, size, checkpoint: checkpoint!, batchProof: proofOf(indexOf[i]!) }));
  }

  // ---- forwarding (shared logs, while another process holds the role)

  private async forwardBatch(batch: Pending[]): Promise<void> {
    if (batch.length === 0) return;
    let ids: string[];
    try {
      ids = await this.shared!.enqueue(batch);
    } catch (e) {
      for (const p of batch) p.reject(e);
      return;
    }
    const now = Date.now();
    batch.forEach((p, i) => {
      p.since = now;
      this.forwarded.set(ids[i]!, p);
    });
  }

  /** Resolve forwarded appends from their ack rows (on NOTIFY and on every poll tick). */
  private collectAcks(): Promise<void> {
    if (!this.shared || this.forwarded.size === 0) return Promise.resolve();
    if (this.collecting) {
      this.collectAgain = true;
      return this.collecting;
    }
    this.collecting = (async () => {
      try {
        do {
          this.collectAgain = false;
          let acks: QueueAck[];
          try {
            acks = await this.shared!.takeAcks([...this.forwarded.keys()]);
          } catch {
            return; // the next tick retries
          }
          for (const a of acks) {
            const p = this.forwarded.get(a.id);
            if (!p) continue;
            this.forwarded.delete(a.id);
            p.resolve({ index: a.index, leafHash: Buffer.from(hashLeaf(p.data)).toString('hex'), size: a.size, checkpoint: a.checkpoint });
          }
        } while (this.collectAgain && this.forwarded.size > 0);
      } finally {
        this.collecting = undefined;
      }
    })();
    return this.collecting;
  }

  /** Forwarded appends older than forwardTimeoutMs: withdraw them if still queued (then they are certainly not logged). */
  private async expireForwarded(): Promise<void> {
    const now = Date.now();
    const old = [...this.forwarded].filter(([, p]) => !p.withdrawTried && now - p.since! > this.forwardTimeoutMs);
    if (old.length === 0) return;
    for (const [, p] of old) p.withdrawTried = true;
    let withdrawn: string[];
    try {
      withdrawn = await this.shared!.withdraw(old.map(([id]) => id));
    } catch (e) {
      for (const [id, p] of old) {
        if (!this.forwarded.delete(id)) continue;
        p.reject(new EvidentError(LOG_TIMEOUT, `not acknowledged within ${this.forwardTimeoutMs} ms and the queue is unreachable: the entry may or may not be logged (${(e as Error).message})`));
      }
      return;
    }
    for (const id of withdrawn) {
      const p = this.forwarded.get(id);
      if (!p) continue;
      this.forwarded.delete(id);
      p.reject(new EvidentError(LOG_TIMEOUT, `no sequencer acknowledged the entry within ${this.forwardTimeoutMs} ms; it was withdrawn and is not logged (safe to retry)`));
    }
    // the others were consumed by a committed batch: their acks are collected as usual
    if (withdrawn.length < old.length) void this.collectAcks();
  }

  // ---- role management (shared logs)

  private onEnqueued(): void {
    if (this.closed || !this.role) return;
    this.remoteHint = true;
    this.kick();
  }

  private onLost(): void {
    this.role = false;
    this.remoteHint = false;
    if (!this.closed && this.queue.length > 0) this.kick();
    this.scheduleTick(0);
  }

  private scheduleTick(ms: number): void {
    if (this.closed || !this.shared) return;
    if (this.tickTimer) clearTimeout(this.tickTimer);
    this.tickTimer = setTimeout(() => {
      this.tickTimer = undefined;
      if (this.ticking) return this.scheduleTick(this.pollMs);
      this.ticking = this.tick().finally(() => {
        this.ticking = undefined;
        this.scheduleTick(this.pollMs);
      });
    }, ms);
    this.tickTimer.unref();
  }

  private async tick(): Promise<void> {
    if (this.closed) return;
    const shared = this.shared!;
    const now = Date.now();
    if (!this.role) {
      let got = false;
      try {
        got = await shared.acquireSequencerLock();
      } catch {
        got = false; // database unreachable: try again next tick
      }
      if (got && !this.closed) await this.takeOver();
    } else if (now - this.lastQueuePoll >= Math.max(this.pollMs, 1000)) {
      this.lastQueuePoll = now;
      this.remoteHint = true;
      this.kick();
    }
    if (this.forwarded.size > 0) {
      await this.collectAcks();
      await this.expireForwarded();
    }
    if (this.role && now - this.lastPurge >= 60_000) {
      this.lastPurge = now;
      await shared.purgeAcks(ACK_RETENTION_S).catch(() => {});
    }
  }

  /**
   * This process just got the role: the next batch reloads the tree the previous sequencer committed, then the
   * queue is drained (rows this process forwarded itself are resolved directly; a forward still in flight lands in
   * the queue and is drained with the rest).
   */
  private async takeOver(): Promise<void> {
    this.stateStale = true;
    this.role = this.shared!.holdsRole;
    if (!this.role) return;
    this.remoteHint = true;
    this.kick();
  }
}
