/**
 * GET /openapi.json: OpenAPI 3.1 from the routes' own JSON Schemas.
 *
 * collectOpenApi(app) must run before any route is added (it listens to onRoute); it returns the route module that
 * serves the document, registered after every other module.
 */
import type { FastifyInstance } from 'fastify';
import { VERSION } from '../../version.ts';
import { listFormats } from '../../verify/detect.ts';
import type { RouteModule } from '../context.ts';

interface RouteSchema {
  body?: unknown;
  response?: Record<string, unknown>;
  params?: { properties?: Record<string, unknown> };
  querystring?: { properties?: Record<string, unknown>; required?: string[] };
}

export function collectOpenApi(app: FastifyInstance): RouteModule {
  const routes: Array<{ method: string; url: string; schema: unknown }> = [];
  app.addHook('onRoute', (r) => {
    const methods = Array.isArray(r.method) ? r.method : [r.method];
    for (const m of methods) if (m !== 'HEAD') routes.push({ method: m.toLowerCase(), url: r.url, schema: r.schema });
  });

  return (scope) => {
    scope.get('/openapi.json', async () => {
      const paths: Record<string, Record<string, unknown>> = {};
      for (const r of routes) {
        const p = r.url.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
        const s = (r.schema ?? {}) as RouteSchema;
        const op: Record<string, unknown> = { responses: {} };
        for (const [code, schema] of Object.entries(s.response ?? { 200: {} })) {
          (op.responses as Record<string, unknown>)[code] = { description: code, content: { 'application/json': { schema } } };
        }
        if (s.body) op.requestBody = { required: true, content: { 'application/json': { schema: s.body } } };
        const parameters: unknown[] = [];
        for (const [name, schema] of Object.entries(s.params?.properties ?? {})) parameters.push({ name, in: 'path', required: true, schema });
        for (const [name, schema] of Object.entries(s.querystring?.properties ?? {})) {
          parameters.push({ name, in: 'query', required: (s.querystring?.required ?? []).includes(name), schema });
        }
        if (parameters.length) op.parameters = parameters;
        (paths[p] ??= {})[r.method] = op;
      }
      return { openapi: '3.1.0', info: { title: 'Evident', version: VERSION, description: `Formats: ${listFormats().join(', ')}` }, paths };
    });
  };
}
