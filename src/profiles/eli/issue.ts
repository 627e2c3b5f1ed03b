/**
 * Issuing ELI-Sentinel packets (gateway role): transaction fields → packet in the gateway's member order →
 * HALO chain → RS256 signature. Mirrors the conventions of spec §B.2 (transaction id `tx_` + 16 hex, Python
 * `utcnow().isoformat() + "Z"` timestamps, `sha256:` text hashes, the "no active policy" denial shape).
 */
import { randomBytes, type KeyObject } from '../../kernel/crypto/index.ts';
import { EvidentError } from '../../kernel/errors.ts';
import { isJsonObject, type JsonObject, type JsonValue } from '../../kernel/json/index.ts';
import { sha256Digest } from '../../kernel/digest.ts';
import { JsonNumber } from '../../kernel/json/index.ts';
import { computeHaloChain, getField } from './halo.ts';
import { signPacket } from './sign.ts';

/** Packet members in the order the gateway writes them (before `halo_chain` and `verification`). */
export const PACKET_FIELDS = [
  'transaction_id',
  'gateway_timestamp_utc',
  'environment',
  'client_id',
  'intent_manifest',
  'feature_tag',
  'user_ref',
  'prompt_hash',
  'rag_hash',
  'multimodal_hash',
  'policy_receipt_subset',
  'model_fingerprint',
  'param_snapshot',
  'output_hash',
  'token_usage',
  'latency_ms',
  'client_key_fingerprint',
] as const;

export const NO_POLICY_HASH = 'sha256:no_policy';
export const NO_POLICY_REASON = 'No active policy for environment';

export interface BuildOptions {
  privateKey: KeyObject;
  /** Clock for a generated `gateway_timestamp_utc` (default now). */
  now?: Date;
  /** Texts (or bytes) hashed into prompt_hash / rag_hash / multimodal_hash / output_hash. */
  texts?: Partial<Record<'prompt' | 'rag' | 'multimodal' | 'output', Uint8Array | string>>;
  /** Override key_id (default: the key's ELI id). */
  kid?: string;
}

/** Python `datetime.utcnow().isoformat() + "Z"` for a JS date (microseconds from ms, omitted when zero). */
export function gatewayTimestamp(d: Date): string {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const ms = d.getUTCMilliseconds();
  return iso.slice(0, 19) + (ms === 0 ? '' : '.' + String(ms * 1000).padStart(6, '0')) + 'Z';
}

/** `tx_` + 16 random lowercase hex. */
export function newTransactionId(): string {
  return 'tx_' + randomBytes(8).toString('hex');
}

/** `"sha256:" + hex(sha256(text))` (strings hashed as UTF-8). */
export function textHash(t: Uint8Array | string): string {
  return sha256Digest(t);
}

function str(o: JsonObject, k: string, required: boolean): void {
  const v = o[k];
  if (v === undefined || v === null) {
    if (required) throw new EvidentError('INPUT_INVALID', `transaction field "${k}" is required`);
    return;
  }
  if (typeof v !== 'string') throw new EvidentError('INPUT_INVALID', `transaction field "${k}" must be a string`);
}

/**
 * Build and sign a packet from transaction fields. Accepted members: {@link PACKET_FIELDS} (anything else is
 * refused: it would be covered by neither HALO nor the signature). Missing `transaction_id` /
 * `gateway_timestamp_utc` / `client_key_fingerprint` get gateway defaults; a missing `policy_receipt_subset`
 * produces the gateway's "no active policy" denial (policy_version_hash `sha256:no_policy`, approved false,
 * no output, latency 10). Absent optional members become null.
 */
export function buildPacket(fields: JsonObject, opts: BuildOptions): JsonObject {
  return signPacket(buildUnsignedPacket(fields, opts), opts.privateKey, opts.kid);
}

/**
 * The packet of {@link buildPacket} with its `halo_chain` but without `verification` (no RS256 signature): same
 * field checks and gateway defaults. Used where another signature covers the packet (e.g. an Evident receipt).
 */
export function buildUnsignedPacket(fields: JsonObject, opts: Pick<BuildOptions, 'now' | 'texts'> = {}): JsonObject {
  if (!isJsonObject(fields)) throw new EvidentError('INPUT_INVALID', 'transaction fields must be a JSON object');
  const allowed = new Set<string>([...PACKET_FIELDS, 'halo_chain', 'verification']);
  for (const k of Object.keys(fields)) {
    if (!allowed.has(k)) throw new EvidentError('INPUT_INVALID', `unknown transaction field "${k}" (it would be unauthenticated)`);
  }
  const f: JsonObject = { ...fields };
  str(f, 'environment', true);
  str(f, 'client_id', true);
  for (const k of ['transaction_id', 'gateway_timestamp_utc', 'intent_manifest', 'feature_tag', 'user_ref', 'model_fingerprint', 'client_key_fingerprint']) str(f, k, false);
  const texts = opts.texts ?? {};
  for (const [name, field] of [['prompt', 'prompt_hash'], ['rag', 'rag_hash'], ['multimodal', 'multimodal_hash'], ['output', 'output_hash']] as const) {
    const t = texts[name];
    if (t === undefined) continue;
    if (f[field] !== undefined && f[field] !== null) throw new EvidentError('INPUT_INVALID', `both ${field} and a ${name} text were given`);
    f[field] = textHash(t);
  }
  f.transaction_id ??= newTransactionId();
  f.gateway_timestamp_utc ??= gatewayTimestamp(opts.now ?? new Date());
  if (f.policy_receipt_subset === undefined || f.policy_receipt_subset === null) {
    if (f.output_hash !== undefined && f.output_hash !== null) {
      throw new EvidentError('INPUT_INVALID', 'a denied transaction (no policy_receipt_subset) cannot have an output');
    }
    f.policy_receipt_subset = { policy_version_hash: NO_POLICY_HASH, approved: false, policy_change_ref: null, rejection_reason: NO_POLICY_REASON };
    f.output_hash = null;
    f.token_usage = null;
    f.latency_ms ??= new JsonNumber('10');
  } else if (!isJsonObject(f.policy_receipt_subset)) {
    throw new EvidentError('INPUT_INVALID', 'policy_receipt_subset must be an object');
  }
  f.client_key_fingerprint ??= `sha256:client_${f.client_id as string}_fp`;
  const packet: JsonObject = {};
  for (const k of PACKET_FIELDS) packet[k] = getField(f, k) as JsonValue;
  packet.halo_chain = { ...computeHaloChain(packet) };
  return packet;
}
