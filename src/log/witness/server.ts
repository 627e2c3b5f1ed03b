/**
 * The witness HTTP service (`evident witness serve`): C2SP tlog-witness `POST /add-checkpoint`, plus
 * `GET /healthz` and `GET /vkey` (the witness's cosignature/v1 verifier key, for operators pinning it).
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { ADD_CHECKPOINT_MAX_BYTES, type Witness } from './protocol.ts';

export interface WitnessServerOptions {
  witness: Witness;
  /** The witness's vkey (served at GET /vkey). */
  vkey: string;
  logger?: boolean;
}

export async function buildWitnessServer(o: WitnessServerOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: o.logger ?? false, bodyLimit: ADD_CHECKPOINT_MAX_BYTES });
  // the body is a text protocol whatever the client calls it: take it as a string, never parse it as JSON
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  app.post('/add-checkpoint', async (req, reply) => {
    const body = typeof req.body === 'string' ? req.body : '';
    const r = await o.witness.addCheckpoint(body);
    return reply.code(r.status).type(r.contentType).header('cache-control', 'no-store').send(r.body);
  });
  app.get('/healthz', async () => ({ ok: true, logs: o.witness.origins() }));
  app.get('/vkey', async (_req, reply) => reply.type('text/plain; charset=utf-8').send(o.vkey + '\n'));
  app.setNotFoundHandler((_req, reply) => reply.code(404).type('text/plain; charset=utf-8').send('not found\n'));
  return app;
}
