/**
 * Database and storage faults, classified once for every surface (the service maps them to HTTP answers, the
 * CLI to messages): an error from pg, better-sqlite3, node:fs or the log sequencer — possibly wrapped in an
 * EvidentError's `cause` chain — becomes one of
 *
 *   DB_UNAVAILABLE       503  the database cannot be reached or answered too late (connection refused / reset /
 *                             terminated, pool or query deadline passed, server shutting down, SQLite busy), or
 *                             the log could not sequence in time (LOG_TIMEOUT, LOG_BUSY, LOG_CONFLICT)
 *   STORAGE_UNAVAILABLE  503  the disk refuses: read-only file system, I/O error, file that cannot be opened or
 *                             written (EPERM / EACCES: an immutable or permission-locked data directory)
 *   STORAGE_FULL         507  no space left (ENOSPC, EDQUOT, SQLITE_FULL)
 *
 * or undefined (not a fault of the environment: a bug or a refusal, mapped elsewhere). All three are transient
 * from the caller's point of view: nothing was acknowledged, retry later (`retryAfter` seconds).
 */
export type FaultCode = 'DB_UNAVAILABLE' | 'STORAGE_UNAVAILABLE' | 'STORAGE_FULL';

export interface Fault {
  code: FaultCode;
  status: 503 | 507;
  /** Suggested `retry-after` in seconds. */
  retryAfter: number;
  message: string;
}

const PG_UNAVAILABLE_SQLSTATE = /^(08|53|57P0[1-4]|57014|40001|40P01|55P03)/; // connection, resources, shutdown, cancelled, retryable
const NET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);
const PG_MESSAGES = /Connection terminated|connection error and is not queryable|timeout exceeded when trying to connect|Query read timeout|Cannot use a pool after calling end|terminating connection|the database system is (starting up|shutting down|in recovery mode)|Connection ended unexpectedly|Client was closed and is not queryable/i;
const FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);
const STORAGE_CODES = /^(EROFS|EIO|ENXIO|ESTALE|EPERM|EACCES|SQLITE_READONLY.*|SQLITE_IOERR.*|SQLITE_CANTOPEN.*|SQLITE_PROTOCOL|SQLITE_NOTADB|SQLITE_CORRUPT.*|SQLITE_PERM)$/;
const BUSY_CODES = /^(SQLITE_BUSY.*|SQLITE_LOCKED.*|LOG_TIMEOUT|LOG_BUSY|LOG_CONFLICT|DB_UNAVAILABLE)$/;

function chain(e: unknown): Array<{ code?: unknown; errno?: unknown; message?: unknown }> {
  const out: Array<{ code?: unknown; message?: unknown }> = [];
  for (let x = e as { cause?: unknown } | undefined, i = 0; x && typeof x === 'object' && i < 8; x = x.cause as typeof x, i++) out.push(x as never);
  return out;
}

/** The fault an error stands for, or undefined. */
export function classifyFault(e: unknown): Fault | undefined {
  for (const x of chain(e)) {
    const code = typeof x.code === 'string' ? x.code : '';
    const msg = typeof x.message === 'string' ? x.message : '';
    if (code === 'STORAGE_FULL' || FULL_CODES.has(code) || /database or disk is full|no space left on device/i.test(msg)) {
      return { code: 'STORAGE_FULL', status: 507, retryAfter: 30, message: 'the data volume is full: nothing was stored; retry when space was freed' };
    }
    if (code === 'STORAGE_UNAVAILABLE' || STORAGE_CODES.test(code) || /read-only file system|readonly database|disk I\/O error/i.test(msg)) {
      return { code: 'STORAGE_UNAVAILABLE', status: 503, retryAfter: 10, message: `the data volume refuses writes (${code || msg.slice(0, 80)}): nothing was stored; retry later` };
    }
    if (BUSY_CODES.test(code) || NET_CODES.has(code) || PG_UNAVAILABLE_SQLSTATE.test(code) || PG_MESSAGES.test(msg)) {
      return { code: 'DB_UNAVAILABLE', status: 503, retryAfter: 2, message: `the database is unavailable (${code || msg.slice(0, 80)}): nothing was stored; retry later` };
    }
  }
  return undefined;
}

/** Race a promise against a deadline: rejects with DB_UNAVAILABLE after `ms` (the work itself is not cancelled). */
export function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(Object.assign(new Error(`${what}: no answer within ${ms} ms`), { code: 'DB_UNAVAILABLE' })), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}
