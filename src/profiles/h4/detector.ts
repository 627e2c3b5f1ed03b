import type { Detector, VerifyInput, VerifyOptions } from '../../verify/input.ts';
import type { Report } from '../../verify/report.ts';
import { toPlain } from '../../kernel/json/index.ts';
import { looksLikeH4mkA } from './container.ts';
import { H4MK_FORMAT } from './verify.ts';
import { verifyH4mkAsync } from './parallel.ts';
import { looksLikeH4mkB, verifyH4mkB } from './formatb.ts';
import { looksLikeCompatAttestation, looksLikeSignedAttestation, checkCompatAttestation, verifySignedAttestation, MemoryNonceStore } from './attest.ts';


const h4mk: Detector = {
  format: H4MK_FORMAT,
  detect: (input: VerifyInput) => !input.isDirectory && input.bytes !== undefined && looksLikeH4mkA(input.bytes),
  async verify(input: VerifyInput, opts: VerifyOptions): Promise<Report> {
    const bytes = input.bytes ?? new Uint8Array(0);
    // Format B (media mux, little-endian, 16-byte header) shares the magic: version byte 1 at offset 4.
    if (looksLikeH4mkB(bytes)) return verifyH4mkB(bytes, opts.mode).report;
    return (await verifyH4mkAsync(bytes, { mode: opts.mode, keys: opts.keys, trust: opts.trust, now: opts.now })).report;
  },
};

const attestation: Detector = {
  format: 'h4.attestation',
  detect: (input: VerifyInput) => input.json !== undefined && (looksLikeSignedAttestation(toPlain(input.json)) || looksLikeCompatAttestation(toPlain(input.json))),
  async verify(input: VerifyInput, opts: VerifyOptions): Promise<Report> {
    const a = input.json === undefined ? undefined : toPlain(input.json);
    if (!looksLikeSignedAttestation(a)) return checkCompatAttestation(a, opts.mode);
    const r = await verifySignedAttestation(a, {
      keys: opts.keys,
      trust: opts.trust,
      now: opts.now,
      nonceStore: new MemoryNonceStore(),
      expectedNonce: typeof opts.nonce === 'string' ? opts.nonce : undefined,
    });
    r.mode = opts.mode;
    if (typeof opts.nonce !== 'string') r.warn('nonce.binding', 'NONCE_NOT_CHECKED', 'no expected nonce given: binding to your challenge was not checked; single use only within this process');
    return r;
  },
};

/** Format detectors of the h4 profile (most specific first). */
export const detectors: Detector[] = [h4mk, attestation];
