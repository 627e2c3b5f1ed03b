/**
 * A tiny SQL adapter over the DB handle (src/store/db.ts) so every store (tokens, receipt index, CPHAR registry and
 * nonces…) runs the SAME statements on SQLite (better-sqlite3, statements prepared once) and PostgreSQL (pg).
 * Statements use `?` placeholders; they are rewritten to `$n` for PostgreSQL. Only portable SQL is used (ON CONFLICT, partial unique indexes, RETURNING is avoided).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { DbHandle } from './db.ts';
import { EvidentError } from '../kernel/errors.ts';

export type Row = Record<string, unknown>;

export interface Sql {
  readonly kind: 'sqlite' | 'postgres';
  /** Execute; returns the number of affected rows. */
  run(sql: string, params?: unknown[]): Promise<number>;
  all<T extends Row = Row>(sql: string, params?: unknown[]): Promise<T[]>;
  exec(sql: string): Promise<void>;
  /** Idempotent DDL; on PostgreSQL serialised with an advisory lock so concurrent openers do not race. */
  ddl(stmts: string[]): Promise<void>;
  /** Run `fn` inside one transaction (serialisable enough for our invariants: unique indexes do the real work). */
  tx<T>(fn: (q: Sql) => Promise<T>): Promise<T>;
  /**
   * One statement for each parameter row, all in one transaction (joins the caller's transaction when inside one).
   * On SQLite the whole batch runs synchronously: no event-loop turn per row.
   */
  runMany(sql: string, rows: unknown[][]): Promise<void>;
}

const PREFIX_RE = /^[a-z][a-z0-9_]{0,40}$/;
export function checkPrefix(p: string): string {
  if (!PREFIX_RE.test(p)) throw new EvidentError('INPUT_INVALID', `invalid table prefix ${JSON.stringify(p)}`);
  return p;
}

/** Advisory lock key for schema creation (arbitrary constant: 'cphr'). */
const DDL_LOCK = 0x63706872;

function toPg(sql: string): string {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}

function wrapErr(e: unknown): never {
  if (e instanceof EvidentError) throw e;
  throw new EvidentError('IO_ERROR', `database error: ${(e as Error).message}`, { cause: e });
}

const txScope = new AsyncLocalStorage<object>();
/**
 * Open SQLite transaction bodies across all handles. An AsyncLocalStorage that has run once keeps Node's promise
 * hooks installed for the life of the process, which slows every later promise (POST /v1/receipts lost ~15% after the
 * first CPHAR registration or the first start's token transaction). The scope is therefore disabled whenever no
 * transaction body is running; the next transaction enables it again.
 */
let openScopes = 0;

/** Per-connection state shared by every Sql made for one SQLite handle: the open transaction, if any. */
const sqliteStates = new WeakMap<object, { busy: Promise<void> | undefined }>();
function sqliteState(db: object): { busy: Promise<void> | undefined } {
  let s = sqliteStates.get(db);
  if (!s) sqliteStates.set(db, (s = { busy: undefined }));
  return s;
}

export function sqlFor(h: DbHandle): Sql {
  if (h.kind === 'sqlite') {
    const db = h.db;
    type Stmt = { run(...a: unknown[]): { changes: number }; all(...a: unknown[]): unknown[] };
    const cache = new Map<string, Stmt>();
    const prep = (s: string): Stmt => {
      let st = cache.get(s);
      if (!st) {
        st = db.prepare(s) as unknown as Stmt;
        cache.set(s, st);
      }
      return st;
    };
    // One connection: while a transaction is open (its body may await), statements from other callers must not
    // run inside it — a rollback would undo them. They wait for it; code in the body's async context goes ahead.
    const st = sqliteState(db);
    const idle = async (): Promise<void> => {
      while (st.busy) await st.busy;
    };
    // code running in a transaction body's async context (also through another Sql of the same handle) is inside
    const inside = (): boolean => txScope.getStore() === db;
    {
      const q: Sql = {
        kind: 'sqlite',
        async run(s, p = []) {
          if (st.busy && !inside()) await idle();
          return prep(s).run(...p).changes;
        },
        async all<T extends Row>(s: string, p: unknown[] = []) {
          if (st.busy && !inside()) await idle();
          return prep(s).all(...p) as T[];
        },
        async exec(s) {
          if (st.busy && !inside()) await idle();
          db.exec(s);
        },
        async ddl(stmts) {
          if (st.busy && !inside()) await idle();
          for (const x of stmts) db.exec(x);
        },
        async runMany(s, rows) {
          const stmt = prep(s);
          if (inside()) {
            for (const r of rows) stmt.run(...r);
            return;
          }
          await idle();
          db.transaction(() => {
            for (const r of rows) stmt.run(...r);
          }).immediate();
        },
        async tx<T>(fn: (q: Sql) => Promise<T>): Promise<T> {
          if (inside()) return fn(q);
          await idle();
          let release!: () => void;
          st.busy = new Promise<void>((r) => (release = r));
          try {
            db.exec('BEGIN IMMEDIATE');
            try {
              openScopes++;
              let r: T;
              try {
                r = await txScope.run(db, () => fn(q));
              } finally {
                if (--openScopes === 0) txScope.disable();
              }
              db.exec('COMMIT');
              return r;
            } catch (e) {
              if (db.inTransaction) db.exec('ROLLBACK');
              throw e;
            }
          } finally {
            st.busy = undefined;
            release();
          }
        },
      };
      return q;
    }
  }
  const pool = h.pool;
  type Client = { query(s: string, p?: unknown[]): Promise<{ rowCount: number | null; rows: unknown[] }> };
  const make = (c: Client, inTx: boolean): Sql => {
    const q: Sql = {
      kind: 'postgres',
      async run(s, p = []) {
        try {
          return (await c.query(toPg(s), p)).rowCount ?? 0;
        } catch (e) {
          return wrapPg(e);
        }
      },
      async all<T extends Row>(s: string, p: unknown[] = []) {
        try {
          return (await c.query(toPg(s), p)).rows as T[];
        } catch (e) {
          return wrapPg(e);
        }
      },
      async exec(s) {
        try {
          await c.query(s);
        } catch (e) {
          wrapPg(e);
        }
      },
      async ddl(stmts) {
        await q.tx(async (t) => {
          await t.exec(`SELECT pg_advisory_xact_lock(${DDL_LOCK})`);
          for (const st of stmts) await t.exec(st);
        });
      },
      async runMany(s, rows) {
        await q.tx(async (t) => {
          for (const r of rows) await t.run(s, r);
        });
      },
      async tx<T>(fn: (q: Sql) => Promise<T>): Promise<T> {
        if (inTx) return fn(q);
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          const r = await fn(make(client as unknown as Client, true));
          await client.query('COMMIT');
          return r;
        } catch (e) {
          await client.query('ROLLBACK').catch(() => {});
          throw e;
        } finally {
          client.release();
        }
      },
    };
    return q;
  };
  return make(pool as unknown as Client, false);
}

/** Unique-violation errors are surfaced with code `UNIQUE_VIOLATION` so callers can map them. */
function wrapPg(e: unknown): never {
  if ((e as { code?: string })?.code === '23505') throw new EvidentError('UNIQUE_VIOLATION', (e as Error).message, { cause: e });
  return wrapErr(e);
}

export function isUniqueViolation(e: unknown): boolean {
  const c = (e as { code?: string })?.code;
  return c === 'UNIQUE_VIOLATION' || c === 'SQLITE_CONSTRAINT_UNIQUE' || c === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
