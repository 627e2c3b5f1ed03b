/**
 * Service signing keys (ELI-compatible shapes: kid, alg, jwk, public_key_pem); rotation and revocation through the
 * key ring (../keyring.ts).
 *
 *   GET  /.well-known/jwks.json    public   JWKS of the active and retired keys (revoked ones left out)
 *   GET  /v1/keys                  public   every key with its life cycle
 *   GET  /v1/keys/{kid}            public   one key (404 KEY_NOT_FOUND)
 *   POST /v1/keys/rotate           admin    optional body {"alg": "ed25519" | "es256" | "rs256"} (default ed25519):
 *                                           a new key becomes active and signs from now on; the previous active key
 *                                           is retired and stays published for verification
 *   POST /v1/keys/{kid}/revoke     admin    optional body {"reason": "…"}: left out of the JWKS, listed with
 *                                           revoked_at in /v1/keys, never signs again; revoking the active key
 *                                           first rotates to a new one
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { EvidentError } from '../../kernel/errors.ts';
import { publicKeyJwk, publicKeyPem, algOfKey, isSigAlg, JOSE_ALG, SIG_ALGS, type SigAlg } from '../../kernel/keys.ts';
import type { RouteContext, ServiceKey } from '../context.ts';

const jwkSchema = {
  type: 'object',
  additionalProperties: true,
  required: ['kty', 'kid'],
  properties: { kty: { type: 'string' }, kid: { type: 'string' } },
} as const;

const keyInfoSchema = {
  type: 'object',
  required: ['kid', 'alg', 'status', 'created_at', 'jwk', 'public_key_pem'],
  properties: {
    kid: { type: 'string' },
    alg: { type: 'string' },
    status: { type: 'string', enum: ['active', 'retired', 'revoked'] },
    created_at: { type: 'string' },
    retired_at: { type: 'string' },
    revoked_at: { type: 'string' },
    revocation_reason: { type: 'string' },
    jwk: jwkSchema,
    public_key_pem: { type: 'string' },
  },
} as const;

const jwksOut = { type: 'object', required: ['keys'], properties: { keys: { type: 'array', items: jwkSchema } } } as const;
const keysOut = { type: 'object', required: ['keys'], properties: { keys: { type: 'array', items: keyInfoSchema } } } as const;
const kidParams = { type: 'object', properties: { kid: { type: 'string', maxLength: 200 } } } as const;
const rotateOut = {
  type: 'object',
  required: ['active', 'retired'],
  properties: { active: keyInfoSchema, retired: { type: 'array', items: { type: 'string' } } },
} as const;
const revokeOut = {
  type: 'object',
  required: ['revoked', 'active', 'rotated', 'already'],
  properties: { revoked: keyInfoSchema, active: keyInfoSchema, rotated: { type: 'boolean' }, already: { type: 'boolean' } },
} as const;

export function keyInfo(k: ServiceKey) {
  return {
    kid: k.kid,
    alg: JOSE_ALG[algOfKey(k.key)],
    status: k.status,
    created_at: k.createdAt,
    ...(k.retiredAt ? { retired_at: k.retiredAt } : {}),
    ...(k.revokedAt ? { revoked_at: k.revokedAt } : {}),
    ...(k.revocationReason ? { revocation_reason: k.revocationReason } : {}),
    jwk: publicKeyJwk(k.key, { kid: k.kid, alg: JOSE_ALG[algOfKey(k.key)], use: 'sig' }),
    public_key_pem: publicKeyPem(k.key),
  };
}

/** Optional JSON object body (a bare POST has none): only the listed members, each a string. */
function optionalBody(body: unknown, allowed: string[]): Record<string, string> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw new EvidentError('SCHEMA_INVALID', 'body must be a JSON object');
  for (const [k, v] of Object.entries(body)) {
    if (!allowed.includes(k)) throw new EvidentError('SCHEMA_INVALID', `unknown member ${JSON.stringify(k)} (allowed: ${allowed.join(', ')})`);
    if (typeof v !== 'string' || v.length > 500) throw new EvidentError('SCHEMA_INVALID', `${k} must be a string (at most 500 characters)`);
  }
  return body as Record<string, string>;
}

export async function registerKeys(app: FastifyInstance, ctx: RouteContext): Promise<void> {
  const { opts, fail, requireScope, bump } = ctx;
  const err = ctx.schemas.error;
  const keyRing = opts.keyRing;
  if (keyRing) {
    // another process sharing the data directory (a second instance, `evident keys rotate`) may have changed the
    // ring: re-read it when ring.json changed (stat at most every 500 ms); a bad ring file keeps the loaded keys
    app.addHook('onRequest', async (req) => {
      try {
        keyRing.refresh();
      } catch (e) {
        req.log.error({ err: { message: (e as Error).message } }, 'key ring reload failed; keeping the loaded keys');
      }
    });
  }
  const keyById = (kid: string) => opts.keys.find((x) => x.kid === kid);
  const noRing = (reply: FastifyReply) => fail(reply, 503, 'KEY_RING_UNAVAILABLE', 'this server was started without a key ring');

  app.get('/.well-known/jwks.json', { schema: { response: { 200: jwksOut } } }, async (_req, reply) => {
    reply.header('cache-control', 'public, max-age=60');
    return { keys: opts.keys.filter((k) => k.status !== 'revoked').map((k) => keyInfo(k).jwk) };
  });

  app.get('/v1/keys', { schema: { response: { 200: keysOut } } }, async () => ({ keys: opts.keys.map(keyInfo) }));

  app.get<{ Params: { kid: string } }>(
    '/v1/keys/:kid',
    { schema: { params: kidParams, response: { 200: keyInfoSchema, 404: err } } },
    async (req, reply) => {
      const k = keyById(req.params.kid);
      return k ? keyInfo(k) : fail(reply, 404, 'KEY_NOT_FOUND', `no key ${JSON.stringify(req.params.kid)}`);
    },
  );

  app.post(
    '/v1/keys/rotate',
    {
      preHandler: requireScope('admin'),
      schema: { response: { 201: rotateOut, 400: err, 401: err, 403: err, 503: err } },
    },
    async (req, reply) => {
      if (!keyRing) return noRing(reply);
      let alg: SigAlg = 'ed25519';
      try {
        const b = optionalBody(req.body, ['alg']);
        if (b.alg !== undefined) {
          if (!isSigAlg(b.alg)) throw new EvidentError('SCHEMA_INVALID', `alg must be one of ${SIG_ALGS.join(', ')}`);
          alg = b.alg;
        }
      } catch (e) {
        return fail(reply, 400, (e as EvidentError).code, (e as Error).message);
      }
      const r = await keyRing.rotate(alg);
      bump('evident_key_rotations_total');
      return reply.code(201).send({ active: keyInfo(keyById(r.active.kid)!), retired: r.retired.map((e) => e.kid) });
    },
  );

  app.post<{ Params: { kid: string } }>(
    '/v1/keys/:kid/revoke',
    {
      preHandler: requireScope('admin'),
      schema: { params: kidParams, response: { 200: revokeOut, 400: err, 401: err, 403: err, 404: err, 503: err } },
    },
    async (req, reply) => {
      if (!keyRing) return noRing(reply);
      let reason: string | undefined;
      try {
        reason = optionalBody(req.body, ['reason']).reason;
      } catch (e) {
        return fail(reply, 400, (e as EvidentError).code, (e as Error).message);
      }
      try {
        const r = await keyRing.revoke(req.params.kid, reason);
        if (!r.already) bump('evident_key_revocations_total');
        return { revoked: keyInfo(keyById(r.revoked.kid)!), active: keyInfo(keyById(r.active.kid)!), rotated: r.rotated, already: r.already };
      } catch (e) {
        if (e instanceof EvidentError && e.code === 'KEY_NOT_FOUND') return fail(reply, 404, e.code, e.message);
        throw e;
      }
    },
  );
}
