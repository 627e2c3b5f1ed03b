/**
 * API tokens (admin):
 *
 *   POST /v1/tokens   {scopes: [...], label?} → 201 {token, id, scopes} (the token is shown once)
 */
import type { FastifyInstance } from 'fastify';
import { SCOPES } from '../tokens.ts';
import type { RouteContext } from '../context.ts';

const tokenBody = {
  type: 'object',
  additionalProperties: false,
  required: ['scopes'],
  properties: {
    scopes: { type: 'array', minItems: 1, items: { type: 'string', enum: [...SCOPES] } },
    label: { type: 'string', maxLength: 200 },
  },
} as const;

const tokenOut = {
  type: 'object',
  required: ['token', 'id', 'scopes'],
  properties: { token: { type: 'string' }, id: { type: 'string' }, scopes: { type: 'array', items: { type: 'string' } } },
} as const;

export async function registerTokens(app: FastifyInstance, ctx: RouteContext): Promise<void> {
  const { opts, requireScope } = ctx;
  const err = ctx.schemas.error;

  app.post<{ Body: { scopes: string[]; label?: string } }>(
    '/v1/tokens',
    { preHandler: requireScope('admin'), schema: { body: tokenBody, response: { 201: tokenOut, 401: err, 403: err } } },
    async (req, reply) => {
      const { token, record } = await opts.tokens.create(req.body.scopes, req.body.label ?? '');
      return reply.code(201).send({ token, id: record.id, scopes: record.scopes });
    },
  );
}
