/**
 * WCP (pyhall) registry over HTTP: enrollment of registry records with the upstream `artifact_hash` check, a ban
 * list, and re-verification of enrolled records. Thin: hashing and deny codes are src/profiles/wcp/ and
 * src/profiles/statements.ts; storage is ../wcp-store.ts (SQLite or PostgreSQL).
 *
 *   POST /v1/wcp/enroll              register  {record, manifest?} → 201 (200 on re-enrollment, `updated: true`)
 *   GET  /v1/wcp/ban-list            public    upstream ban-list shape [{sha256, reason, reported_at, source, review_status}]
 *   POST /v1/wcp/ban-list            admin     {sha256, reason, source?, review_status?} → 201 (200 when already banned)
 *   DELETE /v1/wcp/ban-list/{sha256}?reason=…  admin  lift a ban → 200 {sha256, reason, lifted_at, log_index, ban}; 404
 *   GET  /v1/wcp/verify/{worker_id}  public    the report model: artifact_hash, enrollment log entry, manifest, ban list
 *
 * Refusals: 422 `DENY_WORKER_TAMPERED` (artifact_hash ≠ recomputed, upstream's code), `ATTEST_BANNED_HASH`,
 * `ATTEST_MANIFEST_ID_MISMATCH`, `ATTEST_NAMESPACE_INVALID`, `ATTEST_HASH_MISMATCH`, `WCP_TRUST_STATEMENT_MISMATCH`,
 * `ATTEST_SIG_INVALID`.
 * Bodies are parsed losslessly (../lossless-body.ts): the artifact_hash preimage is Python json.dumps, where `1.0`
 * and `1` differ. Enrollments, bans and lifted bans enter the transparency log as RFC 8785 events
 * (`evident.wcp.enroll/v1`, `evident.wcp.ban/v1`, `evident.wcp.unban/v1`) before they are stored. A manifest's
 * identity, namespace, trust statement and package hash are always checked; its `signature_hmac_sha256` only when
 * the service holds the WCP secret (`WCP_ATTEST_HMAC_KEY`, ServerOptions.wcpHmacSecret): then a bad MAC is 422
 * `ATTEST_SIG_INVALID`.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { RouteContext } from '../context.ts';
import { EvidentError } from '../../kernel/errors.ts';
import { canonicalBytes, canonicalizePython, isJsonObject, type JsonObject } from '../../kernel/json/index.ts';
import { sha256Digest, timingSafeEqualBytes } from '../../kernel/digest.ts';
import { Report } from '../../verify/report.ts';
import { parseRecord, verifyRecordReport } from '../../profiles/wcp/registry.ts';
import { deriveNamespace, trustStatement, verifyManifestHmac } from '../../profiles/wcp/manifest.ts';
import { REJECT_CODES, wcpRecordFacts } from '../../profiles/statements.ts';
import { WcpStore, WORKER_ID, banCandidates, bareHash, wcpRecordSchema, type BanEntry, type EnrolledWorker } from '../wcp-store.ts';
import { losslessBody, useLosslessJsonBodies } from '../lossless-body.ts';

export const ENROLL_EVENT_TYPE = 'evident.wcp.enroll/v1';
export const BAN_EVENT_TYPE = 'evident.wcp.ban/v1';
export const UNBAN_EVENT_TYPE = 'evident.wcp.unban/v1';

const str = (max: number) => ({ type: 'string', maxLength: max }) as const;
const HEX64 = '^[0-9a-f]{64}$';
/** A hash naming a ban, in a request: 64 lowercase hex, `sha256:` prefix allowed. */
const BAN_HASH = '^(sha256:)?[0-9a-f]{64}$';

/** An awp.v1 worker manifest (manifest.json), Evident's optional Ed25519 members included. */
export const wcpManifestSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['schema_version', 'worker_id', 'worker_species_id', 'worker_version', 'package_hash', 'built_at_utc', 'signature_hmac_sha256'],
  properties: {
    schema_version: { type: 'string', const: 'awp.v1' },
    worker_id: str(256),
    worker_species_id: str(256),
    worker_version: str(256),
    package_hash: { type: 'string', pattern: HEX64 },
    built_at_utc: str(64),
    attested_at_utc: str(64),
    build_source: str(64),
    trust_statement: str(1024),
    signature_hmac_sha256: { type: 'string', pattern: HEX64 },
    signature_ed25519: str(200),
    signature_ed25519_kid: str(200),
  },
} as const;

const banEntrySchema = {
  type: 'object',
  required: ['sha256', 'reason', 'reported_at', 'source', 'review_status', 'log_index'],
  properties: { sha256: { type: 'string' }, reason: { type: 'string' }, reported_at: { type: 'string' }, source: { type: 'string' }, review_status: { type: 'string' }, log_index: { type: 'integer' } },
} as const;

const unbanOut = {
  type: 'object',
  required: ['sha256', 'reason', 'lifted_at', 'log_index', 'ban'],
  properties: {
    sha256: { type: 'string' },
    reason: { type: 'string', description: 'why the ban was lifted' },
    lifted_at: { type: 'string' },
    log_index: { type: 'integer', description: 'log index of the evident.wcp.unban/v1 event' },
    ban: banEntrySchema,
  },
} as const;

const enrollOut = {
  type: 'object',
  required: ['enrolled', 'enrollment_id', 'worker_id', 'worker_species_id', 'artifact_hash', 'artifact_hash_verified', 'package_hash', 'enrolled_at', 'updated', 'log'],
  properties: {
    enrolled: { type: 'boolean' },
    enrollment_id: { type: 'string', description: 'sha256 of the enrollment event (the log entry)' },
    worker_id: { type: 'string' },
    worker_species_id: { type: 'string' },
    artifact_hash: { type: 'string' },
    artifact_hash_verified: { type: 'boolean' },
    package_hash: { type: ['string', 'null'] },
    enrolled_at: { type: 'string' },
    updated: { type: 'boolean', description: 'true when the worker was enrolled before (its record is replaced)' },
    log: { type: 'object', required: ['origin', 'index'], properties: { origin: { type: 'string' }, index: { type: 'integer' } } },
  },
} as const;

/** The transparency-log entry of an enrollment (rebuilt from the stored row by the verify route). */
export function enrollEvent(e: { worker_id: string; worker_species_id: string; artifact_hash: string; package_hash: string | null; manifest: string | null; at: string }): Uint8Array {
  return canonicalBytes({
    type: ENROLL_EVENT_TYPE,
    worker_id: e.worker_id,
    worker_species_id: e.worker_species_id,
    artifact_hash: e.artifact_hash,
    package_hash: e.package_hash,
    manifest_hash: e.manifest === null ? null : sha256Digest(e.manifest),
    at: e.at,
  });
}

const canonicalText = (v: JsonObject) => canonicalizePython(v, { ensureAscii: true });

/** Check an enrolled manifest against its record, and its HMAC when the secret is known. */
function checkManifest(m: JsonObject, workerId: string, speciesId: string, record: JsonObject, secret: string | undefined): void {
  if (m.worker_id !== workerId || m.worker_species_id !== speciesId) {
    throw new EvidentError('ATTEST_MANIFEST_ID_MISMATCH', `manifest worker_id / worker_species_id (${String(m.worker_id)} / ${String(m.worker_species_id)}) do not match the record (${workerId} / ${speciesId})`);
  }
  const ns = deriveNamespace(m.worker_id);
  if (m.trust_statement !== undefined && m.trust_statement !== trustStatement(ns, String(m.built_at_utc), String(m.package_hash))) {
    throw new EvidentError('WCP_TRUST_STATEMENT_MISMATCH', 'manifest trust_statement does not match its signed fields');
  }
  const att = record.attestation;
  const code = isJsonObject(att) ? att.code_hash : undefined;
  if (typeof code === 'string' && bareHash(code) !== m.package_hash) {
    throw new EvidentError('ATTEST_HASH_MISMATCH', `record attestation.code_hash ${code} differs from the manifest package_hash ${String(m.package_hash)}`);
  }
  if (secret !== undefined && !verifyManifestHmac(m, secret)) {
    throw new EvidentError('ATTEST_SIG_INVALID', 'manifest signature_hmac_sha256 does not verify with the service\'s WCP secret');
  }
}

export async function registerWcp(app: FastifyInstance, ctx: RouteContext): Promise<void> {
  const { opts, fail, requireScope, bump, schemas, limits } = ctx;
  const store = await WcpStore.open(opts.db);
  const err = schemas.error;
  const authErrors = { 401: err, 403: err, 429: err };

  /** Coded library refusals → 400 (malformed) / 422 (tampered, banned, inconsistent); anything else → 500. */
  const refuse = (reply: FastifyReply, e: unknown): FastifyReply => {
    const code = e instanceof EvidentError ? e.code : undefined;
    if (code && /^(INPUT_|JSON_)/.test(code)) return fail(reply, 400, code, (e as Error).message);
    if (code && REJECT_CODES.has(code)) return fail(reply, 422, code, (e as Error).message);
    throw e;
  };

  await app.register(async (scope) => {
    useLosslessJsonBodies(scope, limits);

    scope.post(
      '/v1/wcp/enroll',
      {
        preHandler: requireScope('register'),
        schema: {
          body: { type: 'object', additionalProperties: false, required: ['record'], properties: { record: wcpRecordSchema(true), manifest: wcpManifestSchema } },
          response: { 200: enrollOut, 201: enrollOut, 400: err, 422: err, ...authErrors },
        },
      },
      async (req, reply) => {
        const body = losslessBody(req) as JsonObject;
        const record = body.record as JsonObject;
        const manifest = body.manifest === undefined ? undefined : (body.manifest as JsonObject);
        let facts;
        try {
          facts = wcpRecordFacts(record, { requireHash: true });
          if (manifest) checkManifest(manifest, facts.workerId, facts.speciesId, record, opts.wcpHmacSecret);
        } catch (e) {
          return refuse(reply, e);
        }
        const packageHash = manifest ? (manifest.package_hash as string) : null;
        const ban = await store.findBan(banCandidates(facts.artifactHash, record, packageHash));
        if (ban) return fail(reply, 422, 'ATTEST_BANNED_HASH', `hash ${ban.sha256} is on the ban list: ${ban.reason}`);

        const at = new Date().toISOString();
        const row = {
          worker_id: facts.workerId,
          worker_species_id: facts.speciesId,
          artifact_hash: facts.artifactHash,
          record: canonicalText(record),
          manifest: manifest ? canonicalText(manifest) : null,
          package_hash: packageHash,
        };
        const event = enrollEvent({ ...row, at });
        const ack = await opts.log.append(event);
        const { updated, enrolled_at } = await store.upsertWorker({ ...row, logged_at: at, log_index: ack.index });
        bump('evident_wcp_enrollments_total');
        return reply.code(updated ? 200 : 201).send({
          enrolled: true,
          enrollment_id: sha256Digest(event),
          worker_id: row.worker_id,
          worker_species_id: row.worker_species_id,
          artifact_hash: row.artifact_hash,
          artifact_hash_verified: true,
          package_hash: packageHash,
          enrolled_at,
          updated,
          log: { origin: opts.log.origin, index: ack.index },
        });
      },
    );

    scope.get<{ Querystring: { limit?: string } }>(
      '/v1/wcp/ban-list',
      {
        schema: {
          querystring: { type: 'object', additionalProperties: false, properties: { limit: { type: 'string', pattern: '^[1-9][0-9]{0,5}$', description: 'at most this many entries (default: all)' } } },
          response: { 200: { type: 'array', description: 'the upstream ban-list shape; `evident wcp verify --ban-list FILE` reads it', items: banEntrySchema }, 400: err },
        },
      },
      async (req, reply) => {
        reply.header('cache-control', 'no-cache');
        return store.listBans(req.query.limit === undefined ? undefined : Number(req.query.limit));
      },
    );

    scope.post<{ Body: { sha256: string; reason: string; source?: string; review_status?: string } }>(
      '/v1/wcp/ban-list',
      {
        preHandler: requireScope('admin'),
        schema: {
          body: {
            type: 'object',
            additionalProperties: false,
            required: ['sha256', 'reason'],
            properties: {
              sha256: { type: 'string', pattern: BAN_HASH, description: 'a package hash, attestation code_hash or record artifact_hash' },
              reason: { type: 'string', minLength: 1, maxLength: 1000 },
              source: { type: 'string', minLength: 1, maxLength: 200, description: 'default "evident"' },
              review_status: { type: 'string', minLength: 1, maxLength: 64, description: 'default "confirmed"' },
            },
          },
          response: { 200: banEntrySchema, 201: banEntrySchema, 400: err, ...authErrors },
        },
      },
      async (req, reply) => {
        const sha = bareHash(req.body.sha256);
        const existing = await store.findBan([sha]);
        if (existing) return reply.code(200).send(existing);
        const entry: Omit<BanEntry, 'log_index'> = {
          sha256: sha,
          reason: req.body.reason,
          reported_at: new Date().toISOString(),
          source: req.body.source ?? 'evident',
          review_status: req.body.review_status ?? 'confirmed',
        };
        const ack = await opts.log.append(canonicalBytes({ type: BAN_EVENT_TYPE, ...entry }));
        const ban: BanEntry = { ...entry, log_index: ack.index };
        if (!(await store.addBan(ban))) return reply.code(200).send((await store.findBan([sha]))!);
        bump('evident_wcp_bans_total');
        return reply.code(201).send(ban);
      },
    );

    scope.delete<{ Params: { sha256: string }; Querystring: { reason: string } }>(
      '/v1/wcp/ban-list/:sha256',
      {
        preHandler: requireScope('admin'),
        schema: {
          params: { type: 'object', required: ['sha256'], additionalProperties: false, properties: { sha256: { type: 'string', pattern: BAN_HASH } } },
          querystring: { type: 'object', required: ['reason'], additionalProperties: false, properties: { reason: { type: 'string', minLength: 1, maxLength: 1000, description: 'why the ban is lifted (logged)' } } },
          response: { 200: unbanOut, 400: err, 404: err, ...authErrors },
        },
      },
      async (req, reply) => {
        const sha = bareHash(req.params.sha256);
        const ban = await store.findBan([sha]);
        if (!ban) return fail(reply, 404, 'BAN_NOT_FOUND', `hash ${sha} is not on the ban list`);
        // logged before the row goes, as bans are: the log holds every ban and every lift
        const lift = { sha256: sha, reason: req.query.reason, lifted_at: new Date().toISOString(), ban_log_index: ban.log_index };
        const ack = await opts.log.append(canonicalBytes({ type: UNBAN_EVENT_TYPE, ...lift }));
        const removed = await store.removeBan(sha);
        if (!removed) return fail(reply, 404, 'BAN_NOT_FOUND', `hash ${sha} is not on the ban list (lifted concurrently)`);
        bump('evident_wcp_unbans_total');
        return { sha256: sha, reason: lift.reason, lifted_at: lift.lifted_at, log_index: ack.index, ban: removed };
      },
    );

    scope.get<{ Params: { worker_id: string } }>(
      '/v1/wcp/verify/:worker_id',
      {
        schema: {
          params: { type: 'object', required: ['worker_id'], additionalProperties: false, properties: { worker_id: { type: 'string', pattern: WORKER_ID } } },
          response: { 200: schemas.report, 400: err, 404: err },
        },
      },
      async (req, reply) => {
        const w = await store.getWorker(req.params.worker_id);
        if (!w) return fail(reply, 404, 'WORKER_NOT_FOUND', `worker ${req.params.worker_id} is not enrolled`);
        return (await verifyEnrolled(w)).toJSON();
      },
    );
  });

  /** Re-verify a stored enrollment: record + artifact_hash, the logged event, the manifest, the ban list. */
  async function verifyEnrolled(w: EnrolledWorker): Promise<Report> {
    const report = new Report('wcp.registry-record', 'strict');
    let record: JsonObject;
    let manifest: JsonObject | undefined;
    try {
      record = parseRecord(w.record, 'strict');
      manifest = w.manifest === null ? undefined : parseRecord(w.manifest, 'strict');
    } catch (e) {
      return report.fail('record', 'input', (e as EvidentError).code ?? 'INPUT_INVALID', `stored record unreadable: ${(e as Error).message}`);
    }
    report.merge(verifyRecordReport(record, 'strict'));
    if (!report.valid) return report;

    const entry = await opts.log.getEntry(w.log_index);
    const expected = enrollEvent({ worker_id: w.worker_id, worker_species_id: String(record.worker_species_id), artifact_hash: String(record.artifact_hash), package_hash: w.package_hash, manifest: w.manifest, at: w.logged_at });
    if (entry && entry.length === expected.length && timingSafeEqualBytes(entry, expected)) report.pass('enrollment.log', `enrollment event logged at index ${w.log_index}`, { actual: String(w.log_index) });
    else report.fail('enrollment.log', 'integrity', 'LOG_ENTRY_MISMATCH', `the log entry at index ${w.log_index} is not this record's enrollment event`, { expected: sha256Digest(expected), actual: entry ? sha256Digest(entry) : '(missing)' });
    if (record.worker_id !== w.worker_id) report.fail('record.worker_id', 'integrity', 'ID_MISMATCH', 'stored record names another worker', { expected: w.worker_id, actual: String(record.worker_id) });

    if (manifest) {
      try {
        checkManifest(manifest, w.worker_id, String(record.worker_species_id), record, opts.wcpHmacSecret);
        const hmac = opts.wcpHmacSecret === undefined ? 'HMAC not checked: the service has no WCP secret' : 'HMAC-SHA256 verifies';
        report.pass('manifest', `manifest identity, namespace, trust statement and package hash consistent with the record; ${hmac}`);
      } catch (e) {
        const code = (e as EvidentError).code ?? 'INPUT_INVALID';
        const category = code === 'ATTEST_SIG_INVALID' ? 'signature' : code === 'ATTEST_HASH_MISMATCH' || code === 'WCP_TRUST_STATEMENT_MISMATCH' ? 'integrity' : 'policy';
        report.fail('manifest', category, code, (e as Error).message);
      }
    }

    const candidates = banCandidates(String(record.artifact_hash), record, w.package_hash);
    const ban = await store.findBan(candidates);
    if (ban) report.fail('ban_list', 'policy', 'ATTEST_BANNED_HASH', `hash is on the ban list: ${ban.reason}`, { actual: ban.sha256 });
    else report.pass('ban_list', `none of ${candidates.length} hash(es) is on the ban list`);
    return report;
  }
}
