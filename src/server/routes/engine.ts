/**
 * HarmonyØ4 engine status and runtime attestation over HTTP (specs/hashmatch-h4.md §B.2–B.4). Thin: sealing and
 * attestation are src/profiles/h4/ (sealing.ts, attest.ts).
 *
 * The engine is resolved ONCE at start-up (startService → loadSealedEngine(), before listening; pins that do not
 * match refuse the start) and passed in as `opts.engine`. All routes are public reads:
 *
 *   GET /v1/engine/info                  engine identity, fingerprint, sealed, deterministic…
 *   GET /v1/engine/attest?nonce=N[&ttl=S] strict: evident.h4.attestation.v1 signed with the service's active key,
 *                                        bound to the caller's nonce; each nonce is accepted once (409 REPLAY),
 *                                        across every instance sharing the database
 *   GET /compress/info                   upstream shape: engine.info()
 *   GET /compress/attest                 upstream shape: attest() with attestation_hash — UNSIGNED, no nonce
 *                                        (anyone can mint one; header x-evident-warning says so)
 */
import type { FastifyInstance } from 'fastify';
import type { RouteContext } from '../context.ts';
import { EvidentError } from '../../kernel/errors.ts';
import { ATTESTATION_TYPE, DEFAULT_TTL_SECONDS, MAX_TTL_SECONDS, compatAttestation, nonceStoreFrom, signAttestation } from '../../profiles/h4/attest.ts';
import { BUILTIN_ENGINE_NAMES } from '../../profiles/h4/engines.ts';
import { openServiceNonces } from './nonces.ts';

const engineInfoProps = {
  engine: { type: 'string' },
  engine_id: { type: 'string' },
  fingerprint: { type: 'string' },
  deterministic: { type: 'boolean' },
  identity_safe: { type: 'boolean' },
  opaque: { type: 'boolean' },
  sealed: { type: 'boolean' },
} as const;
const engineInfoRequired = ['engine', 'engine_id', 'fingerprint', 'deterministic', 'identity_safe', 'opaque', 'sealed'];

const signedAttestationSchema = {
  type: 'object',
  required: ['type', 'engine', 'engine_id', 'fingerprint', 'sealed', 'nonce', 'issued_at', 'expires_at', 'alg', 'kid', 'sig'],
  properties: {
    type: { type: 'string', const: ATTESTATION_TYPE },
    engine: { type: 'string' },
    engine_id: { type: 'string' },
    fingerprint: { type: 'string' },
    sealed: { type: 'boolean' },
    nonce: { type: 'string' },
    issued_at: { type: 'string' },
    expires_at: { type: 'string' },
    alg: { type: 'string', const: 'ed25519' },
    kid: { type: 'string' },
    sig: { type: 'string', description: 'standard base64 Ed25519 signature over JCS of every other member' },
  },
} as const;

const compatAttestationSchema = {
  type: 'object',
  required: ['engine_id', 'fingerprint', 'timestamp_unix', 'attestation_hash', 'sealed', 'engine'],
  properties: {
    engine_id: { type: 'string' },
    fingerprint: { type: 'string' },
    timestamp_unix: { type: 'integer' },
    attestation_hash: { type: 'string', description: 'hex SHA-256(engine_id|fingerprint|timestamp_unix): a plain digest, not a signature' },
    sealed: { type: 'boolean' },
    engine: { type: 'string' },
  },
} as const;

const UNSIGNED_WARNING = 'ATTEST_UNSIGNED: upstream-compatible attestation; attestation_hash is a plain digest (no key, no nonce), anyone can mint one';

export async function registerEngine(app: FastifyInstance, ctx: RouteContext): Promise<void> {
  const { opts, fail, bump, schemas } = ctx;
  const err = schemas.error;
  const nonces = await openServiceNonces(opts.db);
  const single = nonceStoreFrom(nonces.store);
  const notLoaded = 'the engine status was not loaded at start-up (ServerOptions.engine)';

  app.get(
    '/v1/engine/info',
    {
      schema: {
        response: {
          200: {
            type: 'object',
            required: [...engineInfoRequired, 'name', 'source', 'builtin'],
            properties: {
              ...engineInfoProps,
              name: { type: 'string' },
              source: { type: 'string', enum: ['none', 'env'], description: 'env: pinned by EVIDENT_ENGINE_* / HARMONY4_*; none: open reference engine' },
              builtin: { type: 'array', items: { type: 'string' } },
            },
          },
          503: err,
        },
      },
    },
    async (_req, reply) => {
      const st = opts.engine;
      if (!st) return fail(reply, 503, 'ENGINE_NOT_LOADED', notLoaded);
      return { ...st.engine.info(), name: st.engine.name, source: st.source, builtin: [...BUILTIN_ENGINE_NAMES] };
    },
  );

  // query values arrive as text; no coercion
  app.get<{ Querystring: { nonce: string; ttl?: string } }>(
    '/v1/engine/attest',
    {
      schema: {
        querystring: {
          type: 'object',
          required: ['nonce'],
          additionalProperties: false,
          properties: {
            nonce: { type: 'string', maxLength: 1024, description: 'verifier-chosen nonce: 16–256 of [A-Za-z0-9._~+/=-]; accepted once' },
            ttl: { type: 'string', pattern: '^[1-9][0-9]{0,5}$', description: `lifetime in seconds (default ${DEFAULT_TTL_SECONDS}, max ${MAX_TTL_SECONDS})` },
          },
        },
        response: { 200: signedAttestationSchema, 400: err, 409: err, 503: err },
      },
    },
    async (req, reply) => {
      const st = opts.engine;
      if (!st) return fail(reply, 503, 'ENGINE_NOT_LOADED', notLoaded);
      const active = opts.keys.find((k) => k.status === 'active');
      if (!active) return fail(reply, 503, 'NO_ACTIVE_KEY', 'the service has no active signing key');
      let att;
      try {
        att = signAttestation({ info: st.engine.info(), nonce: req.query.nonce, key: active.key, ttlSeconds: req.query.ttl === undefined ? undefined : Number(req.query.ttl) });
      } catch (e) {
        const code = e instanceof EvidentError ? e.code : undefined;
        if (code === 'NONCE_INVALID' || code === 'INPUT_INVALID') return fail(reply, 400, code, (e as Error).message);
        if (code === 'KEY_UNSUPPORTED') return fail(reply, 503, code, 'the service\'s active key cannot sign engine attestations (Ed25519 required)');
        throw e;
      }
      // released only if this is the nonce's first use (atomic in the database, kept until the attestation expires)
      await nonces.maybePurge(Date.now(), req.log);
      if (!(await single.consume(att.nonce, new Date(att.expires_at)))) {
        bump('evident_engine_attestations_total{result="REPLAY"}');
        return fail(reply, 409, 'REPLAY', 'this nonce was already used for an attestation');
      }
      bump('evident_engine_attestations_total{result="OK"}');
      reply.header('cache-control', 'no-store');
      return att;
    },
  );

  app.get('/compress/info', { schema: { response: { 200: { type: 'object', required: engineInfoRequired, properties: engineInfoProps }, 503: err } } }, async (_req, reply) => {
    const st = opts.engine;
    if (!st) return fail(reply, 503, 'ENGINE_NOT_LOADED', notLoaded);
    return st.engine.info();
  });

  app.get('/compress/attest', { schema: { response: { 200: compatAttestationSchema, 503: err } } }, async (_req, reply) => {
    const st = opts.engine;
    if (!st) return fail(reply, 503, 'ENGINE_NOT_LOADED', notLoaded);
    reply.header('cache-control', 'no-store');
    reply.header('x-evident-warning', UNSIGNED_WARNING);
    return compatAttestation(st.engine.info());
  });
}
