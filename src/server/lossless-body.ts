/**
 * Lossless JSON bodies for routes whose hashes depend on number spelling (WCP artifact_hash and ELI json_c14n_v1
 * are Python json.dumps forms: `1.0` must stay `1.0`, big integers exact). Inside an encapsulated Fastify scope it
 * replaces the body parser with one that parses once, losslessly (same limits, duplicate keys rejected, same error
 * codes as the service-wide parser), validates the plain (JSON.parse-equivalent) view with the route's JSON Schema
 * as usual, and keeps the lossless tree for the handler ({@link losslessBody}).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parseJson, toPlain, type JsonValue } from '../kernel/json/index.ts';
import { EvidentError } from '../kernel/errors.ts';

const LOSSLESS = Symbol('evident.losslessBody');

export function useLosslessJsonBodies(scope: FastifyInstance, limits: { bodyLimit: number; maxDepth: number }): void {
  const { bodyLimit, maxDepth } = limits;
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser(['application/json', 'application/*+json'], { parseAs: 'buffer', bodyLimit }, (req, body, done) => {
    try {
      const tree = parseJson(body as Buffer, { maxDepth, maxBytes: bodyLimit, numbers: 'lossless' });
      (req as FastifyRequest & { [LOSSLESS]?: JsonValue })[LOSSLESS] = tree;
      done(null, toPlain(tree));
    } catch (e) {
      const code = (e as EvidentError).code ?? 'JSON_SYNTAX';
      const err = new EvidentError(code, code === 'JSON_TOO_DEEP' ? `JSON nesting exceeds the limit of ${maxDepth}` : (e as Error).message) as EvidentError & { statusCode: number };
      err.statusCode = 400;
      done(err, undefined);
    }
  });
}

/** The lossless tree of a body parsed in a {@link useLosslessJsonBodies} scope (JsonNumber for every number). */
export function losslessBody(req: FastifyRequest): JsonValue | undefined {
  return (req as FastifyRequest & { [LOSSLESS]?: JsonValue })[LOSSLESS];
}
