/**
 * What a route module gets from the server: the options, the auth pre-handler, the error shape, metrics.
 * Route modules live in src/server/routes/ (one per area) and export `register(app, ctx)`.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Scope, TokenRecord } from './tokens.ts';
import type { ServerOptions } from './app.ts';

export interface RouteContext {
  opts: ServerOptions;
  /** preHandler requiring a bearer token with the scope (admin implies every scope); rate limited per token. */
  requireScope(scope: Scope): (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
  /** The token a requireScope pre-handler accepted. */
  tokenOf(req: FastifyRequest): TokenRecord | undefined;
  /** Send `{error, message}` with a status. */
  fail(reply: FastifyReply, status: number, error: string, message: string): FastifyReply;
  /** Increment a Prometheus counter line (full series name with labels). */
  bump(series: string): void;
  /** JSON Schemas shared by routes. */
  schemas: { error: object; report: object };
}

export const errorSchema = {
  type: 'object',
  required: ['error', 'message'],
  properties: { error: { type: 'string' }, message: { type: 'string' } },
} as const;

export function fail(reply: FastifyReply, status: number, error: string, message: string): FastifyReply {
  return reply.code(status).send({ error, message });
}
