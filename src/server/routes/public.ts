/**
 * Headers of the public read API, for every route module:
 * - `Access-Control-Allow-Origin: *` on GET/HEAD of the public reads — /checkpoint, /tile/…, the JWKS, /v1/keys…,
 *   /v1/log…, /v1/receipts/{id}, /openapi.json, /healthz — so browsers and static-mirror tooling can read the log;
 *   never on writes (POST/DELETE) or admin routes.
 * - an error response never carries a cache header a route set before failing (a one-year `immutable` 500 would
 *   be cached by every CDN): errors are `no-store`.
 */
import type { FastifyInstance } from 'fastify';
import type { RouteContext } from '../context.ts';

const PUBLIC_READ = /^\/(?:checkpoint|tile\/.*|\.well-known\/jwks\.json|v1\/keys(?:\/[^/]+)?|v1\/log(?:\/[a-z]+)?|v1\/receipts\/[^/]+|openapi\.json|healthz)$/;

export function isPublicRead(method: string, url: string): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false;
  const q = url.indexOf('?');
  return PUBLIC_READ.test(q < 0 ? url : url.slice(0, q));
}

export async function registerPublicHeaders(app: FastifyInstance, _ctx: RouteContext): Promise<void> {
  app.addHook('onSend', async (req, reply, payload) => {
    if (reply.statusCode >= 400) reply.header('cache-control', 'no-store');
    if (isPublicRead(req.method, req.url)) reply.header('access-control-allow-origin', '*');
    return payload;
  });
}
