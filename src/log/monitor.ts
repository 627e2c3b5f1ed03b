/**
 * A log monitor over the tlog-tiles API alone (remote.ts): each check fetches the checkpoint, opens it with the
 * pinned log key (and witness keys / quorum), and proves it consistent with the last checkpoint it verified
 * (kept in a state file, written atomically and only after a check passed). Optionally (`audit`) it re-hashes
 * every new entry from the entry bundles against the verified tiles.
 *
 * Findings (exit 1 in the CLI): ROLLBACK (smaller tree), FORK (same size, other root; or no consistency),
 * TILES_INVALID (tiles or entries do not match the signed root), WITNESS_INVALID (a pinned witness's cosignature
 * does not verify), WITNESS_QUORUM (too few). Errors of the monitor itself (unreachable log, unreadable state
 * file, wrong key) are thrown as EvidentError.
 */
import fs from 'node:fs';
import { EvidentError } from '../kernel/errors.ts';
import { parseBase64, toBase64 } from '../kernel/encoding.ts';
import type { NoteVerifier } from '../kernel/note.ts';
import { timingSafeEqualBytes } from '../kernel/digest.ts';
import { writeFileAtomic } from '../store/atomic.ts';
import { openCheckpoint, parseCheckpoint } from './checkpoint.ts';
import { parseNote } from '../kernel/note.ts';
import { verifyConsistency } from './merkle.ts';
import { RemoteLog } from './remote.ts';

export interface MonitorState {
  origin: string;
  size: number;
  /** base64 */
  rootHash: string;
  checkpoint: string;
  checkedAt: string;
}

export interface MonitorOptions {
  url: string;
  logKey: NoteVerifier;
  stateFile: string;
  witnesses?: NoteVerifier[];
  quorum?: number;
  audit?: boolean;
  fetch?: typeof fetch;
}

export interface MonitorCheck {
  ok: boolean;
  code: 'OK' | 'FIRST_SEEN' | 'ROLLBACK' | 'FORK' | 'TILES_INVALID' | 'WITNESS_INVALID' | 'WITNESS_QUORUM';
  message: string;
  url: string;
  origin: string;
  previous?: { size: number; rootHash: string; checkpoint: string };
  current?: { size: number; rootHash: string; checkpoint: string };
  witnesses: string[];
  /** Entries re-hashed from the bundles in this check (audit). */
  audited?: number;
}

export function readMonitorState(file: string): MonitorState | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new EvidentError('IO_ERROR', `cannot read the monitor state ${file}: ${(e as Error).message}`);
  }
  let s: MonitorState;
  try {
    s = JSON.parse(text) as MonitorState;
  } catch {
    throw new EvidentError('INPUT_INVALID', `monitor state ${file} is not JSON`);
  }
  if (!s || typeof s.origin !== 'string' || !Number.isSafeInteger(s.size) || typeof s.rootHash !== 'string' || typeof s.checkpoint !== 'string') {
    throw new EvidentError('INPUT_INVALID', `monitor state ${file} is malformed`);
  }
  return s;
}

const describe = (s: { size: number; rootHash: string }) => `size ${s.size} root ${s.rootHash}`;

/** One monitoring check. */
export async function monitorOnce(o: MonitorOptions): Promise<MonitorCheck> {
  const prev = readMonitorState(o.stateFile);
  const origin = o.logKey.name;
  if (prev && prev.origin !== origin) throw new EvidentError('INPUT_INVALID', `monitor state ${o.stateFile} is for log ${JSON.stringify(prev.origin)}, not ${JSON.stringify(origin)}`);
  const base: MonitorCheck = { ok: false, code: 'OK', message: '', url: o.url, origin, witnesses: [] };
  if (prev) base.previous = { size: prev.size, rootHash: prev.rootHash, checkpoint: prev.checkpoint };
  const remote = new RemoteLog(o.url, { logKey: o.logKey, fetch: o.fetch });
  // the log's own signature first (errors of the log key are the monitor's errors), then the witnesses
  let note: string;
  try {
    note = (await remote.checkpoint()).note;
  } catch (e) {
    if ((e as EvidentError).code === 'PROOF_INVALID') return { ...base, code: 'TILES_INVALID', message: (e as Error).message };
    throw e;
  }
  const body = parseCheckpoint(parseNote(note).text);
  const cur = { size: body.size, rootHash: toBase64(body.rootHash), checkpoint: note };
  base.current = cur;
  if ((o.witnesses?.length ?? 0) > 0 || (o.quorum ?? 0) > 0) {
    try {
      base.witnesses = openCheckpoint(note, o.logKey, { witnesses: o.witnesses, quorum: o.quorum }).witnesses;
    } catch (e) {
      const c = (e as EvidentError).code;
      if (c === 'SIGNATURE_MISSING') return { ...base, code: 'WITNESS_QUORUM', message: (e as Error).message };
      if (c === 'SIGNATURE_INVALID') return { ...base, code: 'WITNESS_INVALID', message: `a pinned witness's cosignature does not verify: ${(e as Error).message}` };
      throw e;
    }
  }
  let audited: number | undefined;
  if (prev) {
    const prevRoot = parseBase64(prev.rootHash);
    if (cur.size < prev.size) {
      return { ...base, code: 'ROLLBACK', message: `log rolled back: checkpoint ${describe(cur)} is smaller than the verified checkpoint ${describe(prev)}` };
    }
    if (cur.size === prev.size) {
      if (!timingSafeEqualBytes(prevRoot, body.rootHash)) return { ...base, code: 'FORK', message: `split view: checkpoint ${describe(cur)} and the verified checkpoint ${describe(prev)} have the same size and different roots` };
    } else if (prev.size > 0) {
      let consistent: boolean;
      try {
        consistent = verifyConsistency(prev.size, cur.size, await remote.consistencyProof(prev.size), prevRoot, body.rootHash);
      } catch (e) {
        if ((e as EvidentError).code === 'PROOF_INVALID') return { ...base, code: 'TILES_INVALID', message: (e as Error).message };
        throw e;
      }
      if (!consistent) return { ...base, code: 'FORK', message: `split view: checkpoint ${describe(cur)} is not consistent with the verified checkpoint ${describe(prev)}` };
    }
  }
  if (o.audit) {
    const from = prev ? Math.min(prev.size, cur.size) : 0;
    try {
      audited = (await remote.entries(from, cur.size)).length;
    } catch (e) {
      if ((e as EvidentError).code === 'PROOF_INVALID') return { ...base, code: 'TILES_INVALID', message: (e as Error).message };
      throw e;
    }
  }
  const state: MonitorState = { origin, size: cur.size, rootHash: cur.rootHash, checkpoint: note, checkedAt: new Date().toISOString() };
  writeFileAtomic(o.stateFile, JSON.stringify(state, null, 2) + '\n');
  const out: MonitorCheck = {
    ...base,
    ok: true,
    code: prev ? 'OK' : 'FIRST_SEEN',
    message: prev ? `checkpoint ${describe(cur)} is consistent with ${describe(prev)}` : `first checkpoint recorded: ${describe(cur)}`,
  };
  if (audited !== undefined) out.audited = audited;
  return out;
}
