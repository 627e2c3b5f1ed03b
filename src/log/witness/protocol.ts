/**
 * C2SP tlog-witness v1 wire format and the witness's decision (c2sp.org/tlog-witness, c2sp.org/tlog-cosignature).
 *
 *   POST <prefix>/add-checkpoint
 *   old <decimal size>\n
 *   <base64 consistency proof hash>\n …   (at most 63; none when old is 0)
 *   \n
 *   <signed checkpoint note>
 *
 * Answers: 200 + cosignature/v1 note signature lines; 400 malformed / old > size; 403 no trusted log signature
 * verifies; 404 unknown origin; 409 + `text/x.tlog.size` body "<known size>\n" when old differs from the size the
 * witness last cosigned (or the sizes are equal and the roots differ); 422 the consistency proof does not verify.
 * The check of the old size against the stored state and the update are one compare-and-set: two inconsistent
 * trees are never both cosigned, and a tree is never rolled back.
 */
import { EvidentError } from '../../kernel/errors.ts';
import { parseBase64, toBase64 } from '../../kernel/encoding.ts';
import { noteSignatureLine, openNote, parseNote, NOTE_SIG_COSIGNATURE_V1, type NoteSigner, type NoteVerifier } from '../../kernel/note.ts';
import { timingSafeEqualBytes } from '../../kernel/digest.ts';
import { HASH_SIZE, verifyConsistency } from '../merkle.ts';
import { parseCheckpoint, type Checkpoint } from '../checkpoint.ts';

export const MAX_PROOF_LINES = 63;
export const ADD_CHECKPOINT_MAX_BYTES = 1024 * 1024 + 64 * 70;
export const TLOG_SIZE_CONTENT_TYPE = 'text/x.tlog.size';

export interface AddCheckpointRequest {
  oldSize: number;
  proof: Uint8Array[];
  /** The signed checkpoint note, verbatim. */
  checkpoint: string;
}

export function formatAddCheckpoint(r: AddCheckpointRequest): string {
  if (!Number.isSafeInteger(r.oldSize) || r.oldSize < 0) throw new EvidentError('INPUT_INVALID', 'old size must be a non-negative integer');
  if (r.proof.length > MAX_PROOF_LINES) throw new EvidentError('INPUT_INVALID', `more than ${MAX_PROOF_LINES} consistency proof lines`);
  return `old ${r.oldSize}\n${r.proof.map((h) => toBase64(h) + '\n').join('')}\n${r.checkpoint}`;
}

/** Strict parse of an add-checkpoint body. Throws INPUT_INVALID. */
export function parseAddCheckpoint(body: string): AddCheckpointRequest {
  if (typeof body !== 'string' || body.length > ADD_CHECKPOINT_MAX_BYTES) throw new EvidentError('INPUT_INVALID', 'add-checkpoint body missing or too large');
  const split = body.indexOf('\n\n');
  if (split < 0) throw new EvidentError('INPUT_INVALID', 'add-checkpoint: no empty line before the checkpoint');
  const head = body.slice(0, split).split('\n');
  const m = /^old (0|[1-9][0-9]{0,15})$/.exec(head[0]!);
  if (!m || !Number.isSafeInteger(Number(m[1]))) throw new EvidentError('INPUT_INVALID', 'add-checkpoint: first line must be "old <size>"');
  const lines = head.slice(1);
  if (lines.length > MAX_PROOF_LINES) throw new EvidentError('INPUT_INVALID', `add-checkpoint: more than ${MAX_PROOF_LINES} proof lines`);
  const proof = lines.map((l, i) => {
    let h: Uint8Array;
    try {
      h = parseBase64(l);
    } catch {
      throw new EvidentError('INPUT_INVALID', `add-checkpoint: proof line ${i + 1} is not standard base64`);
    }
    if (h.length !== HASH_SIZE) throw new EvidentError('INPUT_INVALID', `add-checkpoint: proof line ${i + 1} is not a 32-byte hash`);
    return h;
  });
  return { oldSize: Number(m[1]), proof, checkpoint: body.slice(split + 2) };
}

/** The latest checkpoint a witness verified (and cosigned) for one log. */
export interface WitnessedState {
  origin: string;
  size: number;
  rootHash: Uint8Array;
  /** The signed checkpoint note as received. */
  checkpoint: string;
}

/** Durable per-log state (SQLite / PostgreSQL: state.ts). */
export interface WitnessStateStore {
  get(origin: string): Promise<WitnessedState | undefined>;
  /**
   * Atomically replace the state of `next.origin` if it is still `prev` (undefined: no state yet). False when
   * another request changed it first (the caller re-reads and answers 409).
   */
  compareAndSet(prev: WitnessedState | undefined, next: WitnessedState): Promise<boolean>;
  /** Keep a refused, log-signed request as evidence of misbehaviour (optional). */
  recordEvidence?(origin: string, reason: string, request: string): Promise<void>;
  close(): Promise<void>;
}

export interface WitnessResponse {
  status: number;
  contentType: string;
  body: string;
}

const text = (status: number, body: string): WitnessResponse => ({ status, contentType: 'text/plain; charset=utf-8', body: body.endsWith('\n') ? body : body + '\n' });

/** A tlog-witness: trusted log keys (by origin = key name), a cosigning key and the state store. */
export class Witness {
  private readonly logs = new Map<string, NoteVerifier[]>();
  /** Serialises requests per origin inside this process (the store's compare-and-set covers other processes). */
  private readonly chains = new Map<string, Promise<unknown>>();

  constructor(
    readonly signer: NoteSigner,
    logKeys: NoteVerifier[],
    private readonly store: WitnessStateStore,
    private readonly now: () => number = () => Math.floor(Date.now() / 1000),
  ) {
    if (signer.type !== NOTE_SIG_COSIGNATURE_V1) throw new EvidentError('KEY_INVALID', 'the witness key must be a cosignature/v1 (type 0x04) signer');
    for (const k of logKeys) {
      const list = this.logs.get(k.name) ?? [];
      list.push(k);
      this.logs.set(k.name, list);
    }
  }

  origins(): string[] {
    return [...this.logs.keys()];
  }

  /** Handle one add-checkpoint request body. Never throws for bad input: the status says what went wrong. */
  async addCheckpoint(body: string): Promise<WitnessResponse> {
    let req: AddCheckpointRequest;
    let cp: Checkpoint;
    let noteText: string;
    try {
      req = parseAddCheckpoint(body);
      noteText = parseNote(req.checkpoint).text;
      cp = parseCheckpoint(noteText);
    } catch (e) {
      return text(400, (e as Error).message);
    }
    const keys = this.logs.get(cp.origin);
    if (!keys) return text(404, `unknown log origin ${JSON.stringify(cp.origin)}`);
    try {
      const opened = openNote(req.checkpoint, keys);
      if (!opened.verified.some((v) => keys.some((k) => k.name === v.name && k.keyHash === v.keyHash && v.type === k.type))) throw new Error('no trusted log signature');
    } catch (e) {
      return text(403, `checkpoint signature: ${(e as Error).message}`);
    }
    if (req.oldSize > cp.size) return text(400, `old size ${req.oldSize} is larger than the checkpoint size ${cp.size}`);
    if (req.oldSize === 0 && req.proof.length > 0) return text(400, 'the consistency proof must be empty when the old size is 0');
    // one request per origin at a time here; the compare-and-set makes it safe across processes too
    const prevChain = this.chains.get(cp.origin) ?? Promise.resolve();
    const run = prevChain.then(() => this.decide(cp, req, noteText));
    const settled = run.catch(() => undefined);
    this.chains.set(cp.origin, settled);
    void settled.then(() => {
      if (this.chains.get(cp.origin) === settled) this.chains.delete(cp.origin);
    });
    return run;
  }

  private async decide(cp: Checkpoint, req: AddCheckpointRequest, noteText: string): Promise<WitnessResponse> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const state = await this.store.get(cp.origin);
      const known = state?.size ?? 0;
      if (req.oldSize !== known) return { status: 409, contentType: TLOG_SIZE_CONTENT_TYPE, body: `${known}\n` };
      if (state && req.oldSize === cp.size) {
        if (!timingSafeEqualBytes(state.rootHash, cp.rootHash)) {
          await this.store.recordEvidence?.(cp.origin, `same size ${cp.size}, different root`, formatAddCheckpoint(req));
          return { status: 409, contentType: TLOG_SIZE_CONTENT_TYPE, body: `${known}\n` };
        }
        if (req.proof.length > 0) return text(422, 'the consistency proof must be empty for equal sizes');
      } else if (state && state.size > 0 && !verifyConsistency(state.size, cp.size, req.proof, state.rootHash, cp.rootHash)) {
        await this.store.recordEvidence?.(cp.origin, `inconsistent with the cosigned size ${state.size}`, formatAddCheckpoint(req));
        return text(422, `the consistency proof from size ${state.size} to ${cp.size} does not verify`);
      }
      const next: WitnessedState = { origin: cp.origin, size: cp.size, rootHash: cp.rootHash, checkpoint: req.checkpoint };
      if (!(await this.store.compareAndSet(state, next))) continue; // changed under us: decide again on the new state
      return { status: 200, contentType: 'text/plain; charset=utf-8', body: noteSignatureLine(this.signer, noteText, this.now()) };
    }
    const state = await this.store.get(cp.origin);
    return { status: 409, contentType: TLOG_SIZE_CONTENT_TYPE, body: `${state?.size ?? 0}\n` };
  }
}
