/**
 * Health and metrics (public):
 *
 *   GET /healthz   liveness: {status: "ok", version}
 *   GET /readyz    readiness: the database answers `SELECT 1` (503 DB_UNAVAILABLE otherwise)
 *   GET /metrics   Prometheus text exposition (../metrics.ts)
 */
import type { FastifyInstance } from 'fastify';
import type { RouteContext } from '../context.ts';
import { VERSION } from '../../version.ts';

const healthOut = { type: 'object', properties: { status: { type: 'string' }, version: { type: 'string' } } } as const;
const readyOut = { type: 'object', properties: { status: { type: 'string' } } } as const;

export async function registerHealth(app: FastifyInstance, ctx: RouteContext): Promise<void> {
  const { opts, fail, schemas, metrics } = ctx;

  app.get('/healthz', { schema: { response: { 200: healthOut } } }, async () => ({ status: 'ok', version: VERSION }));

  app.get('/readyz', { schema: { response: { 200: readyOut, 503: schemas.error } } }, async (_req, reply) => {
    try {
      if (opts.db.kind === 'sqlite') opts.db.db.prepare('SELECT 1').get();
      else await opts.db.pool.query('SELECT 1');
      return { status: 'ready' };
    } catch (e) {
      return fail(reply, 503, 'DB_UNAVAILABLE', (e as Error).message);
    }
  });

  app.get('/metrics', async (_req, reply) => {
    const { contentType, text } = await metrics.render();
    return reply.type(contentType).send(text);
  });
}
