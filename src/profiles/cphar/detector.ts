import fs from 'node:fs';
import type { Detector, VerifyInput, VerifyOptions } from '../../verify/input.ts';
import { Report } from '../../verify/report.ts';
import { isJsonObject } from '../../kernel/json/index.ts';
import { ATTESTATION_TYPE, MAX_MESSAGE_BYTES } from './messages.ts';
import { verifyWithDb } from './stores.ts';
import { verifyToReport } from './verify.ts';
import { parseRegistrySnapshot } from './snapshot.ts';

function typeOf(input: VerifyInput): unknown {
  const j = input.json;
  return j && isJsonObject(j) ? j.type : undefined;
}

/** `evident verify ATTESTATION --challenge FILE (--db URL | --seal-registry SNAPSHOT) [--now T]`. */
const attestation: Detector = {
  format: 'cphar.attestation',
  detect: (input) => !input.isDirectory && typeOf(input) === ATTESTATION_TYPE,
  async verify(input: VerifyInput, opts: VerifyOptions): Promise<Report> {
    const r = new Report('cphar.attestation', opts.mode);
    if (!opts.challenge) return r.fail('challenge', 'input', 'CHALLENGE_REQUIRED', 'a CPHAR attestation is verified against its challenge: pass --challenge FILE');
    const snapshotFile = typeof opts.sealRegistry === 'string' ? opts.sealRegistry : undefined;
    if (opts.db && snapshotFile) return r.fail('registry', 'input', 'INPUT_INVALID', 'give either --db (the live registry and nonce store) or --seal-registry (a snapshot), not both');
    if (!opts.db && !snapshotFile) return r.fail('registry', 'input', 'REGISTRY_REQUIRED', 'the seal registry is needed: pass --db URL (registry and nonce store) or --seal-registry SNAPSHOT (offline, replay not checked)');
    let challenge: Buffer;
    try {
      const st = fs.statSync(opts.challenge);
      if (st.size > MAX_MESSAGE_BYTES) return r.fail('challenge', 'input', 'MESSAGE_INVALID', 'challenge file too large');
      challenge = fs.readFileSync(opts.challenge);
    } catch (e) {
      return r.fail('challenge', 'input', 'INPUT_UNREADABLE', `cannot read ${opts.challenge}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (opts.db) return verifyWithDb(opts.db, challenge, input.bytes, { now: opts.now?.getTime() }, opts.mode);
    let snapshot;
    try {
      const st = fs.statSync(snapshotFile!);
      if (!st.isFile()) return r.fail('registry', 'input', 'INPUT_UNREADABLE', `${snapshotFile} is not a file`);
      snapshot = parseRegistrySnapshot(fs.readFileSync(snapshotFile!));
    } catch (e) {
      const code = (e as { code?: string }).code ?? 'IO_ERROR';
      if (/^E[A-Z]+$/.test(code)) return r.fail('registry', 'input', 'INPUT_UNREADABLE', `cannot read ${snapshotFile}: ${code}`);
      return r.fail('registry', code.startsWith('KEY_') ? 'key' : 'input', code, (e as Error).message);
    }
    const { report } = await verifyToReport(challenge, input.bytes, { seals: snapshot, now: opts.now?.getTime() }, opts.mode);
    report.pass('registry', `seal states from registry snapshot ${snapshot.digest} (event ${snapshot.eventSeq}, ${snapshot.size} seal(s))`, { actual: snapshot.digest });
    return report;
  },
};

/** Format detectors of the cphar profile (most specific first). */
export const detectors: Detector[] = [attestation];
