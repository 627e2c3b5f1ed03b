import fs from 'node:fs';
import type { Detector, VerifyInput, VerifyOptions } from '../../verify/input.ts';
import { Report } from '../../verify/report.ts';
import { isJsonObject } from '../../kernel/json/index.ts';
import { ATTESTATION_TYPE, MAX_MESSAGE_BYTES } from './messages.ts';
import { verifyWithDb } from './stores.ts';

function typeOf(input: VerifyInput): unknown {
  const j = input.json;
  return j && isJsonObject(j) ? j.type : undefined;
}

/** `evident verify ATTESTATION --challenge FILE --db URL [--now T]`. */
const attestation: Detector = {
  format: 'cphar.attestation',
  detect: (input) => !input.isDirectory && typeOf(input) === ATTESTATION_TYPE,
  async verify(input: VerifyInput, opts: VerifyOptions): Promise<Report> {
    const r = new Report('cphar.attestation', opts.mode);
    if (!opts.challenge) return r.fail('challenge', 'input', 'CHALLENGE_REQUIRED', 'a CPHAR attestation is verified against its challenge: pass --challenge FILE');
    if (!opts.db) return r.fail('registry', 'input', 'REGISTRY_REQUIRED', 'the seal registry and nonce store are needed: pass --db URL');
    let challenge: Buffer;
    try {
      const st = fs.statSync(opts.challenge);
      if (st.size > MAX_MESSAGE_BYTES) return r.fail('challenge', 'input', 'MESSAGE_INVALID', 'challenge file too large');
      challenge = fs.readFileSync(opts.challenge);
    } catch (e) {
      return r.fail('challenge', 'input', 'INPUT_UNREADABLE', `cannot read ${opts.challenge}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    return verifyWithDb(opts.db, challenge, input.bytes, { now: opts.now?.getTime() }, opts.mode);
  },
};

/** Format detectors of the cphar profile (most specific first). */
export const detectors: Detector[] = [attestation];
