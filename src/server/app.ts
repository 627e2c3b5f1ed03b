/**
 * The Evident HTTP service (Fastify). Thin: this module only composes; every area's routes are a module under
 * routes/ (routes/index.ts lists them), shared types and helpers are context.ts, non-route plumbing (body parser,
 * error handlers, auth) is plumbing.ts, and every route calls library code.
 *
 * Reads are public; writes need `Authorization: Bearer <token>` with a scope (tokens.ts). Every body is parsed by
 * the kernel's lossless parser (duplicate keys rejected, depth-bounded) and limited in size; limit violations answer
 * 413/400 naming the limit. CORS is off (no CORS headers are ever sent).
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { ServerOptions } from './context.ts';
import { Metrics } from './metrics.ts';
import { createRouteContext, installBodyParser, installErrorHandlers, installRequestMetrics, resolveLimits } from './plumbing.ts';
import { genReqId, installRequestIds } from './request-id.ts';
import { ROUTE_MODULES } from './routes/index.ts';
import { guardedServerOptions, installGuards } from './guards.ts';
import { installOpenApi } from './routes/openapi.ts';

export { DEFAULT_BODY_LIMIT, DEFAULT_MAX_JSON_DEPTH, type ServerOptions, type ServiceKey } from './context.ts';
export { serviceKey } from './keyring.ts';

export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  const limits = resolveLimits(opts);
  const app = Fastify({
    bodyLimit: limits.bodyLimit,
    // reject (never strip or coerce) what the schemas do not allow
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false } },
    logger: opts.logger ?? false,
    // pino's default request serializer logs method/url/host only: never headers (bearer tokens) or bodies
    genReqId, // X-Request-Id: honoured when valid, generated otherwise (request-id.ts); reqId of every log line
    ...guardedServerOptions(opts.guards), // header / body / idle timeouts → 408 (guards.ts)
  });

  const openapi = await installOpenApi(app); // before any route: @fastify/swagger listens to onRoute
  installRequestIds(app);
  const metrics = new Metrics({ log: opts.log });
  installRequestMetrics(app, metrics);
  installGuards(app, opts.guards, (series) => metrics.bump(series)); // auth before the body, pushback, per-address limits
  installBodyParser(app, limits);
  installErrorHandlers(app, limits);

  const ctx = createRouteContext(opts, limits, metrics);
  for (const register of [...ROUTE_MODULES, ...(opts.routeModules ?? [])]) await register(app, ctx);
  await openapi(app, ctx);
  return app;
}
