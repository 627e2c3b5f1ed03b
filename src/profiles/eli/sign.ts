/**
 * ELI-Sentinel signatures (spec §B.3): RS256 (RSASSA-PKCS1-v1_5 + SHA-256) over `json_c14n_v1` of the five-field
 * message {transaction_id, gateway_timestamp_utc, final_hash, policy_version_hash, client_key_fingerprint}.
 * Packet member `verification.signature = {alg: "RS256", key_id, signature_b64}` (standard padded base64).
 * key_id = "sha256:" + hex(sha256(SPKI PEM text)) (kernel keyId style `pem-sha256`).
 */
import type { JsonWebKey, KeyObject } from 'node:crypto';
import { EvidentError } from '../../kernel/errors.ts';
import { isJsonObject, type JsonObject, type JsonValue } from '../../kernel/json/index.ts';
import { algOfKey, keyId, publicKeyJwk, toPublicKey } from '../../kernel/keys.ts';
import { sign, verify } from '../../kernel/sign.ts';
import { toBase64 } from '../../kernel/encoding.ts';
import { getField, valueC14n } from './halo.ts';

export const ELI_SIG_ALG = 'RS256';

/** Top-level fields authenticated by the signature (final_hash / policy_version_hash come from nested objects). */
export const SIGNED_TOP_LEVEL_FIELDS: readonly string[] = ['transaction_id', 'gateway_timestamp_utc', 'client_key_fingerprint', 'halo_chain', 'policy_receipt_subset'];

/** The message object that is signed (absent → null, as `dict.get` does). */
export function signedMessage(packet: JsonObject): JsonObject {
  const halo = getField(packet, 'halo_chain');
  const prs = getField(packet, 'policy_receipt_subset');
  return {
    transaction_id: getField(packet, 'transaction_id'),
    gateway_timestamp_utc: getField(packet, 'gateway_timestamp_utc'),
    final_hash: isJsonObject(halo) ? getField(halo, 'final_hash') : null,
    policy_version_hash: isJsonObject(prs) ? getField(prs, 'policy_version_hash') : null,
    client_key_fingerprint: getField(packet, 'client_key_fingerprint'),
  };
}

/**
 * Canonical bytes that are signed: `json_c14n_v1(signedMessage(packet))`, written directly in its fixed member order
 * (code point order of the five names) instead of building and sorting an object (tested equal). `plainStrings`:
 * the packet was parsed from bytes without a backslash ({@link hasNoEscapes}), so its strings are quoted untested.
 */
export function signedMessageBytes(packet: JsonObject, plainStrings = false): Uint8Array {
  const halo = getField(packet, 'halo_chain');
  const prs = getField(packet, 'policy_receipt_subset');
  const text =
    '{"client_key_fingerprint":' + valueC14n(getField(packet, 'client_key_fingerprint'), plainStrings) +
    ',"final_hash":' + valueC14n(isJsonObject(halo) ? getField(halo, 'final_hash') : null, plainStrings) +
    ',"gateway_timestamp_utc":' + valueC14n(getField(packet, 'gateway_timestamp_utc'), plainStrings) +
    ',"policy_version_hash":' + valueC14n(isJsonObject(prs) ? getField(prs, 'policy_version_hash') : null, plainStrings) +
    ',"transaction_id":' + valueC14n(getField(packet, 'transaction_id'), plainStrings) + '}';
  return Buffer.from(text, 'utf8');
}

const kidCache = new WeakMap<KeyObject, string>();

/** ELI key id: "sha256:" + hex(sha256(SPKI PEM text)). Cached per KeyObject (keys are immutable). */
export function eliKeyId(key: KeyObject): string {
  let kid = kidCache.get(key);
  if (kid === undefined) {
    kid = keyId(key, 'pem-sha256');
    kidCache.set(key, kid);
  }
  return kid;
}

/** The gateway's public JWK: {kty, use, alg, kid, n, e} (n/e unpadded base64url). */
export function eliPublicJwk(key: KeyObject): JsonWebKey {
  const pub = toPublicKey(key);
  if (algOfKey(pub) !== 'rs256') throw new EvidentError('KEY_UNSUPPORTED', 'ELI-Sentinel keys are RSA (RS256)');
  const j = publicKeyJwk(pub);
  return { kty: 'RSA', use: 'sig', alg: ELI_SIG_ALG, kid: eliKeyId(pub), n: j.n, e: j.e };
}

/** RS256 signature (standard padded base64) of a packet's signed message. */
export function signPacketMessage(packet: JsonObject, privateKey: KeyObject): string {
  if (privateKey.type !== 'private' || algOfKey(privateKey) !== 'rs256') {
    throw new EvidentError('KEY_UNSUPPORTED', 'ELI-Sentinel packets are signed with an RSA private key (RS256)');
  }
  return toBase64(sign(privateKey, signedMessageBytes(packet), { alg: 'rs256' }));
}

/**
 * Sign a chained packet: returns a copy with `verification.signature` set (any existing `verification` members
 * other than `signature` are kept; the member is placed last as the gateway does).
 */
export function signPacket(packet: JsonObject, privateKey: KeyObject, kid?: string): JsonObject {
  const sig = signPacketMessage(packet, privateKey);
  const out: JsonObject = {};
  for (const k of Object.keys(packet)) if (k !== 'verification') out[k] = packet[k] as JsonValue;
  const prev = getField(packet, 'verification');
  out.verification = { ...(isJsonObject(prev) ? prev : {}), signature: { alg: ELI_SIG_ALG, key_id: kid ?? eliKeyId(privateKey), signature_b64: sig } };
  return out;
}

/** Verify an RS256 signature over a packet's signed message (never throws on a bad signature). */
export function verifyPacketSignature(packet: JsonObject, sig: Uint8Array, publicKey: KeyObject): boolean {
  return verify(publicKey, signedMessageBytes(packet), sig, { alg: 'rs256' });
}
