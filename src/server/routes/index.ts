/**
 * The service's route modules, one per area, registered in this order by buildServer (../app.ts). Each is
 * `(app: FastifyInstance, ctx: RouteContext) => Promise<void>` (../context.ts) and adds its routes and hooks to the
 * root instance; add a route to its area's module, a new area as a new module listed here.
 */
import type { RouteModule } from '../context.ts';
import { registerCphar } from './cphar.ts';
import { registerEngine } from './engine.ts';
import { registerWcp } from './wcp.ts';
import { registerHealth } from './health.ts';
import { registerKeys } from './keys.ts';
import { registerVerify } from './verify.ts';
import { registerTokens } from './tokens.ts';
import { registerReceipts } from './receipts.ts';
import { registerLog } from './log.ts';
import { registerPublicHeaders } from './public.ts';
import { registerSigstore } from './sigstore.ts';
import { registerPage } from './page.ts';

export type { RouteModule } from '../context.ts';

export const ROUTE_MODULES: RouteModule[] = [
  registerCphar, // /v1/seals…, /v1/challenges, /v1/attestations
  registerEngine, // /v1/engine/info, /v1/engine/attest, /compress/info, /compress/attest
  registerWcp, // /v1/wcp/enroll, /v1/wcp/ban-list, /v1/wcp/verify/{worker_id}
  registerHealth, // /healthz, /readyz, /metrics
  registerKeys, // /.well-known/jwks.json, /v1/keys, /v1/keys/{kid}, /v1/keys/rotate, /v1/keys/{kid}/revoke
  registerVerify, // /v1/verify
  registerTokens, // /v1/tokens
  registerReceipts, // /v1/receipts, /v1/receipts/{id}
  registerLog, // /checkpoint, /v1/log, /v1/log/inclusion, /v1/log/consistency, /tile/…
  registerSigstore, // /v1/trusted-root, /v1/timestamp (RFC 3161)
  registerPage, // /verify (the offline verifier page)
  registerPublicHeaders, // CORS on public reads; errors never cached
];
