/**
 * A registry snapshot (`evident seal snapshot --out FILE`: the canonical JCS body, content-addressed) as a seal
 * resolver: offline verification of an attestation against the registry as it was when the snapshot was taken
 * (`evident verify ATTESTATION --challenge C --seal-registry SNAPSHOT`, and the verifier page). Seal states and
 * revocations are those of the snapshot; there is no nonce store, so single use is not enforced (the report says
 * so with REPLAY_NOT_CHECKED). Pure: no I/O.
 */
import { EvidentError } from '../../kernel/errors.ts';
import { sha256Digest } from '../../kernel/digest.ts';
import { canonicalizeJcs, isJsonObject, parseJson, toPlain, type JsonValue } from '../../kernel/json/index.ts';
import { importPublicKey } from '../../kernel/keys.ts';
import { isMeasurement, isSealId } from './messages.ts';
import { SEAL_STATES, type SealLookup, type SealResolver, type SealState } from './registry.ts';

export const SNAPSHOT_TYPE = 'cphar.registry.snapshot';
const MAX_SNAPSHOT_BYTES = 16 * 1024 * 1024;

export interface RegistrySnapshot extends SealResolver {
  /** `sha256:` of the snapshot's canonical bytes (the id `seal snapshot` prints). */
  digest: string;
  eventSeq: number;
  size: number;
}

function bad(msg: string): EvidentError {
  return new EvidentError('MESSAGE_INVALID', `seal registry snapshot: ${msg}`);
}

/** Parse a snapshot strictly (duplicate keys refused, every seal well-formed). Throws MESSAGE_INVALID / KEY_INVALID. */
export function parseRegistrySnapshot(bytes: Uint8Array): RegistrySnapshot {
  if (bytes.length > MAX_SNAPSHOT_BYTES) throw bad(`larger than ${MAX_SNAPSHOT_BYTES} bytes`);
  let v: JsonValue;
  try {
    v = parseJson(bytes, { maxDepth: 16 });
  } catch (e) {
    throw bad((e as Error).message);
  }
  if (!isJsonObject(v) || v.type !== SNAPSHOT_TYPE || v.version !== '0.1') throw bad(`not a ${SNAPSHOT_TYPE} v0.1 object`);
  const plain = toPlain(v) as { event_seq?: unknown; seals?: unknown };
  if (!Number.isSafeInteger(plain.event_seq) || (plain.event_seq as number) < 0) throw bad('event_seq must be a non-negative integer');
  if (!Array.isArray(plain.seals)) throw bad('seals must be an array');
  const seals = new Map<string, SealLookup>();
  for (const [i, s] of (plain.seals as unknown[]).entries()) {
    if (!s || typeof s !== 'object') throw bad(`seals[${i}] is not an object`);
    const r = s as Record<string, unknown>;
    if (!isSealId(r.seal_id)) throw bad(`seals[${i}].seal_id is not a seal id`);
    if (seals.has(r.seal_id as string)) throw bad(`seal ${String(r.seal_id)} appears twice`);
    if (r.alg !== 'Ed25519' && r.alg !== 'ES256') throw bad(`seals[${i}].alg must be Ed25519 or ES256`);
    if (typeof r.state !== 'string' || !(SEAL_STATES as readonly string[]).includes(r.state)) throw bad(`seals[${i}].state is not a seal state`);
    if (!Array.isArray(r.firmware_measurements) || !r.firmware_measurements.every(isMeasurement)) throw bad(`seals[${i}].firmware_measurements must be measurements`);
    if (!r.public_jwk || typeof r.public_jwk !== 'object') throw bad(`seals[${i}].public_jwk is missing`);
    const publicKey = importPublicKey(r.public_jwk as Record<string, string>, r.alg === 'Ed25519' ? 'ed25519' : 'es256');
    seals.set(r.seal_id as string, { seal_id: r.seal_id as string, alg: r.alg, publicKey, status: r.state as SealState, firmware_measurements: r.firmware_measurements as string[] });
  }
  return {
    digest: sha256Digest(canonicalizeJcs(v)),
    eventSeq: plain.event_seq as number,
    size: seals.size,
    lookup: (id) => seals.get(id),
  };
}
