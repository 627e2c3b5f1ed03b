/**
 * CPHAR seal registry and challenge-response over HTTP (profile evident-cphar-0.1, docs/cphar.md). Thin: the
 * registry, nonce store, challenge builder and verifier are src/profiles/cphar/.
 *
 *   POST /v1/seals                 register   register a seal → 201 record
 *   GET  /v1/seals/{id}            public     record + append-only event history
 *   POST /v1/seals/{id}/state      register   lifecycle transition (only allowed ones; else 409)
 *   POST /v1/seals/{id}/revoke     register   revoke (terminal)
 *   POST /v1/challenges            issue      fresh challenge; its nonce is recorded as issued (single use, TTL)
 *   POST /v1/attestations          issue      verify {challenge, attestation} → report model (200 even when invalid)
 *
 * Registry events enter the service's transparency log (the event is acknowledged only once logged). Challenges
 * and attestations need the `issue` scope: issuing writes a nonce row (anonymous callers could flood the table) and
 * verifying consumes one (an eavesdropper could otherwise burn a legitimate verifier's nonce first). Verification
 * accepts only nonces this service issued (requireIssued), consumed atomically in the database: a replay is REPLAY
 * on every instance sharing the database.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { JsonWebKey, KeyObject } from 'node:crypto';
import type { RouteContext } from '../context.ts';
import { EvidentError } from '../../kernel/errors.ts';
import { importPublicKey } from '../../kernel/keys.ts';
import { Registry, SEAL_STATES, ACTIVE_STATES, type SealState } from '../../profiles/cphar/registry.ts';
import { DEFAULT_NONCE_TTL_MS } from '../../profiles/cphar/nonces.ts';
import { makeChallenge } from '../../profiles/cphar/messages.ts';
import { verifyToReport } from '../../profiles/cphar/verify.ts';
import { openServiceNonces } from './nonces.ts';

const SEAL_ID = '^[A-Za-z0-9_.:-]{1,128}$';
const MEASUREMENT = '^sha256:[0-9a-f]{64}$';

const jwkIn = {
  type: 'object',
  additionalProperties: false,
  required: ['kty'],
  description: 'public JWK (OKP/Ed25519 or EC/P-256); private members are rejected',
  properties: {
    kty: { type: 'string', enum: ['OKP', 'EC'] },
    crv: { type: 'string', maxLength: 16 },
    x: { type: 'string', maxLength: 128 },
    y: { type: 'string', maxLength: 128 },
    kid: { type: 'string', maxLength: 200 },
    alg: { type: 'string', maxLength: 16 },
    use: { type: 'string', maxLength: 16 },
  },
} as const;

const sealRecordSchema = {
  type: 'object',
  required: ['seal_id', 'alg', 'public_jwk', 'firmware_measurements', 'lot', 'state', 'created_at', 'updated_at'],
  properties: {
    seal_id: { type: 'string' },
    alg: { type: 'string', enum: ['Ed25519', 'ES256'] },
    public_jwk: { type: 'object', additionalProperties: true },
    firmware_measurements: { type: 'array', items: { type: 'string' } },
    lot: { type: ['string', 'null'] },
    state: { type: 'string', enum: [...SEAL_STATES] },
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
  },
} as const;

const eventSchema = {
  type: 'object',
  required: ['type', 'version', 'seq', 'seal_id', 'event', 'from', 'to', 'at', 'data'],
  properties: {
    type: { type: 'string' },
    version: { type: 'string' },
    seq: { type: 'integer' },
    seal_id: { type: 'string' },
    event: { type: 'string' },
    from: { type: ['string', 'null'] },
    to: { type: 'string' },
    at: { type: 'string' },
    data: { type: 'object', additionalProperties: true },
  },
} as const;

const str = (max: number) => ({ type: 'string', maxLength: max }) as const;
/** Structure only (members, strings, bounds); values are judged by the verifier and reported (MESSAGE_INVALID). */
const challengeIn = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'version', 'seal_id', 'nonce', 'timestamp', 'domain'],
  properties: { type: str(64), version: str(16), seal_id: str(128), nonce: str(128), timestamp: str(64), domain: str(253) },
} as const;
const attestationIn = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'version', 'seal_id', 'challenge_hash', 'signature', 'firmware_measurement'],
  properties: { type: str(64), version: str(16), seal_id: str(128), challenge_hash: str(71), signature: str(200), firmware_measurement: str(71) },
} as const;
const challengeOut = {
  type: 'object',
  required: ['type', 'version', 'seal_id', 'nonce', 'timestamp', 'domain'],
  properties: { type: { type: 'string' }, version: { type: 'string' }, seal_id: { type: 'string' }, nonce: { type: 'string' }, timestamp: { type: 'string' }, domain: { type: 'string' } },
} as const;

const idParams = { type: 'object', required: ['id'], additionalProperties: false, properties: { id: { type: 'string', pattern: SEAL_ID } } } as const;

/** Library error codes → HTTP status. Anything else is a server error. */
const STATUS: Record<string, number> = {
  INPUT_INVALID: 400,
  KEY_INVALID: 400,
  KEY_UNSUPPORTED: 400,
  SEAL_UNKNOWN: 404,
  SEAL_EXISTS: 409,
  LOT_ALREADY_BOUND: 409,
  TRANSITION_INVALID: 409,
  TRANSITION_CONFLICT: 409,
};

export async function registerCphar(app: FastifyInstance, ctx: RouteContext): Promise<void> {
  const { opts, fail, requireScope, bump, schemas } = ctx;
  const registry = await Registry.open(opts.db, { appendToLog: (e) => opts.log.append(e) });
  const nonces = await openServiceNonces(opts.db);
  const err = schemas.error;
  const authErrors = { 401: err, 403: err, 429: err };

  /** Map a coded library refusal to its status; rethrow anything else (→ 500). */
  const refuse = (reply: FastifyReply, e: unknown): FastifyReply => {
    const code = e instanceof EvidentError ? e.code : undefined;
    const status = code ? STATUS[code] : undefined;
    if (!code || !status) throw e;
    return fail(reply, status, code, (e as Error).message);
  };

  app.post<{ Body: { seal_id: string; public_key: string | JsonWebKey; alg?: 'ed25519' | 'es256'; firmware_measurements: string[]; lot?: string; state?: 'Manufactured' | 'Registered' } }>(
    '/v1/seals',
    {
      preHandler: requireScope('register'),
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['seal_id', 'public_key', 'firmware_measurements'],
          properties: {
            seal_id: { type: 'string', pattern: SEAL_ID },
            public_key: {
              oneOf: [{ type: 'string', maxLength: 16384, pattern: '^\\s*-----BEGIN PUBLIC KEY-----', not: { pattern: 'PRIVATE KEY' }, description: 'SPKI public key PEM' }, jwkIn],
            },
            alg: { type: 'string', enum: ['ed25519', 'es256'], description: 'when given, the key must be of this algorithm' },
            firmware_measurements: { type: 'array', minItems: 1, maxItems: 64, items: { type: 'string', pattern: MEASUREMENT } },
            lot: { type: 'string', maxLength: 200, description: 'lot commitment; at most one live seal per lot' },
            state: { type: 'string', enum: ['Manufactured', 'Registered'], description: 'initial state (default Registered)' },
          },
        },
        response: { 201: sealRecordSchema, 400: err, 409: err, ...authErrors },
      },
    },
    async (req, reply) => {
      const b = req.body;
      try {
        const key: KeyObject = importPublicKey(b.public_key, b.alg);
        const rec = await registry.register({ sealId: b.seal_id, publicKey: key, firmware: b.firmware_measurements, lot: b.lot, state: b.state });
        bump('evident_cphar_seals_registered_total');
        return reply.code(201).send(rec);
      } catch (e) {
        return refuse(reply, e);
      }
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/seals/:id',
    {
      schema: {
        params: idParams,
        response: {
          200: {
            type: 'object',
            required: ['seal', 'active', 'events'],
            properties: { seal: sealRecordSchema, active: { type: 'boolean', description: 'may attest (Sealed or Attested)' }, events: { type: 'array', items: eventSchema } },
          },
          400: err,
          404: err,
        },
      },
    },
    async (req, reply) => {
      const seal = await registry.get(req.params.id);
      if (!seal) return fail(reply, 404, 'SEAL_UNKNOWN', `seal ${req.params.id} is not registered`);
      return { seal, active: ACTIVE_STATES.includes(seal.state), events: await registry.events(seal.seal_id) };
    },
  );

  app.post<{ Params: { id: string }; Body: { state: SealState; note?: string } }>(
    '/v1/seals/:id/state',
    {
      preHandler: requireScope('register'),
      schema: {
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['state'],
          properties: { state: { type: 'string', enum: [...SEAL_STATES] }, note: { type: 'string', maxLength: 1000, description: 'stored in the event' } },
        },
        response: { 200: sealRecordSchema, 400: err, 404: err, 409: err, ...authErrors },
      },
    },
    async (req, reply) => {
      try {
        return await registry.transition(req.params.id, req.body.state, req.body.note !== undefined ? { note: req.body.note } : {});
      } catch (e) {
        return refuse(reply, e);
      }
    },
  );

  app.post<{ Params: { id: string }; Body: { reason: string } }>(
    '/v1/seals/:id/revoke',
    {
      preHandler: requireScope('register'),
      schema: {
        params: idParams,
        body: { type: 'object', additionalProperties: false, required: ['reason'], properties: { reason: { type: 'string', minLength: 1, maxLength: 1000 } } },
        response: { 200: sealRecordSchema, 400: err, 404: err, 409: err, ...authErrors },
      },
    },
    async (req, reply) => {
      try {
        return await registry.revoke(req.params.id, req.body.reason);
      } catch (e) {
        return refuse(reply, e);
      }
    },
  );

  app.post<{ Body: { seal_id: string } }>(
    '/v1/challenges',
    {
      preHandler: requireScope('issue'),
      schema: {
        body: { type: 'object', additionalProperties: false, required: ['seal_id'], properties: { seal_id: { type: 'string', pattern: SEAL_ID } } },
        response: { 201: challengeOut, 400: err, 404: err, ...authErrors },
      },
    },
    async (req, reply) => {
      const sealId = req.body.seal_id;
      if (!(await registry.get(sealId))) return fail(reply, 404, 'SEAL_UNKNOWN', `seal ${sealId} is not registered`);
      const now = Date.now();
      await nonces.maybePurge(now, req.log);
      const c = makeChallenge(sealId, { now });
      await nonces.store.issue(c.nonce, c.seal_id, now, now + DEFAULT_NONCE_TTL_MS);
      bump('evident_cphar_challenges_issued_total');
      reply.header('cache-control', 'no-store');
      return reply.code(201).send(c);
    },
  );

  app.post<{ Body: { challenge: Record<string, string>; attestation: Record<string, string> } }>(
    '/v1/attestations',
    {
      preHandler: requireScope('issue'),
      schema: {
        body: { type: 'object', additionalProperties: false, required: ['challenge', 'attestation'], properties: { challenge: challengeIn, attestation: attestationIn } },
        response: { 200: schemas.report, 400: err, ...authErrors },
      },
    },
    async (req) => {
      const { report, result } = await verifyToReport(req.body.challenge, req.body.attestation, { seals: registry, nonces: nonces.store, requireIssuedNonce: true });
      bump(`evident_cphar_attestations_total{result="${result.ok ? 'OK' : result.reason}"}`);
      return report.toJSON();
    },
  );
}
