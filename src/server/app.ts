/**
 * The Evident HTTP service (Fastify). Thin: every route calls library code.
 *
 * Reads are public; writes need `Authorization: Bearer <token>` with a scope (tokens.ts). Every body is parsed by
 * the kernel's lossless parser (duplicate keys rejected, depth-bounded) and limited in size; limit violations answer
 * 413/400 naming the limit. CORS is off (no CORS headers are ever sent).
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { KeyObject } from 'node:crypto';
import { parseJson } from '../kernel/json/index.ts';
import { EvidentError } from '../kernel/errors.ts';
import { parseBase64 } from '../kernel/encoding.ts';
import { publicKeyJwk, publicKeyPem, keyId, algOfKey, isSigAlg, JOSE_ALG, SIG_ALGS, type SigAlg } from '../kernel/keys.ts';
import { bytesInput, verifyAny, listFormats } from '../verify/detect.ts';
import type { DbHandle } from '../store/db.ts';
import { TokenStore, SCOPES, type Scope, type TokenRecord } from './tokens.ts';
import { VERSION } from '../version.ts';
import { RateLimiter, type RateLimitOptions } from './ratelimit.ts';
import type { TransparencyLog } from '../log/index.ts';
import { parseTileIndexPath, TILE_WIDTH } from '../log/tiles.ts';
import { toBase64 } from '../kernel/encoding.ts';
import { issueReceipt, receiptAt, RECEIPT_FORMAT, type ReceiptRequest } from '../receipts/receipt.ts';
import { ReceiptIndex } from './receipt-index.ts';
import { receiptBodySchema, toReceiptRequest, checkReceiptPolicy, refusalStatus, type ReceiptBody } from './receipt-request.ts';
import { WcpStore } from './wcp-store.ts';
import { useLosslessJsonBodies, losslessBody } from './lossless-body.ts';
import { errorSchema, fail, type RouteContext } from './context.ts';
import { VKEY_RE } from '../kernel/note.ts';
import { ROUTE_MODULES, type RouteModule } from './routes/index.ts';

export interface ServiceKey {
  kid: string;
  /** The private key for the active key (it signs), the public key otherwise. */
  key: KeyObject;
  status: 'active' | 'retired' | 'revoked';
  createdAt: string;
  retiredAt?: string;
  revokedAt?: string;
  revocationReason?: string;
}

export interface ServerOptions {
  db: DbHandle;
  tokens: TokenStore;
  /** Service signing keys, newest (active) first. Only public halves are ever served. A key ring updates it in place. */
  keys: ServiceKey[];
  /** The key ring behind `keys` (keyring.ts): enables POST /v1/keys/rotate and /v1/keys/{kid}/revoke. */
  keyRing?: import('./keyring.ts').KeyRing;
  bodyLimit?: number;
  maxJsonDepth?: number;
  logger?: boolean | object;
  /** The transparency log every issued receipt enters. */
  log: TransparencyLog;
  /** C2SP vkey of the log key (published at /v1/log). */
  logVkey: string;
  /** Per-token limits on authenticated (write) routes. */
  rateLimit?: RateLimitOptions;
  /** Extra route modules (src/server/routes/*) registered after the core routes' auth set-up. */
  routeModules?: RouteModule[];
  /** HarmonyØ4 engine resolved once at start-up (loadSealedEngine); served by the engine routes (503 without it). */
  engine?: import('../profiles/h4/sealing.ts').SealedEngineStatus;
  /**
   * The WCP attestation HMAC secret (`WCP_ATTEST_HMAC_KEY`): when set, an enrolled manifest's signature_hmac_sha256
   * must verify (422 ATTEST_SIG_INVALID) and GET /v1/wcp/verify checks it again; unset, it is stored unchecked.
   */
  wcpHmacSecret?: string;
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;
export const DEFAULT_MAX_JSON_DEPTH = 64;



const reportSchema = {
  type: 'object',
  required: ['valid', 'format', 'mode', 'exitCode', 'checks'],
  properties: {
    valid: { type: 'boolean' },
    format: { type: 'string' },
    mode: { type: 'string', enum: ['strict', 'compat'] },
    exitCode: { type: 'integer' },
    checks: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'ok', 'code', 'message'],
        properties: { id: { type: 'string' }, ok: { type: 'boolean' }, code: { type: 'string' }, message: { type: 'string' }, expected: { type: 'string' }, actual: { type: 'string' } },
      },
    },
  },
} as const;

const jwkSchema = { type: 'object', additionalProperties: true, required: ['kty', 'kid'], properties: { kty: { type: 'string' }, kid: { type: 'string' } } } as const;
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


export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  const bodyLimit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const maxDepth = opts.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH;
  const app = Fastify({
    bodyLimit,
    // reject (never strip or coerce) what the schemas do not allow
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false } },
    logger: opts.logger ?? false,
    // pino's default request serializer logs method/url/host only: never headers (bearer tokens) or bodies
  });

  const routes: Array<{ method: string; url: string; schema: unknown }> = [];
  app.addHook('onRoute', (r) => {
    const methods = Array.isArray(r.method) ? r.method : [r.method];
    for (const m of methods) if (m !== 'HEAD') routes.push({ method: m.toLowerCase(), url: r.url, schema: r.schema });
  });

  // ---- metrics (Prometheus text)
  const counters = new Map<string, number>();
  const verifyCounters = new Map<string, number>();
  const bump = (k: string) => counters.set(k, (counters.get(k) ?? 0) + 1);
  app.addHook('onResponse', async (req, reply) => {
    bump(`evident_http_requests_total{method="${req.method}",route="${req.routeOptions.url ?? 'unknown'}",status="${reply.statusCode}"}`);
  });

  // ---- bodies: the kernel's lossless, bounded, duplicate-rejecting parser
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/json', 'application/*+json'], { parseAs: 'buffer', bodyLimit }, (_req, body, done) => {
    try {
      done(null, parseJson(body as Buffer, { maxDepth, maxBytes: bodyLimit, numbers: 'native' }));
    } catch (e) {
      const code = (e as EvidentError).code ?? 'JSON_SYNTAX';
      const err = new EvidentError(code, code === 'JSON_TOO_DEEP' ? `JSON nesting exceeds the limit of ${maxDepth}` : (e as Error).message) as EvidentError & { statusCode: number };
      err.statusCode = 400;
      done(err, undefined);
    }
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || err.statusCode === 413) {
      return fail(reply, 413, 'BODY_TOO_LARGE', `request body exceeds the limit of ${bodyLimit} bytes`);
    }
    if (err.code === 'FST_ERR_VALIDATION') return fail(reply, 400, 'SCHEMA_INVALID', err.message);
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return fail(reply, 415, 'UNSUPPORTED_MEDIA_TYPE', 'bodies must be application/json');
    if (err.statusCode && err.statusCode < 500) return fail(reply, err.statusCode, err.code ?? 'BAD_REQUEST', err.message);
    reply.log.error({ err: { message: err.message, code: err.code } }, 'internal error');
    return fail(reply, 500, 'INTERNAL', 'internal error');
  });
  app.setNotFoundHandler((req, reply) => fail(reply, 404, 'NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`));

  // ---- auth
  const limiter = new RateLimiter(opts.rateLimit);
  const authenticate = async (req: FastifyRequest): Promise<TokenRecord | undefined> => {
    const h = req.headers.authorization;
    if (typeof h !== 'string' || !h.startsWith('Bearer ')) return undefined;
    return opts.tokens.authenticate(h.slice(7).trim());
  };
  /** preHandler requiring a scope (admin implies every scope). */
  const requireScope = (scope: Scope) => async (req: FastifyRequest, reply: FastifyReply) => {
    const t = await authenticate(req);
    if (!t) return fail(reply.header('www-authenticate', 'Bearer'), 401, 'UNAUTHENTICATED', 'a bearer token is required');
    if (!t.scopes.includes(scope) && !t.scopes.includes('admin')) return fail(reply, 403, 'INSUFFICIENT_SCOPE', `this route needs the "${scope}" scope`);
    const wait = limiter.take(t.id);
    if (wait > 0) return fail(reply.header('retry-after', String(wait)), 429, 'RATE_LIMITED', `token ${t.id} exceeded its rate limit`);
    (req as FastifyRequest & { token?: TokenRecord }).token = t;
  };
  const ctx: RouteContext = {
    opts,
    requireScope,
    tokenOf: (req) => (req as FastifyRequest & { token?: TokenRecord }).token,
    fail,
    bump,
    schemas: { error: errorSchema, report: reportSchema },
  };
  // area route modules (src/server/routes/*): each registers its own routes with ctx
  for (const register of [...ROUTE_MODULES, ...(opts.routeModules ?? [])]) await register(app, ctx);

  // ---- health
  app.get('/healthz', { schema: { response: { 200: { type: 'object', properties: { status: { type: 'string' }, version: { type: 'string' } } } } } }, async () => ({ status: 'ok', version: VERSION }));
  app.get('/readyz', { schema: { response: { 200: { type: 'object', properties: { status: { type: 'string' } } }, 503: errorSchema } } }, async (_req, reply) => {
    try {
      if (opts.db.kind === 'sqlite') opts.db.db.prepare('SELECT 1').get();
      else await opts.db.pool.query('SELECT 1');
      return { status: 'ready' };
    } catch (e) {
      return fail(reply, 503, 'DB_UNAVAILABLE', (e as Error).message);
    }
  });
  app.get('/metrics', async (_req, reply) => {
    const lines = ['# TYPE evident_http_requests_total counter'];
    for (const [k, v] of [...counters].sort()) lines.push(`${k} ${v}`);
    lines.push('# TYPE evident_verify_total counter');
    for (const [k, v] of [...verifyCounters].sort()) lines.push(`${k} ${v}`);
    lines.push('# TYPE evident_process_resident_memory_bytes gauge', `evident_process_resident_memory_bytes ${process.memoryUsage().rss}`);
    return reply.type('text/plain; version=0.0.4').send(lines.join('\n') + '\n');
  });

  // ---- keys (ELI-compatible shapes: kid, alg, jwk, public_key_pem); rotation and revocation through the key ring
  const keyInfo = (k: ServiceKey) => ({
    kid: k.kid,
    alg: JOSE_ALG[algOfKey(k.key)],
    status: k.status,
    created_at: k.createdAt,
    ...(k.retiredAt ? { retired_at: k.retiredAt } : {}),
    ...(k.revokedAt ? { revoked_at: k.revokedAt } : {}),
    ...(k.revocationReason ? { revocation_reason: k.revocationReason } : {}),
    jwk: publicKeyJwk(k.key, { kid: k.kid, alg: JOSE_ALG[algOfKey(k.key)], use: 'sig' }),
    public_key_pem: publicKeyPem(k.key),
  });
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
  app.get('/.well-known/jwks.json', { schema: { response: { 200: { type: 'object', required: ['keys'], properties: { keys: { type: 'array', items: jwkSchema } } } } } }, async (_req, reply) => {
    reply.header('cache-control', 'public, max-age=60');
    return { keys: opts.keys.filter((k) => k.status !== 'revoked').map((k) => keyInfo(k).jwk) };
  });
  app.get('/v1/keys', { schema: { response: { 200: { type: 'object', required: ['keys'], properties: { keys: { type: 'array', items: keyInfoSchema } } } } } }, async () => ({ keys: opts.keys.map(keyInfo) }));
  app.get<{ Params: { kid: string } }>(
    '/v1/keys/:kid',
    { schema: { params: { type: 'object', properties: { kid: { type: 'string', maxLength: 200 } } }, response: { 200: keyInfoSchema, 404: errorSchema } } },
    async (req, reply) => {
      const k = keyById(req.params.kid);
      return k ? keyInfo(k) : fail(reply, 404, 'KEY_NOT_FOUND', `no key ${JSON.stringify(req.params.kid)}`);
    },
  );
  /** Optional JSON object body (a bare POST has none): only the listed members, each a string. */
  const optionalBody = (body: unknown, allowed: string[]): Record<string, string> => {
    if (body === undefined || body === null) return {};
    if (typeof body !== 'object' || Array.isArray(body)) throw new EvidentError('SCHEMA_INVALID', 'body must be a JSON object');
    for (const [k, v] of Object.entries(body)) {
      if (!allowed.includes(k)) throw new EvidentError('SCHEMA_INVALID', `unknown member ${JSON.stringify(k)} (allowed: ${allowed.join(', ')})`);
      if (typeof v !== 'string' || v.length > 500) throw new EvidentError('SCHEMA_INVALID', `${k} must be a string (at most 500 characters)`);
    }
    return body as Record<string, string>;
  };
  const noRing = (reply: FastifyReply) => fail(reply, 503, 'KEY_RING_UNAVAILABLE', 'this server was started without a key ring');
  // POST /v1/keys/rotate, optional body {"alg": "ed25519" | "es256" | "rs256"} (default ed25519): a new key becomes
  // active and signs from now on; the previous active key is retired and stays published for verification.
  // POST /v1/keys/{kid}/revoke, optional body {"reason": "…"}: left out of the JWKS, listed with revoked_at in
  // /v1/keys, never signs again; revoking the active key first rotates to a new one.
  app.post(
    '/v1/keys/rotate',
    {
      preHandler: requireScope('admin'),
      schema: {
        response: {
          201: { type: 'object', required: ['active', 'retired'], properties: { active: keyInfoSchema, retired: { type: 'array', items: { type: 'string' } } } },
          400: errorSchema,
          401: errorSchema,
          403: errorSchema,
          503: errorSchema,
        },
      },
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
      schema: {
        params: { type: 'object', properties: { kid: { type: 'string', maxLength: 200 } } },
        response: {
          200: { type: 'object', required: ['revoked', 'active', 'rotated', 'already'], properties: { revoked: keyInfoSchema, active: keyInfoSchema, rotated: { type: 'boolean' }, already: { type: 'boolean' } } },
          400: errorSchema,
          401: errorSchema,
          403: errorSchema,
          404: errorSchema,
          503: errorSchema,
        },
      },
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

  // ---- verify: any artifact Evident knows; answers the report model (same as --json)
  app.post<{ Body: { artifact?: unknown; artifact_base64?: string; format?: string; mode?: 'strict' | 'compat'; keys?: string[]; log_key?: string } }>(
    '/v1/verify',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            artifact: { description: 'a JSON artifact (DSSE envelope, receipt, packet, proof…)' },
            artifact_base64: { type: 'string', description: 'any artifact as standard base64 bytes (signed notes, tlog-proofs, containers)' },
            format: { type: 'string', maxLength: 64 },
            mode: { type: 'string', enum: ['strict', 'compat'] },
            keys: { type: 'array', maxItems: 16, items: { type: 'string', maxLength: 65536 }, description: 'pinned public keys: PEM, JWK JSON or C2SP vkey' },
            log_key: { type: 'string', maxLength: 1024, description: 'pinned transparency-log key (C2SP vkey); default: this service\'s log key' },
          },
        },
        response: { 200: reportSchema, 400: errorSchema },
      },
    },
    async (req, reply) => {
      const b = req.body;
      if ((b.artifact === undefined) === (b.artifact_base64 === undefined)) return fail(reply, 400, 'INPUT_INVALID', 'give exactly one of "artifact" or "artifact_base64"');
      if (b.log_key !== undefined && !VKEY_RE.test(b.log_key)) return fail(reply, 400, 'KEY_INVALID', 'log_key must be a C2SP vkey');
      for (const k of b.keys ?? []) {
        // Never let a caller name a file on this server: inline keys only.
        if (!(k.includes('-----BEGIN ') || k.trimStart().startsWith('{') || VKEY_RE.test(k))) return fail(reply, 400, 'KEY_INVALID', 'keys must be inline PEM, JWK JSON or a C2SP vkey');
      }
      let bytes: Uint8Array;
      try {
        bytes = b.artifact_base64 !== undefined ? parseBase64(b.artifact_base64) : Buffer.from(JSON.stringify(b.artifact));
      } catch (e) {
        return fail(reply, 400, (e as EvidentError).code ?? 'INPUT_INVALID', (e as Error).message);
      }
      const report = await verifyAny(bytesInput(bytes), { mode: b.mode ?? 'strict', keys: b.keys ?? [], logKey: b.log_key ?? opts.logVkey }, b.format);
      const j = report.toJSON();
      const k = `evident_verify_total{format="${j.format.replace(/[^A-Za-z0-9_.-]/g, '_')}",valid="${j.valid}"}`;
      verifyCounters.set(k, (verifyCounters.get(k) ?? 0) + 1);
      return j;
    },
  );

  // ---- tokens (admin)
  app.post<{ Body: { scopes: string[]; label?: string } }>(
    '/v1/tokens',
    {
      preHandler: requireScope('admin'),
      schema: {
        body: { type: 'object', additionalProperties: false, required: ['scopes'], properties: { scopes: { type: 'array', minItems: 1, items: { type: 'string', enum: [...SCOPES] } }, label: { type: 'string', maxLength: 200 } } },
        response: { 201: { type: 'object', required: ['token', 'id', 'scopes'], properties: { token: { type: 'string' }, id: { type: 'string' }, scopes: { type: 'array', items: { type: 'string' } } } }, 401: errorSchema, 403: errorSchema },
      },
    },
    async (req, reply) => {
      const { token, record } = await opts.tokens.create(req.body.scopes, req.body.label ?? '');
      return reply.code(201).send({ token, id: record.id, scopes: record.scopes });
    },
  );

  // ---- receipts: sign, log, answer with the tlog-proof of the checkpoint that covers it
  const receipts = await ReceiptIndex.open(opts.db);
  const receiptSchema = {
    type: 'object',
    required: ['format', 'id', 'envelope', 'log', 'tlog_proof'],
    properties: {
      format: { type: 'string', const: RECEIPT_FORMAT },
      id: { type: 'string' },
      envelope: { type: 'object', additionalProperties: true },
      log: { type: 'object', properties: { origin: { type: 'string' }, index: { type: 'integer' } } },
      tlog_proof: { type: 'string' },
    },
  } as const;
  // Formats eli and wcp hash Python json.dumps forms (`1.0` ≠ `1`): this route's bodies are also kept lossless.
  const wcpBans = await WcpStore.open(opts.db);
  await app.register(async (scope) => {
    useLosslessJsonBodies(scope, { bodyLimit, maxDepth });
    scope.post<{ Body: ReceiptBody }>(
      '/v1/receipts',
      {
        preHandler: requireScope('issue'),
        schema: {
          body: receiptBodySchema,
          response: { 201: receiptSchema, 400: errorSchema, 401: errorSchema, 403: errorSchema, 422: errorSchema, 429: errorSchema, 503: errorSchema },
        },
      },
      async (req, reply) => {
        let r: ReceiptRequest;
        try {
          r = toReceiptRequest(req.body, losslessBody(req));
        } catch (e) {
          return fail(reply, 400, (e as EvidentError).code ?? 'INPUT_INVALID', (e as Error).message);
        }
        const active = opts.keys.find((k) => k.status === 'active');
        if (!active) return fail(reply, 503, 'NO_ACTIVE_KEY', 'the service has no active signing key');
        let receipt;
        try {
          await checkReceiptPolicy(r, wcpBans);
          receipt = await issueReceipt(opts.log, { privateKey: active.key, kid: active.kid }, r);
        } catch (e) {
          const status = e instanceof EvidentError ? refusalStatus(e.code) : undefined;
          if (status) return fail(reply, status, (e as EvidentError).code, (e as Error).message);
          throw e;
        }
        await receipts.put(receipt.id, receipt.log.index, r.format);
        bump('evident_receipts_issued_total');
        return reply.code(201).send(receipt);
      },
    );
  });
  app.get<{ Params: { id: string } }>(
    '/v1/receipts/:id',
    { schema: { params: { type: 'object', properties: { id: { type: 'string', pattern: '^sha256:[0-9a-f]{64}$' } } }, response: { 200: receiptSchema, 404: errorSchema } } },
    async (req, reply) => {
      const index = await receipts.get(req.params.id);
      const entry = index === undefined ? undefined : await opts.log.getEntry(index);
      if (index === undefined || !entry) return fail(reply, 404, 'RECEIPT_NOT_FOUND', `no receipt ${req.params.id}`);
      return receiptAt(opts.log, JSON.parse(Buffer.from(entry).toString('utf8')), index);
    },
  );

  // ---- log read API: checkpoint, C2SP tlog-tiles, proofs (public, cacheable where immutable)
  app.get('/checkpoint', async (_req, reply) => {
    reply.header('cache-control', 'no-cache');
    return reply.type('text/plain; charset=utf-8').send(await opts.log.latestCheckpoint());
  });
  // sequencer: whether this instance commits the log (PostgreSQL: holds the sequencer role) or forwards its appends
  app.get('/v1/log', { schema: { response: { 200: { type: 'object', properties: { origin: { type: 'string' }, vkey: { type: 'string' }, size: { type: 'integer' }, sequencer: { type: 'boolean' } } } } } }, async () => ({
    origin: opts.log.origin,
    vkey: opts.logVkey,
    size: await opts.log.size(),
    sequencer: opts.log.isSequencer(),
  }));
  // query values arrive as text; no coercion: an exact decimal pattern instead
  const intQ = { type: 'string', pattern: '^(0|[1-9][0-9]{0,14})$' } as const;
  const proofSchema = { type: 'object', properties: { size: { type: 'integer' }, proof: { type: 'array', items: { type: 'string' } } } } as const;
  app.get<{ Querystring: { index: string; size?: string } }>(
    '/v1/log/inclusion',
    { schema: { querystring: { type: 'object', required: ['index'], additionalProperties: false, properties: { index: intQ, size: intQ } }, response: { 200: proofSchema, 400: errorSchema } } },
    async (req, reply) => {
      const size = req.query.size === undefined ? await opts.log.size() : Number(req.query.size);
      const index = Number(req.query.index);
      if (index >= size) return fail(reply, 400, 'INPUT_INVALID', `index ${index} is not below size ${size}`);
      try {
        return { size, proof: (await opts.log.inclusionProof(index, size)).map(toBase64) };
      } catch (e) {
        return fail(reply, 400, (e as EvidentError).code ?? 'INPUT_INVALID', (e as Error).message);
      }
    },
  );
  app.get<{ Querystring: { from: string; to: string } }>(
    '/v1/log/consistency',
    { schema: { querystring: { type: 'object', required: ['from', 'to'], additionalProperties: false, properties: { from: intQ, to: intQ } }, response: { 200: proofSchema, 400: errorSchema } } },
    async (req, reply) => {
      const from = Number(req.query.from);
      const to = Number(req.query.to);
      if (from > to) return fail(reply, 400, 'INPUT_INVALID', '"from" must not exceed "to"');
      try {
        return { size: to, proof: (await opts.log.consistencyProof(from, to)).map(toBase64) };
      } catch (e) {
        return fail(reply, 400, (e as EvidentError).code ?? 'INPUT_INVALID', (e as Error).message);
      }
    },
  );
  app.get<{ Params: { '*': string } }>('/tile/*', async (req, reply) => {
    const m = /^(?:(entries)|(\d{1,2}))\/(.+?)(?:\.p\/(\d{1,3}))?$/.exec(req.params['*']);
    let n: number;
    try {
      if (!m) throw new EvidentError('INPUT_INVALID', 'not a tile path');
      n = parseTileIndexPath(m[3]!);
    } catch (e) {
      return fail(reply, 404, 'TILE_NOT_FOUND', (e as Error).message);
    }
    const width = m[4] === undefined ? TILE_WIDTH : Number(m[4]);
    if (width < 1 || width > TILE_WIDTH || (m[4] !== undefined && width === TILE_WIDTH) || (m[4] !== undefined && m[4] !== String(width))) return fail(reply, 404, 'TILE_NOT_FOUND', 'invalid partial width');
    const size = await opts.log.size();
    const level = m[1] ? 0 : Number(m[2]);
    if (level > 63) return fail(reply, 404, 'TILE_NOT_FOUND', 'invalid level');
    // number of hashes (or entries) at this tile level
    const count = Math.floor(size / TILE_WIDTH ** level);
    const first = n * TILE_WIDTH;
    if (first + width > count) return fail(reply, 404, 'TILE_NOT_FOUND', 'tile not (yet) available at this width');
    reply.header('cache-control', 'public, max-age=31536000, immutable');
    if (m[1]) {
      const parts: Uint8Array[] = [];
      for (let i = 0; i < width; i++) {
        const e = (await opts.log.getEntry(first + i))!;
        const len = Buffer.alloc(2);
        len.writeUInt16BE(e.length);
        parts.push(len, e);
      }
      return reply.type('application/octet-stream').send(Buffer.concat(parts));
    }
    const ids = Array.from({ length: width }, (_, i) => ({ level: level * 8, index: first + i }));
    const nodes = await opts.log.storage.getNodes(ids);
    const out = Buffer.alloc(width * 32);
    ids.forEach((id, i) => {
      const h = nodes.get(`${id.level}/${id.index}`);
      if (!h) throw new Error(`missing node ${id.level}/${id.index}`);
      out.set(h, i * 32);
    });
    return reply.type('application/octet-stream').send(out);
  });

  // ---- OpenAPI 3.1 from the routes' own JSON Schemas
  app.get('/openapi.json', async () => {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const r of routes) {
      const p = r.url.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
      const s = (r.schema ?? {}) as { body?: unknown; response?: Record<string, unknown>; params?: { properties?: Record<string, unknown> }; querystring?: { properties?: Record<string, unknown>; required?: string[] } };
      const op: Record<string, unknown> = { responses: {} };
      for (const [code, schema] of Object.entries(s.response ?? { 200: {} })) (op.responses as Record<string, unknown>)[code] = { description: code, content: { 'application/json': { schema } } };
      if (s.body) op.requestBody = { required: true, content: { 'application/json': { schema: s.body } } };
      const parameters: unknown[] = [];
      for (const [name, schema] of Object.entries(s.params?.properties ?? {})) parameters.push({ name, in: 'path', required: true, schema });
      for (const [name, schema] of Object.entries(s.querystring?.properties ?? {})) parameters.push({ name, in: 'query', required: (s.querystring?.required ?? []).includes(name), schema });
      if (parameters.length) op.parameters = parameters;
      (paths[p] ??= {})[r.method] = op;
    }
    return { openapi: '3.1.0', info: { title: 'Evident', version: VERSION, description: `Formats: ${listFormats().join(', ')}` }, paths };
  });

  return app;
}

export function serviceKey(key: KeyObject, createdAt: string, status: ServiceKey['status'] = 'active'): ServiceKey {
  return { kid: keyId(key, 'jwk'), key, status, createdAt };
}
