import fs from 'node:fs';
import path from 'node:path';
import type { Detector, VerifyInput, VerifyOptions } from '../../verify/input.ts';
import { Report } from '../../verify/report.ts';
import { isJsonObject } from '../../kernel/json/index.ts';
import { parsePythonJson } from '../../kernel/json/pyjson.ts';
import { MANIFEST_FILE, DEFAULT_HMAC_ENV } from './manifest.ts';
import { verifyPackage, loadBanList, secretFromEnv, FORMAT } from './verify.ts';
import { looksLikeRegistryRecord, parseRecord, verifyRecordReport } from './registry.ts';
import type { PackageOrder } from './package-hash.ts';

/** A directory holding `manifest.json` with `schema_version: "awp.v1"`. */
function isWcpPackage(input: VerifyInput): boolean {
  if (!input.isDirectory || !input.path) return false;
  const f = path.join(input.path, MANIFEST_FILE);
  try {
    const st = fs.statSync(f);
    if (!st.isFile() || st.size > 1024 * 1024) return false;
    const bytes = fs.readFileSync(f);
    if (/"schema_version"\s*:\s*"awp\.v1"/.test(bytes.toString('utf8'))) return true;
    // written with escapes (`"\u0061wp.v1"`) or by a lenient writer: look at the value as pyhall's json.loads reads it
    const v = parsePythonJson(bytes, { source: 'text', maxDepth: 64 });
    return isJsonObject(v) && v.schema_version === 'awp.v1';
  } catch {
    return false;
  }
}

const packageDetector: Detector = {
  format: FORMAT,
  detect: isWcpPackage,
  async verify(input: VerifyInput, opts: VerifyOptions): Promise<Report> {
    let banned: Set<string> | undefined;
    if (typeof opts.banList === 'string') {
      try {
        banned = loadBanList(opts.banList);
      } catch (e) {
        return new Report(FORMAT, opts.mode).fail('ban_list', 'input', (e as { code?: string }).code ?? 'INPUT_INVALID', (e as Error).message);
      }
    }
    return verifyPackage(input.path!, {
      mode: opts.mode,
      workerId: typeof opts.workerId === 'string' ? opts.workerId : undefined,
      species: typeof opts.species === 'string' ? opts.species : undefined,
      secret: secretFromEnv(typeof opts.hmacEnv === 'string' ? opts.hmacEnv : DEFAULT_HMAC_ENV),
      order: opts.order === 'bytewise' ? 'bytewise' : ('python' as PackageOrder),
      banned,
      keys: opts.keys,
      trust: opts.trust,
      now: opts.now,
    });
  },
};

const recordDetector: Detector = {
  format: 'wcp.registry-record',
  detect: (input) => !input.isDirectory && looksLikeRegistryRecord(input.json),
  async verify(input: VerifyInput, opts: VerifyOptions): Promise<Report> {
    if (!isJsonObject(input.json)) return new Report('wcp.registry-record', opts.mode).fail('input', 'input', 'INPUT_INVALID', 'a registry record must be a JSON object');
    // compat: the bytes parsed as /enroll's json.loads does (NaN, lone surrogates, BOM, last duplicate wins)
    const record = opts.mode === 'compat' && input.bytes ? parseRecord(input.bytes, 'compat') : input.json;
    return verifyRecordReport(record, opts.mode);
  },
};

/** Format detectors of the wcp profile (most specific first). */
export const detectors: Detector[] = [packageDetector, recordDetector];
