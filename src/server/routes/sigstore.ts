/**
 * Evident as a private Sigstore (docs/sigstore.md):
 *
 *   GET  /v1/trusted-root   public   the deployment's Sigstore TrustedRoot (log key, logId, TSA chains, windows)
 *   POST /v1/timestamp      public   RFC 3161: application/timestamp-query → application/timestamp-reply
 *                                    (400 with a rejection TimeStampResp for a bad request; 503 without a TSA)
 *
 * GET /v1/receipts/{id}/sigstore (the bundle) lives with the receipts (routes/receipts.ts).
 */
import type { FastifyInstance } from 'fastify';
import type { RouteContext } from '../context.ts';
import { parseVkey } from '../../kernel/note.ts';
import { buildTrustedRoot, TRUSTED_ROOT_MEDIA_TYPE } from '../../receipts/trusted-root.ts';

/** Requests are a few dozen bytes (a digest, a nonce, flags); anything larger is refused. */
const MAX_TIMESTAMP_QUERY = 16 * 1024;

export async function registerSigstore(app: FastifyInstance, ctx: RouteContext): Promise<void> {
  const { opts, fail } = ctx;
  const sg = opts.sigstore;

  app.get('/v1/trusted-root', { schema: { response: { 200: { type: 'object', additionalProperties: true }, 503: ctx.schemas.error } } }, async (_req, reply) => {
    if (!sg) return fail(reply, 503, 'NO_TSA', 'this service has no timestamp authority: no Sigstore trusted root');
    sg.tsa.refresh();
    const root = buildTrustedRoot({
      logs: [{ origin: opts.log.origin, publicKey: parseVkey(opts.logVkey).publicKey, validFrom: sg.logValidFrom }],
      tsas: sg.tsa.authorities,
      ...(sg.ca ? { cas: sg.ca.authorities, ctlogs: sg.ca.ctlogs } : {}),
    });
    return reply.type(`${TRUSTED_ROOT_MEDIA_TYPE}`).send(JSON.stringify(root));
  });

  await app.register(async (scope) => {
    scope.addContentTypeParser('application/timestamp-query', { parseAs: 'buffer', bodyLimit: MAX_TIMESTAMP_QUERY }, (_req, body, done) => done(null, body));
    scope.post('/v1/timestamp', { schema: { response: { 200: { description: 'DER TimeStampResp (granted)' }, 400: { description: 'DER TimeStampResp (rejection)', type: 'string' }, 415: ctx.schemas.error, 503: ctx.schemas.error } } }, async (req, reply) => {
      if (!sg) return fail(reply, 503, 'NO_TSA', 'this service has no timestamp authority');
      if (!Buffer.isBuffer(req.body)) return fail(reply, 415, 'UNSUPPORTED_MEDIA_TYPE', 'send an RFC 3161 TimeStampReq as application/timestamp-query');
      sg.tsa.refresh();
      const r = await sg.tsa.active.respond(new Uint8Array(req.body));
      ctx.bump(`evident_timestamps_total{granted="${r.granted}"}`);
      return reply.code(r.granted ? 200 : 400).type('application/timestamp-reply').send(Buffer.from(r.response));
    });
  });
}
