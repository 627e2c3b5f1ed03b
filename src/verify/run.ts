/**
 * `evident verify` as a library call: the command's options (the parsed flags) → the one report. The CLI command
 * (src/cli/commands/verify.ts) and the offline verifier page (src/page/) both call {@link runVerify}, so a page
 * report and `evident verify … --json` are the same bytes for the same files. Files are read through node:fs: on
 * the page that is the page's in-memory file system (src/page/shims/fs.ts), holding the dropped files.
 */
import fs from 'node:fs';
import path from 'node:path';
import { EvidentError } from '../kernel/errors.ts';
import { Report, type Mode } from './report.ts';
import { bytesInput, loadVerifyInput, verifyAny, type VerifyOptions } from './detect.ts';
import { readFileArg } from '../store/files.ts';

/** The `evident verify` flags, as commander parses them (repeatable flags are arrays). */
export interface VerifyFlags {
  mode: Mode;
  format?: string;
  key?: string[];
  trust?: string;
  logKey?: string;
  entry?: string;
  leafHash?: string;
  witness?: string[];
  witnessQuorum?: string;
  challenge?: string;
  sealRegistry?: string;
  db?: string;
  now?: string;
  workerId?: string;
  species?: string;
  banList?: string;
  jwk?: string;
  artifact?: string[];
  trustedRoot?: string;
  certificateIdentity?: string;
  certificateIdentityRegexp?: string;
  certificateOidcIssuer?: string;
}

/**
 * Verify `artifact` (a path; the CLI reads `-` from stdin itself and passes `stdin`) with the command's flags.
 * Throws what the command would turn into an error report (see {@link reportForError}).
 */
export async function runVerify(artifact: string, o: VerifyFlags, stdin?: () => Uint8Array): Promise<Report> {
  if (artifact !== '-' && !fs.existsSync(artifact)) {
    return new Report(o.format ?? 'unknown', o.mode).fail('input', 'input', 'INPUT_UNREADABLE', `cannot read ${artifact}: no such file or directory`);
  }
  const now = o.now ? new Date(o.now) : undefined;
  if (now && Number.isNaN(now.getTime())) {
    return new Report(o.format ?? 'unknown', o.mode).fail('input.now', 'input', 'INPUT_INVALID', `--now is not a valid time: ${o.now}`);
  }
  const opts: VerifyOptions = {
    mode: o.mode,
    keys: o.key,
    trust: o.trust,
    logKey: o.logKey,
    entry: o.entry,
    leafHash: o.leafHash,
    witnesses: o.witness,
    witnessQuorum: o.witnessQuorum === undefined ? undefined : /^[0-9]{1,3}$/.test(o.witnessQuorum) ? Number(o.witnessQuorum) : NaN,
    challenge: o.challenge,
    sealRegistry: o.sealRegistry,
    db: o.db,
    now,
    workerId: o.workerId,
    species: o.species,
    banList: o.banList,
    jwk: o.jwk,
    artifacts: o.artifact?.map((f) => ({ name: path.basename(f), bytes: f === '-' && stdin ? stdin() : readFileArg(f) })),
    trustedRoot: o.trustedRoot,
    certificateIdentity: o.certificateIdentity,
    certificateIdentityRegexp: o.certificateIdentityRegexp,
    certificateOidcIssuer: o.certificateOidcIssuer,
  };
  if (artifact === '-' && !stdin) throw new EvidentError('INPUT_INVALID', 'no standard input here');
  const input = artifact === '-' ? bytesInput(stdin!()) : loadVerifyInput(artifact);
  return verifyAny(input, opts, o.format);
}

// the error → report mapping lives with the report model (the CLI's every command uses it; it must not pull in the
// detectors): re-exported here for the page
export { exitCodeForError, reportForError } from './report.ts';
