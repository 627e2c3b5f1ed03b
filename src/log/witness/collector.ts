/**
 * The log's witness collector (`evident serve --witness NAME=VKEY@URL`): after each new checkpoint it asks every
 * configured witness for a cosignature (C2SP tlog-witness, client.ts) and adds the verified cosignature lines to
 * the checkpoint stored at that size, so `/checkpoint`, tlog-proofs and receipts carry them.
 *
 * Never in the append path: appends commit and answer whatever the witnesses do. A witness that is down or
 * refuses is retried on the next round (every `intervalMs`, and at once when nudged by a new append).
 * `waitFor(index, n)` lets a caller (POST /v1/receipts?cosigned=N) wait, bounded, for a checkpoint covering an
 * entry with n cosignatures.
 */
import { parseNote } from '../../kernel/note.ts';
import { parseCheckpoint } from '../checkpoint.ts';
import type { TransparencyLog } from '../index.ts';
import { requestCosignature, type WitnessEndpoint } from './client.ts';

export interface CollectorOptions {
  intervalMs?: number;
  timeoutMs?: number;
  onError?: (witness: string, e: Error) => void;
  fetch?: typeof fetch;
}

const keyOf = (w: WitnessEndpoint) => `${w.verifier.name}+${w.verifier.keyHash}`;

export class WitnessCollector {
  /** Size each witness was last seen holding (saves the 409 round trip). */
  private readonly known = new Map<string, number>();
  /** Tree size → witness keys whose cosignature is stored on that checkpoint (recent sizes only). */
  private readonly cosigned = new Map<number, Set<string>>();
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private waiters: Array<() => void> = [];

  constructor(
    private readonly log: TransparencyLog,
    readonly witnesses: WitnessEndpoint[],
    private readonly o: CollectorOptions = {},
  ) {}

  start(): void {
    if (this.witnesses.length === 0) return;
    this.timer = setInterval(() => this.nudge(), this.o.intervalMs ?? 1000);
    this.timer.unref();
    this.nudge();
  }

  /** A checkpoint may be new: run a round now (or right after the running one). */
  nudge(): void {
    if (this.closed || this.witnesses.length === 0) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.round().catch((e: Error) => this.o.onError?.('*', e));
          this.notify();
        } while (this.again && !this.closed);
      } finally {
        this.running = undefined;
      }
    })();
  }

  /** Cosignatures stored for the checkpoint of this size. */
  count(size: number): number {
    return this.cosigned.get(size)?.size ?? 0;
  }

  /**
   * Wait until a checkpoint whose tree contains entry `index` carries at least `quorum` cosignatures; resolves
   * with its size, or undefined after `timeoutMs`.
   */
  async waitFor(index: number, quorum: number, timeoutMs: number): Promise<number | undefined> {
    const until = Date.now() + timeoutMs;
    this.nudge();
    for (;;) {
      let best: number | undefined;
      for (const [size, set] of this.cosigned) if (size > index && set.size >= quorum && (best === undefined || size > best)) best = size;
      if (best !== undefined) return best;
      const left = until - Date.now();
      if (left <= 0 || this.closed) return undefined;
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, Math.min(left, 250));
        function done() {
          clearTimeout(t);
          resolve();
        }
        this.waiters.push(done);
      });
    }
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private async round(): Promise<void> {
    const note = await this.log.latestCheckpoint();
    const text = parseNote(note).text;
    const size = parseCheckpoint(text).size;
    // what the stored note carries is the truth (another instance may have added lines; a re-commit may drop them)
    const present = new Set(parseNote(note).signatures.map((s) => `${s.name}+${s.keyHash}`));
    const have = new Set(this.witnesses.map(keyOf).filter((k) => present.has(k)));
    this.remember(size, have);
    const todo = this.witnesses.filter((w) => !have.has(keyOf(w)));
    if (todo.length === 0) return;
    const results = await Promise.allSettled(
      todo.map((w) =>
        requestCosignature(w, note, size, {
          knownSize: this.known.get(keyOf(w)),
          proof: (from) => this.log.consistencyProof(from, size),
          timeoutMs: this.o.timeoutMs,
          fetch: this.o.fetch,
        }),
      ),
    );
    const lines: string[] = [];
    const got: string[] = [];
    results.forEach((r, i) => {
      const w = todo[i]!;
      if (r.status === 'fulfilled') {
        this.known.set(keyOf(w), r.value.size);
        lines.push(...r.value.lines);
        got.push(keyOf(w));
      } else {
        this.known.delete(keyOf(w));
        this.o.onError?.(w.name, r.reason as Error);
      }
    });
    if (lines.length === 0) return;
    // add the lines to the stored note of this size (the same checkpoint text: only signatures are appended)
    const stored = await this.log.storage.getCheckpoint(size);
    if (!stored || parseNote(stored).text !== text) return;
    const inStore = new Set(parseNote(stored).signatures.map((s) => `${s.name}+${s.keyHash}`));
    const add = lines.filter((l) => {
      const sig = parseNote(text + '\n' + l).signatures[0]!;
      const k = `${sig.name}+${sig.keyHash}`;
      if (inStore.has(k)) return false;
      inStore.add(k);
      return true;
    });
    if (add.length > 0) await this.log.storage.updateCheckpointNote(size, stored + add.join(''));
    for (const k of got) have.add(k);
    this.remember(size, have);
  }

  private remember(size: number, have: Set<string>): void {
    this.cosigned.set(size, have);
    // keep the recent sizes only
    if (this.cosigned.size > 64) for (const s of [...this.cosigned.keys()].sort((a, b) => a - b).slice(0, this.cosigned.size - 64)) this.cosigned.delete(s);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.notify();
    await this.running;
  }
}
