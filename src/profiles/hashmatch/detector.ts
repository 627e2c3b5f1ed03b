import path from 'node:path';
import type { Detector, VerifyInput, VerifyOptions } from '../../verify/input.ts';
import { Report } from '../../verify/report.ts';
import { isFile, isDir, obj } from './files.ts';
import { toPlain, type JsonValue } from '../../kernel/json/index.ts';
import {
  verifyMatchFolderStrict,
  verifyMatchFolderCompat,
  verifyTournamentStrict,
  verifyTournamentCompat,
  verifyReceiptFileStrict,
  verifyReceiptFileCompat,
} from './verify.ts';

export function looksLikeTournament(dir: string): boolean {
  return (isFile(path.join(dir, 'tournament_manifest.json')) || isFile(path.join(dir, 'tournament.json'))) && isDir(path.join(dir, 'matches'));
}

export function looksLikeMatch(dir: string): boolean {
  return isFile(path.join(dir, 'match.jsonl')) && (isFile(path.join(dir, 'match_manifest.json')) || isFile(path.join(dir, 'match_summary.json')));
}

export function looksLikeReceipt(v: unknown): boolean {
  const r = obj(v);
  return !!r && r.algorithm === 'ed25519' && typeof r.version === 'number' && !!obj(r.payload) && typeof r.signature === 'string' && typeof r.publicKey === 'string';
}

const tournament: Detector = {
  format: 'hashmatch.tournament',
  detect: (i: VerifyInput) => i.isDirectory && !!i.path && looksLikeTournament(i.path),
  verify: (i: VerifyInput, o: VerifyOptions) => (o.mode === 'compat' ? verifyTournamentCompat(i.path!, o) : verifyTournamentStrict(i.path!, o)),
};

const match: Detector = {
  format: 'hashmatch.match',
  detect: (i: VerifyInput) => i.isDirectory && !!i.path && looksLikeMatch(i.path),
  verify: (i: VerifyInput, o: VerifyOptions) => (o.mode === 'compat' ? verifyMatchFolderCompat(i.path!) : verifyMatchFolderStrict(i.path!, o)),
};

const receipt: Detector = {
  format: 'hashmatch.receipt',
  detect: (i: VerifyInput) => !i.isDirectory && i.json !== undefined && looksLikeReceipt(toPlain(i.json as JsonValue)),
  verify: async (i: VerifyInput, o: VerifyOptions) => {
    if (!i.bytes || i.json === undefined) return new Report('hashmatch.receipt', o.mode).fail('input', 'input', 'INPUT_INVALID', 'receipt bytes missing');
    if (o.mode === 'compat') {
      // upstream reads receipts as UTF-8 text and JSON.parse-s them (last duplicate wins, no NaN)
      let v: unknown;
      try {
        v = JSON.parse(Buffer.from(i.bytes).toString('utf8'));
      } catch (e) {
        const r = new Report('hashmatch.receipt', o.mode).fail('input', 'input', 'JSON_SYNTAX', `receipt is not JSON: ${(e as Error).message}`);
        r.exitOverride = 1;
        return r;
      }
      return verifyReceiptFileCompat(v, o);
    }
    return verifyReceiptFileStrict(i.path, toPlain(i.json), i.bytes, o);
  },
};

/** Format detectors of the hashmatch profile (most specific first). */
export const detectors: Detector[] = [tournament, match, receipt];
