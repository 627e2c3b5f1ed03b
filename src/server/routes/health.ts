/**
 * Health and metrics (public):
 *
 *   GET /healthz   liveness: {status: "ok", version}
 *   GET /readyz    readiness: the database answers `SELECT 1` within 2 s and, on SQLite, the data volume is
 *                  writable with space left (else 503 DB_UNAVAILABLE / STORAGE_UNAVAILABLE / STORAGE_FULL)
 *   GET /metrics   Prometheus text exposition (../metrics.ts)
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { parseDbUrl } from '../../store/db.ts';
import type { RouteContext } from '../context.ts';
import { VERSION } from '../../version.ts';
import { classifyFault, withDeadline } from '../../store/faults.ts';

const READY_DEADLINE_MS = 2_000;
/** Below this much free space on the SQLite volume the service is not ready (writes would fail STORAGE_FULL). */
const MIN_FREE_BYTES = 1024 * 1024;

/** The SQLite volume takes writes: not read-only (EROFS), not full. Throws a coded error otherwise. */
function storageProbe(url: string): void {
  const u = parseDbUrl(url);
  if (u.kind !== 'sqlite' || u.path === ':memory:') return;
  const dir = path.dirname(path.resolve(u.path));
  // a real write: a volume the kernel turned read-only after an error still shows "rw" in its mount flags
  const probe = path.join(dir, '.evident-ready-probe');
  fs.writeFileSync(probe, 'ready\n');
  fs.rmSync(probe, { force: true });
  const st = fs.statfsSync(dir);
  if (st.bavail * st.bsize < MIN_FREE_BYTES) throw Object.assign(new Error(`${st.bavail * st.bsize} bytes free on the data volume`), { code: 'ENOSPC' });
}

const healthOut = { type: 'object', properties: { status: { type: 'string' }, version: { type: 'string' } } } as const;
const readyOut = { type: 'object', properties: { status: { type: 'string' } } } as const;

export async function registerHealth(app: FastifyInstance, ctx: RouteContext): Promise<void> {
  const { opts, fail, schemas, metrics } = ctx;

  app.get('/healthz', { schema: { response: { 200: healthOut } } }, async () => ({ status: 'ok', version: VERSION }));

  app.get('/readyz', { schema: { response: { 200: readyOut, 503: schemas.error } } }, async (_req, reply) => {
    try {
      // a hung database must not hang the probe: 2 s deadline (../../store/faults.ts)
      if (opts.db.kind === 'sqlite') {
        opts.db.db.prepare('SELECT 1').get();
        storageProbe(opts.db.url);
      } else await withDeadline(opts.db.pool.query('SELECT 1'), READY_DEADLINE_MS, 'SELECT 1');
      return { status: 'ready' };
    } catch (e) {
      const f = classifyFault(e);
      return fail(reply.header('retry-after', String(f?.retryAfter ?? 2)), 503, f?.code === 'STORAGE_FULL' ? 'STORAGE_FULL' : (f?.code ?? 'DB_UNAVAILABLE'), (e as Error).message);
    }
  });

  app.get('/metrics', async (_req, reply) => {
    const { contentType, text } = await metrics.render();
    return reply.type(contentType).send(text);
  });
}
