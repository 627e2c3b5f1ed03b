/**
 * The service's guards against floods and stalls (issue #20), one module:
 *
 * - Authentication before the body: a route whose preHandler is `requireScope(…)` (plumbing.ts, tagged with
 *   `requiredScope`) gets it as an `onRequest` hook instead, so a 401/403/429 is answered before a byte of the
 *   body is read or parsed (a body over 64 KiB is not drained: the connection is closed).
 * - Failed logins: more than `authFailures.burst` 401s from one client address within the refill window answer
 *   429 AUTH_RATE_LIMITED (retry-after) before any token lookup.
 * - Timeouts (Node's HTTP server, checked every second): the whole request — headers and body — must arrive within
 *   `requestTimeoutMs` (default 10 s; Node answers 408 and closes), headers within `headersTimeoutMs` (default
 *   10 s), an idle keep-alive connection is closed after `keepAliveTimeoutMs` (default 5 s).
 * - Pushback: at most `maxInFlight` (default 256) requests on work routes (every authenticated route, once
 *   authenticated, and POST /v1/verify) are in progress at once; past it they answer 503 OVERLOADED with
 *   retry-after at once, so memory stays flat however many clients push.
 * - Public POST /v1/verify: a token bucket per client address (default 20/s, burst 40) → 429 RATE_LIMITED.
 *
 * Environment overrides (serve): EVIDENT_MAX_IN_FLIGHT, EVIDENT_REQUEST_TIMEOUT_MS, EVIDENT_VERIFY_RATE_LIMIT
 * (requests per second per address; burst 2×), EVIDENT_AUTH_FAILURE_LIMIT (failed logins per minute per address).
 */
import http from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler, RouteOptions } from 'fastify';
import { RateLimiter, TokenBuckets, type RateLimitOptions } from './ratelimit.ts';
import { fail, type GuardOptions } from './context.ts';

export type { GuardOptions } from './context.ts';

export const DEFAULT_GUARDS = {
  maxInFlight: 256,
  requestTimeoutMs: 10_000,
  headersTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  verifyRate: { perSecond: 20, burst: 40 },
  authFailures: { perSecond: 0.5, burst: 30 },
} as const;

function envInt(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || !/^[1-9][0-9]{0,8}$/.test(v)) return undefined;
  return Number(v);
}

/** The guards in force: options, then the environment, then the defaults. */
export function resolveGuards(o: GuardOptions = {}): Required<GuardOptions> {
  const requestTimeoutMs = o.requestTimeoutMs ?? envInt('EVIDENT_REQUEST_TIMEOUT_MS') ?? DEFAULT_GUARDS.requestTimeoutMs;
  const verify = envInt('EVIDENT_VERIFY_RATE_LIMIT');
  const auth = envInt('EVIDENT_AUTH_FAILURE_LIMIT');
  return {
    maxInFlight: o.maxInFlight ?? envInt('EVIDENT_MAX_IN_FLIGHT') ?? DEFAULT_GUARDS.maxInFlight,
    requestTimeoutMs,
    headersTimeoutMs: Math.min(o.headersTimeoutMs ?? DEFAULT_GUARDS.headersTimeoutMs, requestTimeoutMs),
    keepAliveTimeoutMs: o.keepAliveTimeoutMs ?? DEFAULT_GUARDS.keepAliveTimeoutMs,
    verifyRate: o.verifyRate ?? (verify ? { perSecond: verify, burst: 2 * verify } : { ...DEFAULT_GUARDS.verifyRate }),
    authFailures: o.authFailures ?? (auth ? { perSecond: auth / 60, burst: auth } : { ...DEFAULT_GUARDS.authFailures }),
  };
}

/**
 * Fastify options for the HTTP server: a server whose timeouts are checked every second (Node's default check runs
 * every 30 s, which would let a stalled body hold its connection for 40 s).
 */
export function guardedServerOptions(o: GuardOptions = {}): { serverFactory: (handler: http.RequestListener) => http.Server; keepAliveTimeout: number; requestTimeout: number } {
  const g = resolveGuards(o);
  return {
    serverFactory: (handler) => {
      const server = http.createServer(
        { requestTimeout: g.requestTimeoutMs, headersTimeout: g.headersTimeoutMs, keepAliveTimeout: g.keepAliveTimeoutMs, connectionsCheckingInterval: 1000 },
        handler,
      );
      return server;
    },
    keepAliveTimeout: g.keepAliveTimeoutMs,
    requestTimeout: g.requestTimeoutMs,
  };
}

type Tagged = ((req: FastifyRequest, reply: FastifyReply) => Promise<unknown>) & { requiredScope?: string };

/** Client address (the socket's; the service does not trust forwarding headers). */
const ip = (req: FastifyRequest) => req.socket.remoteAddress ?? 'unknown';

/** Install the guards on the root instance, before any route is added. */
export function installGuards(app: FastifyInstance, o: GuardOptions = {}, bump?: (series: string) => void): { inFlight(): number } {
  const g = resolveGuards(o);
  const verifyLimiter = new RateLimiter(g.verifyRate);
  const authLimiter = new FailureBudget(g.authFailures);
  let inFlight = 0;

  // Auth before the body: requireScope pre-handlers become onRequest hooks. Work routes then admit the request
  // against the in-flight bound only once it is authenticated (an unauthenticated or stalled client never holds
  // a slot); POST /v1/verify is limited per address first.
  app.addHook('onRoute', (route: RouteOptions) => {
    const pre = route.preHandler === undefined ? [] : Array.isArray(route.preHandler) ? route.preHandler : [route.preHandler];
    const auth = pre.filter((h) => typeof (h as Tagged).requiredScope === 'string');
    const before = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest];
    if (auth.length) {
      const rest = pre.filter((h) => !auth.includes(h));
      route.preHandler = rest.length ? rest : undefined;
      route.onRequest = [authLimit, ...before, ...(auth as unknown as onRequestHookHandler[]), admit];
      // config.scope keeps the OpenAPI document's security entry (routes/openapi.ts) once the pre-handler moved
      route.config = { ...(route.config as object), scope: (auth[0] as Tagged).requiredScope } as never;
    } else if (route.url === '/v1/verify' && [route.method].flat().includes('POST')) {
      route.onRequest = [...before, verifyLimit, admit];
    }
  });

  // failed logins per address: counted on every 401, refused before any token lookup once exhausted
  async function authLimit(req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const wait = authLimiter.wait(`auth:${ip(req)}`);
    if (wait > 0) {
      bump?.('evident_auth_rate_limited_total');
      return refuse(req, reply.header('retry-after', String(wait)), 429, 'AUTH_RATE_LIMITED', 'too many failed authentications from this address');
    }
    return undefined;
  }

  async function verifyLimit(req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const wait = verifyLimiter.take(`verify:${ip(req)}`);
    if (wait > 0) return refuse(req, reply.header('retry-after', String(wait)), 429, 'RATE_LIMITED', 'too many verification requests from this address');
    return undefined;
  }

  /** Pushback: past maxInFlight work requests in progress, 503 OVERLOADED at once. */
  async function admit(req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    if (inFlight >= g.maxInFlight) {
      bump?.('evident_overloaded_total');
      return refuse(req, reply.header('retry-after', '1'), 503, 'OVERLOADED', `more than ${g.maxInFlight} requests in progress: retry shortly`);
    }
    inFlight++;
    let done = false;
    reply.raw.once('close', () => {
      if (!done) {
        done = true;
        inFlight--;
      }
    });
    return undefined;
  }

  app.addHook('onResponse', async (req, reply) => {
    if (reply.statusCode === 401) authLimiter.spend(`auth:${ip(req)}`);
  });

  // A refusal answered before a large body was read closes the connection: the body is never read. (Never a wait
  // here: the request's later hooks run until the answer has ended.)
  app.addHook('onSend', async (req, reply, payload) => {
    if (reply.statusCode >= 400 && !bodyRead(req) && hasBody(req)) reply.header('connection', 'close');
    return payload;
  });

  return { inFlight: () => inFlight };
}

/** A token bucket spent by failures only: `wait` is 0 while failures are left, else seconds until one refills. */
class FailureBudget {
  private readonly buckets: TokenBuckets;
  constructor(o: RateLimitOptions) {
    this.buckets = new TokenBuckets(o);
  }
  spend(key: string, now = Date.now()): void {
    const b = this.buckets.bucket(key, now);
    b.tokens = Math.max(0, b.tokens - 1);
  }
  wait(key: string, now = Date.now()): number {
    if (!this.buckets.has(key)) return 0;
    return this.buckets.waitFor(this.buckets.bucket(key, now).tokens);
  }
}

/**
 * A body worth not reading: over 64 KiB or of unknown length. A refusal answered before such a body was read closes
 * the connection; a small body is drained by Node as usual (closing with unread bytes would reset the connection
 * and could cost the client the answer itself).
 */
const DRAIN_MAX = 64 * 1024;
function hasBody(req: FastifyRequest): boolean {
  const len = req.headers['content-length'];
  if (len !== undefined) return Number(len) > DRAIN_MAX;
  return req.headers['transfer-encoding'] !== undefined;
}

/**
 * The guards' own refusals (before the body): a small body is read and discarded first, so closing the connection
 * afterwards (a client that asked for it) cannot reset it with unread bytes and cost the client the answer; the
 * hook awaits this, so nothing else runs for the request meanwhile.
 */
async function refuse(req: FastifyRequest, reply: FastifyReply, status: number, code: string, message: string): Promise<FastifyReply> {
  if (hasSmallBody(req) && !bodyRead(req)) await drain(req);
  return fail(reply, status, code, message);
}

function hasSmallBody(req: FastifyRequest): boolean {
  const len = req.headers['content-length'];
  return len !== undefined && len !== '0' && Number(len) <= DRAIN_MAX;
}

/** Read and discard the rest of a (small) request body; settles on end, error or close (bounded by the request timeout). */
function drain(req: FastifyRequest): Promise<void> {
  const raw = req.raw;
  if (raw.readableEnded || raw.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    raw.once('end', () => resolve());
    raw.once('error', () => resolve());
    raw.once('close', () => resolve());
    raw.resume();
  });
}

function bodyRead(req: FastifyRequest): boolean {
  return req.raw.readableEnded || req.body !== undefined;
}
