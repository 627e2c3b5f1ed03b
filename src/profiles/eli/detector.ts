import type { Detector, VerifyInput, VerifyOptions } from '../../verify/input.ts';
import { CDIL_FORMAT, ELI_FORMAT, looksLikeCdilPacket, looksLikeEliPacket, verifyCdilPacket, verifyEliBytes, type EliVerifyOptions } from './verify.ts';
import { ELI_MAX_BYTES, ELI_MAX_DEPTH, parseEliJson } from './c14n.ts';
import { parsePythonJsonFast } from '../../kernel/json/pyjson.ts';

function eliOptions(opts: VerifyOptions): EliVerifyOptions {
  const jwk = opts.jwk;
  return {
    mode: opts.mode,
    jwkFiles: typeof jwk === 'string' ? [jwk] : Array.isArray(jwk) ? (jwk as string[]) : undefined,
    keyFiles: opts.keys,
    trust: opts.trust,
    now: opts.now,
    skipSignature: opts.skipSignature === true,
    unwrap: typeof opts.unwrap === 'boolean' ? opts.unwrap : undefined,
  };
}

/** ELI-Sentinel packets (`halo_chain` + RS256), including `{…, "receipt": packet}` API responses. */
export const eliPacketDetector: Detector = {
  format: ELI_FORMAT,
  detect: (input: VerifyInput) => !input.isDirectory && looksLikeEliPacket(input.json),
  verify: async (input, opts) => (await verifyEliBytes(input.bytes ?? new Uint8Array(), eliOptions(opts))).report,
};

/** Clinical (CDIL) variant: blocks inside the packet, ECDSA P-256. */
export const cdilPacketDetector: Detector = {
  format: CDIL_FORMAT,
  detect: (input: VerifyInput) => !input.isDirectory && looksLikeCdilPacket(input.json),
  // a packet that does not parse throws JSON_*: verifyAny turns that into an input failure
  verify: async (input, opts) => {
    const bytes = input.bytes ?? new Uint8Array();
    // compat: as Python's json.load (duplicate keys last-wins, NaN, lone surrogates)
    const value = opts.mode === 'compat' ? parsePythonJsonFast(bytes, { source: 'text', maxBytes: ELI_MAX_BYTES, maxDepth: ELI_MAX_DEPTH }) : parseEliJson(bytes, { duplicateKeys: 'reject' });
    return verifyCdilPacket(value, eliOptions(opts));
  },
};

/** Format detectors of the eli profile (most specific first). */
export const detectors: Detector[] = [eliPacketDetector, cdilPacketDetector];
