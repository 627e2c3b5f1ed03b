/**
 * ELI-Sentinel HALO chain (`halo_v1`, spec §B.2): five objects built from top-level packet fields, each hashed as
 * `"sha256:" + hex(sha256(json_c14n_v1(obj)))`, every block after the first carrying `previous_hash`.
 *
 * Values are read like Python's `dict.get`: an absent key hashes exactly like `null`. Verification never trusts
 * the stored links: it recomputes all five blocks from the packet and names every block that differs.
 */
import { isJsonObject, type JsonObject, type JsonValue } from '../../kernel/json/index.ts';
import { sha256Digest } from '../../kernel/digest.ts';
import { c14nHash, jsonC14nV1, jsonC14nV1Plain } from './c14n.ts';

export const HALO_BLOCKS = ['block_1', 'block_2', 'block_3', 'block_4', 'final_hash'] as const;
export type HaloBlock = (typeof HALO_BLOCKS)[number];
export type HaloChain = Record<HaloBlock, string>;

/** Packet fields covered by each block (besides `previous_hash`). */
export const HALO_BLOCK_FIELDS: Record<HaloBlock, readonly string[]> = {
  block_1: ['transaction_id', 'gateway_timestamp_utc', 'environment', 'client_id'],
  block_2: ['intent_manifest', 'feature_tag', 'user_ref'],
  block_3: ['prompt_hash', 'rag_hash', 'multimodal_hash'],
  block_4: ['policy_receipt_subset', 'model_fingerprint', 'param_snapshot'],
  final_hash: ['output_hash', 'token_usage', 'latency_ms'],
};

/** Every top-level field the HALO chain authenticates. */
export const HALO_FIELDS: readonly string[] = HALO_BLOCKS.flatMap((b) => HALO_BLOCK_FIELDS[b]);

/** Python `dict.get(key)`: own member or null. */
export function getField(o: JsonObject, key: string): JsonValue {
  return Object.prototype.hasOwnProperty.call(o, key) ? (o[key] as JsonValue) : null;
}

/** The five block objects (each with `previous_hash` linked to the previous block's hash) and their hashes. */
export function haloBlocks(fields: JsonObject): { objects: Record<HaloBlock, JsonObject>; chain: HaloChain } {
  const objects = {} as Record<HaloBlock, JsonObject>;
  const chain = {} as HaloChain;
  let prev: string | undefined;
  for (const b of HALO_BLOCKS) {
    const o: JsonObject = {};
    if (prev !== undefined) o.previous_hash = prev;
    for (const f of HALO_BLOCK_FIELDS[b]) o[f] = getField(fields, f);
    objects[b] = o;
    prev = chain[b] = c14nHash(o);
  }
  return { objects, chain };
}

/**
 * Per block: its member names in json_c14n_v1 order (code point order; all ASCII) with their quoted `"name":`
 * prefixes, so the hot path builds each canonical block text by concatenation instead of building, sorting and
 * walking an object. Equal by construction to `jsonC14nV1(haloBlocks(fields).objects[b])` (tested). Kept as plain
 * parallel arrays (indexed loops, no iterator objects); `previous_hash` is marked by a null name.
 */
interface BlockLayout {
  names: Array<string | null>;
  prefixes: string[];
}
const LAYOUTS: BlockLayout[] = HALO_BLOCKS.map((b, i) => {
  const names = [...HALO_BLOCK_FIELDS[b], ...(i > 0 ? ['previous_hash'] : [])].sort();
  return {
    names: names.map((n) => (n === 'previous_hash' ? null : n)),
    prefixes: names.map((name, k) => (k === 0 ? '{' : ',') + JSON.stringify(name) + ':'),
  };
});

/** Strings that json_c14n_v1 writes as they are, between quotes (no escape, no surrogate). */
const PLAIN_STRING = /^[^"\\\x00-\x1f\ud800-\udfff]*$/;

/**
 * json_c14n_v1 of one value, with the common cases (plain strings, null) written directly. `plain`: see
 * {@link computeHaloChain}.
 */
export function valueC14n(v: JsonValue | undefined, plain: boolean): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string' && (plain || PLAIN_STRING.test(v))) return '"' + v + '"';
  return plain ? jsonC14nV1Plain(v) : jsonC14nV1(v);
}

/** json_c14n_v1 of a member read like `dict.get` (absent → null). */
function fieldText(fields: JsonObject, name: string, plain: boolean): string {
  return valueC14n(Object.prototype.hasOwnProperty.call(fields, name) ? fields[name] : null, plain);
}

/**
 * Compute the HALO chain of a packet (or bare transaction fields). `plainStrings`: the caller knows no string in
 * the packet needs escaping (it was parsed from bytes without a backslash, {@link hasNoEscapes}); same result.
 */
export function computeHaloChain(fields: JsonObject, plainStrings = false): HaloChain {
  const hashes: string[] = [];
  let prev = '';
  for (let b = 0; b < LAYOUTS.length; b++) {
    const { names, prefixes } = LAYOUTS[b]!;
    let text = '';
    for (let k = 0; k < names.length; k++) {
      const name = names[k];
      // previous_hash is our own "sha256:" + hex digest: nothing to escape
      text += prefixes[k]! + (name === null ? '"' + prev + '"' : fieldText(fields, name, plainStrings));
    }
    prev = sha256Digest(text + '}');
    hashes.push(prev);
  }
  return { block_1: hashes[0]!, block_2: hashes[1]!, block_3: hashes[2]!, block_4: hashes[3]!, final_hash: hashes[4]! };
}

/** The canonical UTF-8 preimage text of each block (for diagnostics and vectors). */
export function haloPreimages(fields: JsonObject): Record<HaloBlock, string> {
  const { objects } = haloBlocks(fields);
  const out = {} as Record<HaloBlock, string>;
  for (const b of HALO_BLOCKS) out[b] = jsonC14nV1(objects[b]);
  return out;
}

export interface HaloMismatch {
  block: HaloBlock;
  expected: string;
  /** Stored value rendered as text (`(missing)` when absent, JSON for non-strings). */
  actual: string;
}

/**
 * Compare a stored `halo_chain` object with the chain recomputed from the packet. Returns the recomputed chain
 * and the blocks whose stored value differs (stored non-strings never match).
 */
export function checkHaloChain(packet: JsonObject, stored: JsonValue, plainStrings = false): { chain: HaloChain; mismatches: HaloMismatch[] } {
  const chain = computeHaloChain(packet, plainStrings);
  const mismatches: HaloMismatch[] = [];
  const s = isJsonObject(stored) ? stored : {};
  for (const b of HALO_BLOCKS) {
    const has = Object.prototype.hasOwnProperty.call(s, b);
    const v = has ? s[b] : undefined;
    if (v !== chain[b]) {
      mismatches.push({ block: b, expected: chain[b], actual: !has ? '(missing)' : typeof v === 'string' ? v : safeText(v!) });
    }
  }
  return { chain, mismatches };
}

function safeText(v: JsonValue): string {
  try {
    return jsonC14nV1(v).slice(0, 200);
  } catch {
    return '(not representable)';
  }
}
