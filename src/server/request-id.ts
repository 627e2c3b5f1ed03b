/**
 * Request ids: an incoming `X-Request-Id` is honoured when it is at most 128 characters of
 * `A-Z a-z 0-9 . _ : / + = @ -` (anything else, or none, gets a fresh UUID v4). The id is Fastify's `req.id`:
 * it is returned as `X-Request-Id` on every response (errors and 404s included) and is the `reqId` of every log line
 * written for the request (req.log / reply.log, "incoming request" and "request completed").
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';

export const REQUEST_ID_HEADER = 'x-request-id';
export const MAX_REQUEST_ID_LENGTH = 128;
const REQUEST_ID_RE = /^[A-Za-z0-9._:/+=@-]{1,128}$/;

/** The caller's id if it is acceptable, else undefined. */
export function acceptableRequestId(v: unknown): string | undefined {
  return typeof v === 'string' && REQUEST_ID_RE.test(v) ? v : undefined;
}

/** Fastify `genReqId`: honour a valid X-Request-Id, generate one otherwise. */
export function genReqId(req: IncomingMessage): string {
  return acceptableRequestId(req.headers[REQUEST_ID_HEADER]) ?? randomUUID();
}

/** Return the id on every response (set first thing, so error and not-found answers carry it too). */
export function installRequestIds(app: FastifyInstance): void {
  app.addHook('onRequest', async (req, reply) => {
    reply.header(REQUEST_ID_HEADER, req.id);
  });
}
