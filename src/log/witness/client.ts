/**
 * The log's side of C2SP tlog-witness: ask a witness to cosign a checkpoint, following 409 answers (the witness
 * knows another size: prove consistency from that size and retry), and keep only cosignatures that verify with
 * the witness's pinned vkey.
 */
import { EvidentError } from '../../kernel/errors.ts';
import { openNote, parseNote, parseVkey, type NoteVerifier, NOTE_SIG_COSIGNATURE_V1 } from '../../kernel/note.ts';
import { formatAddCheckpoint, TLOG_SIZE_CONTENT_TYPE } from './protocol.ts';

export interface WitnessEndpoint {
  name: string;
  verifier: NoteVerifier;
  /** Submission prefix: the request goes to <url>/add-checkpoint. */
  url: string;
}

/** Parse `NAME=VKEY@URL` (serve --witness). NAME is a label; the vkey's own name is the cosignature key name. */
export function parseWitnessSpec(spec: string): WitnessEndpoint {
  const eq = spec.indexOf('=');
  const at = spec.indexOf('@', eq + 1);
  if (eq <= 0 || at < 0) throw new EvidentError('INPUT_INVALID', `--witness must be NAME=VKEY@URL, got ${JSON.stringify(spec)}`);
  const verifier = parseVkey(spec.slice(eq + 1, at));
  if (verifier.type !== NOTE_SIG_COSIGNATURE_V1) throw new EvidentError('KEY_INVALID', `witness ${spec.slice(0, eq)}: the vkey must be a cosignature/v1 (type 0x04) key`);
  const url = spec.slice(at + 1).replace(/\/+$/, '');
  if (!/^https?:\/\/[^\s]+$/.test(url)) throw new EvidentError('INPUT_INVALID', `witness ${spec.slice(0, eq)}: URL must be http(s)://…`);
  return { name: spec.slice(0, eq), verifier, url };
}

export interface CosignOptions {
  /** Consistency proof from `from` to the checkpoint's size. */
  proof(from: number): Promise<Uint8Array[]>;
  /** The size the witness is believed to hold (from an earlier exchange); default 0 (learn it from the 409). */
  knownSize?: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export interface CosignResult {
  /** Verified cosignature line(s) by the witness key ("— name base64\n"). */
  lines: string[];
  /** The size the witness now holds. */
  size: number;
}

/**
 * Request a cosignature of `checkpoint` (a signed note of size `size`). Throws EvidentError WITNESS_FAILED with the
 * status and message when the witness refuses (422: it holds an inconsistent tree; 403/404: it does not know the
 * log) or cannot be reached.
 */
export async function requestCosignature(w: WitnessEndpoint, checkpoint: string, size: number, o: CosignOptions): Promise<CosignResult> {
  const doFetch = o.fetch ?? fetch;
  let old = Math.min(o.knownSize ?? 0, size);
  for (let attempt = 0; attempt < 3; attempt++) {
    const proof = old > 0 && old < size ? await o.proof(old) : [];
    let res: Response;
    let body: string;
    try {
      res = await doFetch(`${w.url}/add-checkpoint`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        body: formatAddCheckpoint({ oldSize: old, proof, checkpoint }),
        signal: AbortSignal.timeout(o.timeoutMs ?? 5000),
      });
      body = await res.text();
    } catch (e) {
      throw new EvidentError('WITNESS_FAILED', `witness ${w.name} unreachable: ${(e as Error).message}`);
    }
    if (res.status === 409 && (res.headers.get('content-type') ?? '').startsWith(TLOG_SIZE_CONTENT_TYPE)) {
      const m = /^(0|[1-9][0-9]{0,15})\n$/.exec(body);
      if (!m) throw new EvidentError('WITNESS_FAILED', `witness ${w.name}: malformed 409 body`);
      const known = Number(m[1]);
      if (known > size) throw new EvidentError('WITNESS_FAILED', `witness ${w.name} holds size ${known}, larger than this checkpoint (${size}): the log was rolled back or forked`);
      if (known === old) throw new EvidentError('WITNESS_FAILED', `witness ${w.name} holds a different tree at size ${known}`);
      old = known;
      continue;
    }
    if (res.status !== 200) throw new EvidentError('WITNESS_FAILED', `witness ${w.name} answered ${res.status}: ${body.trim().slice(0, 200)}`);
    // keep only lines by the pinned witness key that verify over this checkpoint
    const lines = body.split('\n').filter((l) => l.length > 0).map((l) => l + '\n');
    const text = parseNote(checkpoint).text;
    const good: string[] = [];
    for (const line of lines) {
      try {
        const opened = openNote(text + '\n' + line, [w.verifier]);
        if (opened.verified.length === 1) good.push(line);
      } catch {
        // a bad or foreign line is ignored (the spec: clients MUST ignore cosignatures from unknown keys)
      }
    }
    if (good.length === 0) throw new EvidentError('WITNESS_FAILED', `witness ${w.name} returned no cosignature that verifies with its key`);
    return { lines: good, size };
  }
  throw new EvidentError('WITNESS_FAILED', `witness ${w.name}: size negotiation did not converge`);
}
