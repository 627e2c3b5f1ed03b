/**
 * `POST /v1/receipts` request bodies: the JSON Schema of every format and their mapping to the library's
 * ServiceReceiptRequest (a core ReceiptRequest, src/receipts/receipt.ts, or a profile request,
 * src/profiles/statements.ts). One flat body, `format` selects which members are allowed:
 *
 *   in-toto    {statement}
 *   dsse       {payload_type, payload_base64}
 *   hashmatch  {kind: "match", match: {manifest, log_base64, summary?, key?}, issued_by?}
 *              {kind: "tournament", tournament: {manifest, standings?, matches: [{key, manifest, log_base64, summary?}]}, issued_by?}
 *   eli        {transaction: {environment, client_id, …ELI packet fields, halo_chain?}, texts?: {prompt?, rag?, multimodal?, output?}}
 *   wcp        {record: {worker_id, worker_species_id, capabilities, artifact_hash?, …}}
 *
 * `eli` and `wcp` members are read from the lossless body (../lossless-body.ts): their hashes are over Python
 * json.dumps forms, where `1.0` and `1` differ.
 */
import { EvidentError } from '../kernel/errors.ts';
import { isJsonObject, type JsonObject, type JsonValue } from '../kernel/json/index.ts';
import { parseBase64 } from '../kernel/encoding.ts';
import { RECEIPT_REQUEST_FORMATS as CORE_FORMATS, type ReceiptRequest } from '../receipts/receipt.ts';
import {
  FORMAT_REQUEST_FORMATS,
  MAX_TOURNAMENT_MATCHES,
  REJECT_CODES,
  formatStatement,
  wcpRecordFacts,
  type EliTexts,
  type FormatReceiptRequest,
  type HashMatchMatchInput,
} from '../profiles/statements.ts';
import { PACKET_FIELDS } from '../profiles/eli/issue.ts';
import { HALO_BLOCKS } from '../profiles/eli/halo.ts';
import { banCandidates, wcpRecordSchema, type WcpStore } from './wcp-store.ts';

const MAX_TEXT = 1024 * 1024;

/** Every `format` of POST /v1/receipts: the core ones (receipts/receipt.ts) and the profile statements. */
export const RECEIPT_REQUEST_FORMATS = [...CORE_FORMATS, ...FORMAT_REQUEST_FORMATS] as const;

/** A POST /v1/receipts request: signed as is (in-toto, dsse) or a profile statement built by the service. */
export type ServiceReceiptRequest = ReceiptRequest | FormatReceiptRequest;

/**
 * What a request is signed as: profile requests become the in-toto Statement their profile builds. `maxPayloadBytes`
 * is the service's receipt payload limit (ServerOptions.maxReceiptPayload; over it: 413 PAYLOAD_TOO_LARGE).
 */
export function signableRequest(r: ServiceReceiptRequest, issuerKid: string, maxPayloadBytes?: number): ReceiptRequest {
  if (r.format === 'in-toto' || r.format === 'dsse') return { ...r, maxPayloadBytes };
  return { format: 'in-toto', statement: formatStatement(r, issuerKid) as unknown as Record<string, unknown>, maxPayloadBytes };
}

function hashMatchMatchSchema(withKey: boolean) {
  return {
    type: 'object',
    additionalProperties: false,
    required: [...(withKey ? ['key'] : []), 'manifest', 'log_base64'],
    properties: {
      key: { type: 'string', minLength: 1, maxLength: 256, description: 'matchKey (folder name under matches/)' },
      manifest: { type: 'object', description: 'match_manifest.json (manifestHash = ManifestCore over it)' },
      log_base64: { type: 'string', minLength: 1, description: 'raw match.jsonl bytes, standard base64 (logHash is over these bytes)' },
      summary: { type: 'object', description: 'match_summary.json; when given its hashes and matchId must equal the recomputed ones' },
    },
  } as const;
}

const nstr = (max: number) => ({ type: ['string', 'null'], maxLength: max }) as const;

/** ELI transaction fields (the gateway packet members; anything else would be covered by neither HALO nor a signature). */
const eliTransactionSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['environment', 'client_id'],
  properties: {
    transaction_id: { type: 'string', minLength: 1, maxLength: 256, description: 'default tx_ + 16 random hex' },
    gateway_timestamp_utc: { type: 'string', minLength: 1, maxLength: 64, description: 'default now, Python utcnow().isoformat() + "Z"' },
    environment: { type: 'string', minLength: 1, maxLength: 256 },
    client_id: { type: 'string', minLength: 1, maxLength: 256 },
    intent_manifest: nstr(4096),
    feature_tag: nstr(256),
    user_ref: nstr(256),
    prompt_hash: nstr(256),
    rag_hash: nstr(256),
    multimodal_hash: nstr(256),
    policy_receipt_subset: { type: ['object', 'null'], description: 'absent/null: the gateway\'s "no active policy" denial' },
    model_fingerprint: nstr(256),
    param_snapshot: { description: 'any JSON (hashed with json_c14n_v1: number spelling kept)' },
    output_hash: nstr(256),
    token_usage: { description: 'any JSON' },
    latency_ms: { type: ['number', 'null'] },
    client_key_fingerprint: { type: 'string', maxLength: 256 },
    halo_chain: {
      type: 'object',
      additionalProperties: false,
      required: [...HALO_BLOCKS],
      description: 'optional claim: must equal the chain recomputed from the fields (else 422 HALO_MISMATCH)',
      properties: Object.fromEntries(HALO_BLOCKS.map((b) => [b, { type: 'string', maxLength: 100 }])),
    },
  },
} as const;

export const receiptBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['format'],
  properties: {
    format: {
      type: 'string',
      enum: [...RECEIPT_REQUEST_FORMATS],
      description: 'in-toto: an in-toto Statement v1 (signed as DSSE application/vnd.in-toto+json); dsse: any payload; hashmatch / eli / wcp: a statement built by the service from the artifact (predicateType https://evident.dev/<format>/v1)',
    },
    statement: { type: 'object', additionalProperties: true },
    payload_type: { type: 'string', maxLength: 256 },
    payload_base64: { type: 'string' },
    kind: { type: 'string', enum: ['match', 'tournament'], description: 'hashmatch only' },
    issued_by: { type: 'string', minLength: 1, maxLength: 256, description: 'hashmatch only: the payload\'s issuedBy (default: the service key id)' },
    match: hashMatchMatchSchema(false),
    tournament: {
      type: 'object',
      additionalProperties: false,
      required: ['manifest', 'matches'],
      properties: {
        manifest: { type: 'object', description: 'tournament_manifest.json' },
        standings: { description: 'standings.json (hashed into the predicate)' },
        matches: { type: 'array', minItems: 1, maxItems: MAX_TOURNAMENT_MATCHES, items: hashMatchMatchSchema(true) },
      },
    },
    transaction: eliTransactionSchema,
    texts: {
      type: 'object',
      additionalProperties: false,
      description: 'eli only: texts hashed (sha256, UTF-8) into prompt_hash / rag_hash / multimodal_hash / output_hash; never stored',
      properties: { prompt: { type: 'string', maxLength: MAX_TEXT }, rag: { type: 'string', maxLength: MAX_TEXT }, multimodal: { type: 'string', maxLength: MAX_TEXT }, output: { type: 'string', maxLength: MAX_TEXT } },
    },
    record: wcpRecordSchema(false),
  },
} as const;

interface MatchBody {
  key?: string;
  manifest: Record<string, unknown>;
  log_base64: string;
  summary?: Record<string, unknown>;
}

export interface ReceiptBody {
  format: (typeof RECEIPT_REQUEST_FORMATS)[number];
  statement?: Record<string, unknown>;
  payload_type?: string;
  payload_base64?: string;
  kind?: 'match' | 'tournament';
  issued_by?: string;
  match?: MatchBody;
  tournament?: { manifest: Record<string, unknown>; standings?: unknown; matches: MatchBody[] };
  transaction?: Record<string, unknown>;
  texts?: EliTexts;
  record?: Record<string, unknown>;
}

/** Members each format takes (required first); any other member present is INPUT_INVALID. */
const MEMBERS: Record<ReceiptBody['format'], { required: string[]; optional: string[] }> = {
  'in-toto': { required: ['statement'], optional: [] },
  dsse: { required: ['payload_type', 'payload_base64'], optional: [] },
  hashmatch: { required: ['kind'], optional: ['issued_by', 'match', 'tournament'] },
  eli: { required: ['transaction'], optional: ['texts'] },
  wcp: { required: ['record'], optional: [] },
};

function matchInput(m: MatchBody, where: string): HashMatchMatchInput {
  let log: Uint8Array;
  try {
    log = parseBase64(m.log_base64);
  } catch (e) {
    throw new EvidentError('INPUT_INVALID', `${where}.log_base64: ${(e as Error).message}`);
  }
  return { key: m.key, manifest: m.manifest, log, summary: m.summary };
}

/**
 * Map a schema-valid body to the library request. `lossless` is the same body parsed losslessly (JsonNumber
 * numbers); `now` stamps ELI packets without a gateway_timestamp_utc. Throws INPUT_INVALID for wrong member sets.
 */
export function toReceiptRequest(b: ReceiptBody, lossless: JsonValue | undefined, now: Date = new Date()): ServiceReceiptRequest {
  const m = MEMBERS[b.format];
  const allowed = new Set(['format', ...m.required, ...m.optional]);
  const missing = m.required.filter((k) => (b as unknown as Record<string, unknown>)[k] === undefined);
  const extra = Object.keys(b).filter((k) => !allowed.has(k));
  if (missing.length || extra.length) {
    throw new EvidentError('INPUT_INVALID', `format ${b.format} takes ${[...m.required.map((k) => `"${k}"`), ...m.optional.map((k) => `"${k}"?`)].join(', ')}${extra.length ? ` (not ${extra.map((k) => `"${k}"`).join(', ')})` : ''}`);
  }
  switch (b.format) {
    case 'in-toto':
      return { format: 'in-toto', statement: b.statement! };
    case 'dsse':
      return { format: 'dsse', payloadType: b.payload_type!, payload: parseBase64(b.payload_base64!) };
    case 'hashmatch':
      if (b.kind === 'match') {
        if (!b.match || b.tournament) throw new EvidentError('INPUT_INVALID', 'hashmatch kind "match" takes "match" (not "tournament")');
        return { format: 'hashmatch', kind: 'match', match: matchInput(b.match, 'match'), issuedBy: b.issued_by };
      }
      if (!b.tournament || b.match) throw new EvidentError('INPUT_INVALID', 'hashmatch kind "tournament" takes "tournament" (not "match")');
      return {
        format: 'hashmatch',
        kind: 'tournament',
        tournament: { manifest: b.tournament.manifest, standings: b.tournament.standings, matches: b.tournament.matches.map((x, i) => matchInput(x, `tournament.matches[${i}]`)) },
        issuedBy: b.issued_by,
      };
    case 'eli': {
      const tx = isJsonObject(lossless) ? lossless.transaction : undefined;
      if (!isJsonObject(tx)) throw new EvidentError('INPUT_INVALID', 'transaction must be a JSON object');
      for (const k of Object.keys(tx)) if (!(PACKET_FIELDS as readonly string[]).includes(k) && k !== 'halo_chain') throw new EvidentError('INPUT_INVALID', `unknown transaction field "${k}"`);
      return { format: 'eli', transaction: tx, texts: b.texts, now };
    }
    case 'wcp': {
      const rec = isJsonObject(lossless) ? lossless.record : undefined;
      if (!isJsonObject(rec)) throw new EvidentError('INPUT_INVALID', 'record must be a JSON object');
      return { format: 'wcp', record: rec };
    }
  }
}

/** Policy before signing: a WCP record whose hashes are on the service's ban list is refused (ATTEST_BANNED_HASH). */
export async function checkReceiptPolicy(r: ServiceReceiptRequest, wcp: WcpStore): Promise<void> {
  if (r.format !== 'wcp') return;
  const f = wcpRecordFacts(r.record as JsonObject, { requireHash: false });
  const ban = await wcp.findBan(banCandidates(f.artifactHash, r.record));
  if (ban) throw new EvidentError('ATTEST_BANNED_HASH', `hash ${ban.sha256} is on the ban list: ${ban.reason}`);
}

/**
 * HTTP status of a coded library refusal: 400 malformed, 413 over the receipt payload limit (PAYLOAD_TOO_LARGE: the
 * message names the size and the limit), 422 tampered / inconsistent / banned; undefined → 500.
 */
export function refusalStatus(code: string | undefined): 400 | 413 | 422 | undefined {
  if (!code) return undefined;
  if (code === 'PAYLOAD_TOO_LARGE') return 413;
  if (/^(INPUT_|JSON_|BASE64_|HEX_)/.test(code)) return 400;
  if (REJECT_CODES.has(code)) return 422;
  return undefined;
}
