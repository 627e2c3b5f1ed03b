/**
 * Service-wide plumbing that is not a route: the lossless bounded body parser, the error and not-found handlers,
 * bearer-token authentication, and the RouteContext built from them.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseJson } from '../kernel/json/index.ts';
import { EvidentError } from '../kernel/errors.ts';
import type { Scope, TokenRecord } from './tokens.ts';
import { RateLimiter } from './ratelimit.ts';
import { classifyFault } from '../store/faults.ts';
import type { Metrics } from './metrics.ts';
import { MAX_PAYLOAD_BYTES, MAX_PAYLOAD_LIMIT_BYTES } from '../receipts/receipt.ts';
import { DEFAULT_BODY_LIMIT, DEFAULT_MAX_JSON_DEPTH, errorSchema, fail, reportSchema, type BodyLimits, type RouteContext, type ServerOptions } from './context.ts';

/** The limits in force: options with their defaults; an out-of-range receipt payload limit refuses the start. */
export function resolveLimits(opts: ServerOptions): BodyLimits {
  const maxReceiptPayload = opts.maxReceiptPayload ?? MAX_PAYLOAD_BYTES;
  if (!Number.isSafeInteger(maxReceiptPayload) || maxReceiptPayload < 1 || maxReceiptPayload > MAX_PAYLOAD_LIMIT_BYTES) {
    throw new EvidentError('INPUT_INVALID', `the receipt payload limit must be 1..${MAX_PAYLOAD_LIMIT_BYTES} bytes (a log entry must fit a C2SP entry bundle), got ${opts.maxReceiptPayload}`);
  }
  return { bodyLimit: opts.bodyLimit ?? DEFAULT_BODY_LIMIT, maxDepth: opts.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH, maxReceiptPayload };
}

/** Bodies: the kernel's lossless, bounded, duplicate-rejecting parser (plain JS values for handlers). */
export function installBodyParser(app: FastifyInstance, { bodyLimit, maxDepth }: BodyLimits): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/json', 'application/*+json'], { parseAs: 'buffer', bodyLimit }, (_req, body, done) => {
    try {
      done(null, parseJson(body as Buffer, { maxDepth, maxBytes: bodyLimit, numbers: 'native' }));
    } catch (e) {
      const code = (e as EvidentError).code ?? 'JSON_SYNTAX';
      const message = code === 'JSON_TOO_DEEP' ? `JSON nesting exceeds the limit of ${maxDepth}` : (e as Error).message;
      const err = new EvidentError(code, message) as EvidentError & { statusCode: number };
      err.statusCode = 400;
      done(err, undefined);
    }
  });
}

/** Every error answers `{error, message}`; 5xx details stay in the log. */
export function installErrorHandlers(app: FastifyInstance, { bodyLimit }: BodyLimits): void {
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || err.statusCode === 413) {
      return fail(reply, 413, 'BODY_TOO_LARGE', `request body exceeds the limit of ${bodyLimit} bytes`);
    }
    if (err.code === 'FST_ERR_VALIDATION') return fail(reply, 400, 'SCHEMA_INVALID', err.message);
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return fail(reply, 415, 'UNSUPPORTED_MEDIA_TYPE', 'bodies must be application/json');
    if (err.statusCode && err.statusCode < 500) return fail(reply, err.statusCode, err.code ?? 'BAD_REQUEST', err.message);
    // database / storage faults (../store/faults.ts): coded, retryable, never a bare 500
    const fault = classifyFault(err);
    if (fault) {
      reply.log.warn({ err: { message: err.message, code: err.code } }, fault.code);
      return fail(reply.header('retry-after', String(fault.retryAfter)), fault.status, fault.code, fault.message);
    }
    reply.log.error({ err: { message: err.message, code: err.code } }, 'internal error');
    return fail(reply, 500, 'INTERNAL', 'internal error');
  });
  app.setNotFoundHandler((req, reply) => fail(reply, 404, 'NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`));
}

type WithToken = FastifyRequest & { token?: TokenRecord };

/** The context every route module gets: options, limits, auth pre-handlers, error helper, metrics. */
export function createRouteContext(opts: ServerOptions, limits: BodyLimits, metrics: Metrics): RouteContext {
  const limiter = new RateLimiter(opts.rateLimit);
  const authenticate = async (req: FastifyRequest): Promise<TokenRecord | undefined> => {
    const h = req.headers.authorization;
    if (typeof h !== 'string' || !h.startsWith('Bearer ')) return undefined;
    return opts.tokens.authenticate(h.slice(7).trim());
  };
  /** preHandler requiring a scope (admin implies every scope); tagged with the scope for the OpenAPI document. */
  const requireScope = (scope: Scope) => Object.assign(async (req: FastifyRequest, reply: FastifyReply) => {
    const t = await authenticate(req);
    if (!t) return fail(reply.header('www-authenticate', 'Bearer'), 401, 'UNAUTHENTICATED', 'a bearer token is required');
    if (!t.scopes.includes(scope) && !t.scopes.includes('admin')) return fail(reply, 403, 'INSUFFICIENT_SCOPE', `this route needs the "${scope}" scope`);
    const wait = limiter.take(t.id);
    if (wait > 0) return fail(reply.header('retry-after', String(wait)), 429, 'RATE_LIMITED', `token ${t.id} exceeded its rate limit`);
    (req as WithToken).token = t;
  }, { requiredScope: scope });
  return {
    opts,
    limits,
    requireScope,
    tokenOf: (req) => (req as WithToken).token,
    fail,
    bump: (series) => metrics.bump(series),
    metrics,
    schemas: { error: errorSchema, report: reportSchema },
  };
}

/** Count every response and observe its latency, by method, route template and status. */
export function installRequestMetrics(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', async (req, reply) => {
    metrics.observeRequest(req.method, req.routeOptions.url ?? 'unknown', reply.statusCode, reply.elapsedTime / 1000);
  });
}
