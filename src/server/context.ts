/**
 * The server's shared types and helpers: options, the context every route module gets, the error shape and the
 * schemas several areas share. Route modules (src/server/routes/, one per area) import this module; it imports no
 * route module and nothing that imports one (checked by test/import-cycles.test.ts).
 *
 * A route module is `export async function registerX(app: FastifyInstance, ctx: RouteContext): Promise<void>`,
 * listed in routes/index.ts (ROUTE_MODULES).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { DbHandle } from '../store/db.ts';
import type { TransparencyLog } from '../log/index.ts';
import type { WitnessCollector } from '../log/witness/collector.ts';
import type { SealedEngineStatus } from '../profiles/h4/sealing.ts';
import type { Scope, TokenRecord, TokenStore } from './tokens.ts';
import type { RateLimitOptions } from './ratelimit.ts';
import type { KeyRing, ServiceKey } from './keyring.ts';
import type { Metrics } from './metrics.ts';

export type { ServiceKey } from './keyring.ts';

/** Timeouts, pushback and per-address limits of the service (installed by guards.ts, which has the defaults). */
export interface GuardOptions {
  /** Work requests in progress at once before 503 OVERLOADED (default 256). */
  maxInFlight?: number;
  /** Whole request (headers + body) deadline in ms (default 10 000) → 408. */
  requestTimeoutMs?: number;
  /** Headers deadline in ms (default 10 000, at most requestTimeoutMs). */
  headersTimeoutMs?: number;
  /** Idle keep-alive connections are closed after this many ms (default 5 000). */
  keepAliveTimeoutMs?: number;
  /** POST /v1/verify per client address (default 20/s, burst 40). */
  verifyRate?: RateLimitOptions;
  /** Failed authentications per client address (default 30 per minute, burst 30). */
  authFailures?: RateLimitOptions;
}

export interface ServerOptions {
  db: DbHandle;
  tokens: TokenStore;
  /** Service signing keys, newest (active) first. Only public halves are ever served. A key ring updates it in place. */
  keys: ServiceKey[];
  /** The key ring behind `keys` (keyring.ts): enables POST /v1/keys/rotate and /v1/keys/{kid}/revoke. */
  keyRing?: KeyRing;
  bodyLimit?: number;
  maxJsonDepth?: number;
  /**
   * Largest DSSE payload POST /v1/receipts signs, in bytes (default 40 KiB = MAX_PAYLOAD_BYTES, at most 47 KiB =
   * MAX_PAYLOAD_LIMIT_BYTES); over it: 413 PAYLOAD_TOO_LARGE. serve --max-receipt-payload / EVIDENT_MAX_RECEIPT_PAYLOAD.
   */
  maxReceiptPayload?: number;
  logger?: boolean | object;
  /** The transparency log every issued receipt enters. */
  log: TransparencyLog;
  /** C2SP vkey of the log key (published at /v1/log). */
  logVkey: string;
  /** Sigstore compatibility: the TSA, the log key's start, the receipt format issued (routes/sigstore.ts). */
  sigstore?: import('./sigstore-options.ts').SigstoreServerOptions;
  /** Witness cosignature collection (serve --witness): POST /v1/receipts?cosigned=N waits on it. */
  witnesses?: WitnessCollector;
  /** How long POST /v1/receipts?cosigned=N waits for the cosignatures (default 10 s). */
  witnessWaitMs?: number;
  /** Cosignatures a receipt waits for by default (serve --witness-quorum; ?cosigned= overrides). */
  witnessQuorum?: number;
  /** Per-token limits on authenticated (write) routes. */
  rateLimit?: RateLimitOptions;
  /** Timeouts, pushback and per-address limits (guards.ts; defaults there, EVIDENT_* environment overrides). */
  guards?: GuardOptions;
  /** Extra route modules (same signature as src/server/routes/*), registered after the built-in ones. */
  routeModules?: RouteModule[];
  /** HarmonyØ4 engine resolved once at start-up (loadSealedEngine); served by the engine routes (503 without it). */
  engine?: SealedEngineStatus;
  /**
   * The WCP attestation HMAC secret (`WCP_ATTEST_HMAC_KEY`): when set, an enrolled manifest's signature_hmac_sha256
   * must verify (422 ATTEST_SIG_INVALID) and GET /v1/wcp/verify checks it again; unset, it is stored unchecked.
   */
  wcpHmacSecret?: string;
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;
export const DEFAULT_MAX_JSON_DEPTH = 64;

/** The body limits in force (ServerOptions with the defaults applied). */
export interface BodyLimits {
  bodyLimit: number;
  maxDepth: number;
  /** The receipt payload limit (ServerOptions.maxReceiptPayload with its default). */
  maxReceiptPayload: number;
}

/** A route module: registers one area's routes (and hooks) on the root instance. */
export type RouteModule = (app: FastifyInstance, ctx: RouteContext) => Promise<void> | void;

export interface RouteContext {
  opts: ServerOptions;
  /** bodyLimit / maxDepth / maxReceiptPayload with defaults applied (bodyLimit, maxDepth: useLosslessJsonBodies). */
  limits: BodyLimits;
  /** preHandler requiring a bearer token with the scope (admin implies every scope); rate limited per token. */
  requireScope(scope: Scope): (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
  /** The token a requireScope pre-handler accepted. */
  tokenOf(req: FastifyRequest): TokenRecord | undefined;
  /** Send `{error, message}` with a status. */
  fail(reply: FastifyReply, status: number, error: string, message: string): FastifyReply;
  /** Increment a Prometheus counter series (full series name with labels, e.g. `evident_x_total{k="v"}`). */
  bump(series: string): void;
  /** The service's metrics registry (metrics.ts). */
  metrics: Metrics;
  /** JSON Schemas shared by routes. */
  schemas: { error: object; report: object };
}

export const errorSchema = {
  type: 'object',
  required: ['error', 'message'],
  properties: { error: { type: 'string' }, message: { type: 'string' } },
} as const;

/** The verification report model (same as `evident verify --json`). */
export const reportSchema = {
  type: 'object',
  required: ['valid', 'format', 'mode', 'exitCode', 'checks'],
  properties: {
    valid: { type: 'boolean' },
    format: { type: 'string' },
    mode: { type: 'string', enum: ['strict', 'compat'] },
    exitCode: { type: 'integer' },
    checks: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'ok', 'code', 'message'],
        properties: {
          id: { type: 'string' },
          ok: { type: 'boolean' },
          code: { type: 'string' },
          message: { type: 'string' },
          expected: { type: 'string' },
          actual: { type: 'string' },
        },
      },
    },
  },
} as const;

export function fail(reply: FastifyReply, status: number, error: string, message: string): FastifyReply {
  return reply.code(status).send({ error, message });
}
