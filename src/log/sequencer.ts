/**
 * The sequencer: batches appends (size or time bound), computes the new tree state incrementally (compact range),
 * signs a checkpoint over it and commits entries + new perfect nodes + tree state + checkpoint in ONE transaction
 * before acknowledging any of them. A crash before the commit loses only unacknowledged entries; a crash can never
 * leave a checkpoint that does not match the stored tree (they are written together).
 */
import { EvidentError } from '../kernel/errors.ts';
import type { NoteSigner } from '../kernel/note.ts';
import { CompactRange, hashLeaf, type NodeId } from './merkle.ts';
import { signCheckpoint } from './checkpoint.ts';
import type { LogState, LogStorage } from './storage/types.ts';

export interface AppendResult {
  index: number;
  leafHash: string;
  size: number;
  checkpoint: string;
}

interface Pending {
  data: Uint8Array;
  resolve: (r: AppendResult) => void;
  reject: (e: unknown) => void;
}

export interface SequencerOptions {
  origin: string;
  signer: NoteSigner;
  batchSize?: number;
  batchMs?: number;
  dedupe?: boolean;
  maxEntryBytes?: number;
  maxPending?: number;
}

export class Sequencer {
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly batchSize: number;
  private readonly batchMs: number;
  private readonly maxEntryBytes: number;
  private readonly maxPending: number;
  private closed = false;

  constructor(
    private readonly storage: LogStorage,
    private state: LogState,
    private readonly opts: SequencerOptions,
  ) {
    this.batchSize = Math.max(1, Math.min(opts.batchSize ?? 256, 65536));
    this.batchMs = Math.max(0, opts.batchMs ?? 100);
    this.maxEntryBytes = opts.maxEntryBytes ?? 16 * 1024 * 1024;
    this.maxPending = opts.maxPending ?? 1_000_000;
  }

  get committed(): LogState {
    return this.state;
  }

  append(data: Uint8Array): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new EvidentError('INPUT_INVALID', 'log is closed'));
    if (data.length > this.maxEntryBytes) return Promise.reject(new EvidentError('INPUT_INVALID', `entry larger than ${this.maxEntryBytes} bytes`));
    if (this.queue.length >= this.maxPending) return Promise.reject(new EvidentError('LOG_BUSY', 'too many pending appends'));
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ data, resolve, reject });
      if (this.queue.length >= this.batchSize) this.kick();
      else if (!this.timer) this.timer = setTimeout(() => this.kick(), this.batchMs);
    });
  }

  private kick(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.running) return;
    this.running = (async () => {
      try {
        while (this.queue.length > 0) {
          const batch = this.queue.splice(0, this.batchSize);
          await this.flushBatch(batch);
        }
      } finally {
        this.running = undefined;
      }
    })();
  }

  /** Wait for every queued append to be committed (or failed). */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.running) {
      if (!this.running) this.kick();
      await this.running;
    }
  }

  async close(): Promise<void> {
    await this.drain();
    this.closed = true;
  }

  private async flushBatch(batch: Pending[]): Promise<void> {
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          const results = await this.commitBatch(batch);
          batch.forEach((p, i) => p.resolve(results[i]!));
          return;
        } catch (e) {
          if ((e as { code?: string }).code === 'LOG_CONFLICT' && attempt < 5) {
            this.state = await this.storage.loadState();
            continue;
          }
          throw e;
        }
      }
    } catch (e) {
      for (const p of batch) p.reject(e);
    }
  }

  private async commitBatch(batch: Pending[]): Promise<AppendResult[]> {
    const hashes = batch.map((p) => hashLeaf(p.data));
    const keys = hashes.map((h) => Buffer.from(h).toString('hex'));
    const existing = this.opts.dedupe ? await this.storage.findLeaves(hashes) : new Map<string, number>();
    const cr = new CompactRange(this.state.size, this.state.compact);
    const start = this.state.size;
    const entries: Uint8Array[] = [];
    const leafHashes: Uint8Array[] = [];
    const nodes: Array<NodeId & { hash: Uint8Array }> = [];
    const indexOf: number[] = [];
    const inBatch = new Map<string, number>();
    for (let i = 0; i < batch.length; i++) {
      const k = keys[i]!;
      const dup = this.opts.dedupe ? (existing.get(k) ?? inBatch.get(k)) : undefined;
      if (dup !== undefined) {
        indexOf.push(dup);
        continue;
      }
      const idx = cr.size;
      for (const n of cr.append(hashes[i]!)) nodes.push(n);
      entries.push(batch[i]!.data);
      leafHashes.push(hashes[i]!);
      indexOf.push(idx);
      if (this.opts.dedupe) inBatch.set(k, idx);
    }
    const size = cr.size;
    const compact = cr.copyHashes();
    let checkpoint = this.state.checkpoint;
    if (entries.length > 0 || !checkpoint) {
      checkpoint = signCheckpoint({ origin: this.opts.origin, size, rootHash: cr.root() }, this.opts.signer);
      await this.storage.commit({ startIndex: start, entries, leafHashes, nodes, size, compact, checkpoint });
    }
    this.state = { size, compact, checkpoint };
    return batch.map((_, i) => ({ index: indexOf[i]!, leafHash: keys[i]!, size, checkpoint: checkpoint! }));
  }
}
