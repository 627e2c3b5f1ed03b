/** Area route modules, registered in this order by buildServer (each adds its routes with the shared context). */
import type { FastifyInstance } from 'fastify';
import type { RouteContext } from '../context.ts';
import { registerCphar } from './cphar.ts';
import { registerEngine } from './engine.ts';
import { registerWcp } from './wcp.ts';

export type RouteModule = (app: FastifyInstance, ctx: RouteContext) => Promise<void> | void;

export const ROUTE_MODULES: RouteModule[] = [
  registerCphar, // /v1/seals…, /v1/challenges, /v1/attestations
  registerEngine, // /v1/engine/info, /v1/engine/attest, /compress/info, /compress/attest
  registerWcp, // /v1/wcp/enroll, /v1/wcp/ban-list, /v1/wcp/verify/{worker_id}
];
