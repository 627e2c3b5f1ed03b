/**
 * Database URLs shared by the log, the CPHAR registry, nonce stores and the service.
 *
 *   sqlite:PATH            embedded default (better-sqlite3, WAL); PATH may be relative
 *   sqlite::memory:        in-memory (tests)
 *   postgres://… / postgresql://…   PostgreSQL via `pg`
 *
 * Opening is the only I/O here; each subsystem creates its own tables (idempotent DDL) on the handle.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type Database from 'better-sqlite3';
import type pg from 'pg';
import { EvidentError } from '../kernel/errors.ts';

// The native SQLite module and the PostgreSQL client load on first use, so commands that open no database (and
// library users who only verify) never pay for them.
const requireCjs = createRequire(import.meta.url);
let sqliteCtor: typeof Database | undefined;
let pgModule: typeof pg | undefined;
/** The better-sqlite3 constructor, loaded on first use. */
export function sqlite(): typeof Database {
  return (sqliteCtor ??= requireCjs('better-sqlite3') as typeof Database);
}
/** The `pg` module, loaded on first use. */
export function pgLib(): typeof pg {
  return (pgModule ??= requireCjs('pg') as typeof pg);
}

export const DEFAULT_DB_URL = 'sqlite:./evident-data/evident.db';

export type DbHandle =
  | { kind: 'sqlite'; url: string; db: Database.Database; close(): Promise<void> }
  | { kind: 'postgres'; url: string; pool: pg.Pool; close(): Promise<void> };

export function parseDbUrl(url: string): { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string } {
  if (url.startsWith('sqlite:')) {
    const p = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (!p) throw new EvidentError('INPUT_INVALID', `empty SQLite path in ${url}`);
    return { kind: 'sqlite', path: p };
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return { kind: 'postgres', url };
  throw new EvidentError('INPUT_INVALID', `unsupported database URL ${JSON.stringify(url)} (use sqlite:PATH or postgres://…)`);
}

const handles = new Map<string, Promise<DbHandle>>();

/** Open (or reuse, per process) a database handle for a URL. */
export function openDb(url: string = DEFAULT_DB_URL): Promise<DbHandle> {
  let h = handles.get(url);
  if (!h) {
    h = doOpen(url);
    handles.set(url, h);
    h.catch(() => handles.delete(url));
  }
  return h;
}

/** Open a SQLite file (creating its directory) in WAL mode. Throws IO_ERROR when it cannot be opened. */
export function openSqliteFile(file: string, o: { synchronous: 'FULL' | 'NORMAL'; busyTimeoutMs: number }): Database.Database {
  try {
    if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    const db = new (sqlite())(file);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${o.synchronous}`);
    db.pragma(`busy_timeout = ${o.busyTimeoutMs}`);
    return db;
  } catch (e) {
    throw new EvidentError('IO_ERROR', `cannot open SQLite database ${file}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Every wait on PostgreSQL has a deadline, so a hung server (stopped, partitioned, a lock never granted) gives coded
 * DB_UNAVAILABLE answers instead of requests that hang: connecting (and waiting for a pooled connection) 5 s, a
 * query 15 s on the client side (the pool then discards that connection); the server ends a transaction left idle
 * for 60 s.
 * Override with EVIDENT_PG_CONNECT_TIMEOUT_MS / EVIDENT_PG_QUERY_TIMEOUT_MS.
 */
export const PG_DEADLINES = {
  connectionTimeoutMillis: envMs('EVIDENT_PG_CONNECT_TIMEOUT_MS', 5_000),
  query_timeout: envMs('EVIDENT_PG_QUERY_TIMEOUT_MS', 15_000),
  idle_in_transaction_session_timeout: 60_000,
} as const;

function envMs(name: string, dflt: number): number {
  const v = Number(process.env[name]);
  return Number.isSafeInteger(v) && v > 0 ? v : dflt;
}

/** A PostgreSQL pool whose server answered once (fails fast with IO_ERROR); idle-client errors are handled. */
export async function openPgPool(url: string, max: number): Promise<pg.Pool> {
  const pool = new (pgLib().Pool)({ connectionString: url, max, keepAlive: true, ...PG_DEADLINES });
  // An idle client whose connection the server drops (restart, failover, terminated backend, DROP … FORCE) emits
  // 'error' on the pool; unhandled, that would crash the process. The pool discards that client and the next
  // query connects afresh, so noting it is enough.
  pool.on('error', (e) => process.emitWarning(`PostgreSQL idle connection lost (${redact(url)}): ${e.message}`, { code: 'EVIDENT_PG_IDLE_ERROR' }));
  // A client checked out of the pool has no listener of the pool's (pg-pool removes its idle listener while the
  // client is lent): a connection dropped then (pg_terminate_backend, a proxy closing, a restart) emits 'error' on
  // the Client, which would be an uncaught exception. Every client keeps this listener for life; the query in
  // flight fails on its own (and the caller answers DB_UNAVAILABLE), the pool drops the dead client on release.
  pool.on('connect', (c) => {
    c.on('error', (e) => process.emitWarning(`PostgreSQL connection lost (${redact(url)}): ${e.message}`, { code: 'EVIDENT_PG_CONNECTION_ERROR' }));
  });
  try {
    const c = await pool.connect();
    c.release();
  } catch (e) {
    await pool.end().catch(() => {});
    throw new EvidentError('IO_ERROR', `cannot connect to PostgreSQL at ${redact(url)}: ${(e as Error).message}`, { cause: e });
  }
  return pool;
}

async function doOpen(url: string): Promise<DbHandle> {
  const parsed = parseDbUrl(url);
  if (parsed.kind === 'sqlite') {
    const db = openSqliteFile(parsed.path, { synchronous: 'NORMAL', busyTimeoutMs: 5000 });
    db.pragma('foreign_keys = ON');
    return {
      kind: 'sqlite',
      url,
      db,
      async close() {
        handles.delete(url);
        db.close();
      },
    };
  }
  const pool = await openPgPool(parsed.url, 10);
  return {
    kind: 'postgres',
    url,
    pool,
    async close() {
      handles.delete(url);
      await pool.end();
    },
  };
}

export function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):([^@/]+)@/, '//$1:***@');
}

/** Test URL for PostgreSQL, set by .ci/run (EVIDENT_TEST_PG). Tests skip PG only when it is unset outside CI. */
export function testPostgresUrl(): string | undefined {
  return process.env.EVIDENT_TEST_PG || undefined;
}
