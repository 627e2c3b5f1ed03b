/** The storage interface both backends implement (src/log/storage/sqlite.ts, postgres.ts). */
import type { NodeId } from '../merkle.ts';

export interface LogMeta {
  origin: string;
  /** C2SP vkey of the log key. */
  vkey?: string;
  /** Path of the signing key file (never the key itself). */
  keyPath?: string;
}

export interface LogState {
  size: number;
  /** Compact range hashes for [0, size), largest subtree first. */
  compact: Uint8Array[];
  checkpoint?: string;
}

export interface CommitBatch {
  /** Must equal the stored size (optimistic check: a concurrent sequencer makes the commit fail). */
  startIndex: number;
  entries: Uint8Array[];
  leafHashes: Uint8Array[];
  nodes: Array<NodeId & { hash: Uint8Array }>;
  size: number;
  compact: Uint8Array[];
  checkpoint: string;
}

export interface LogStorage {
  readonly kind: 'sqlite' | 'postgres';
  init(): Promise<void>;
  getMeta(): Promise<LogMeta | undefined>;
  setMeta(meta: LogMeta): Promise<void>;
  loadState(): Promise<LogState>;
  /** Entries + leaf index + perfect nodes + tree state + checkpoint, in one transaction. */
  commit(b: CommitBatch): Promise<void>;
  findLeaves(hashes: Uint8Array[]): Promise<Map<string, number>>;
  getNodes(ids: NodeId[]): Promise<Map<string, Uint8Array>>;
  getEntry(index: number): Promise<Uint8Array | undefined>;
  getLeafHash(index: number): Promise<Uint8Array | undefined>;
  /** The signed checkpoint committed at exactly this tree size, if any. */
  getCheckpoint(size: number): Promise<string | undefined>;
  /**
   * Replace the note stored at `size` (and the state's, while the tree still has that size) by the same checkpoint
   * with more signatures — witness cosignatures collected after the commit. The caller checks the text is equal.
   */
  updateCheckpointNote(size: number, note: string): Promise<void>;
  /** Become the single sequencer (PostgreSQL advisory lock; SQLite: no-op, the file lock serialises writers). */
  acquireSequencerLock(): Promise<boolean>;
  close(): Promise<void>;
}

export const nodeKey = (id: NodeId): string => `${id.level}/${id.index}`;

export function checkTablePrefix(prefix: string): string {
  if (!/^[a-z_][a-z0-9_]{0,40}$/.test(prefix)) throw new Error(`invalid table prefix ${JSON.stringify(prefix)}`);
  return prefix;
}
