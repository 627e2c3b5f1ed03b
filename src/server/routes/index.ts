/** Area route modules, registered in this order by buildServer (each adds its routes with the shared context). */
import type { FastifyInstance } from 'fastify';
import type { RouteContext } from '../context.ts';

export type RouteModule = (app: FastifyInstance, ctx: RouteContext) => Promise<void> | void;

export const ROUTE_MODULES: RouteModule[] = [];
