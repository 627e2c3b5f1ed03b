/**
 * The set-up every service route test shares: the backends to run on (SQLite always, PostgreSQL when
 * EVIDENT_TEST_PG is set) and one in-process service in a temporary data directory, on a throw-away database,
 * always cleaned up.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startService, type RunningService, type ServiceOptions } from '../src/server/service.ts';
import { testPostgresUrl } from '../src/store/db.ts';
import { freshPgDatabase } from './pg-fresh.ts';

/** [name, PostgreSQL base URL or undefined for SQLite]. */
export function testBackends(): Array<[string, string | undefined]> {
  const pg = testPostgresUrl();
  return pg ? [['sqlite', undefined], ['postgres', pg]] : [['sqlite', undefined]];
}

/** Run `fn` against a fresh service on 127.0.0.1 (port 0); `db` is the throw-away PostgreSQL URL, if any. */
export async function withService<T>(
  pgBase: string | undefined,
  tmpPrefix: string,
  opts: Partial<ServiceOptions>,
  fn: (s: RunningService, env: { dir: string; db: string | undefined }) => Promise<T>,
): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), tmpPrefix));
  let s: RunningService | undefined;
  let fresh: Awaited<ReturnType<typeof freshPgDatabase>> | undefined;
  try {
    fresh = pgBase ? await freshPgDatabase(pgBase) : undefined;
    s = await startService({ dataDir: dir, db: fresh?.url, host: '127.0.0.1', port: 0, ...opts });
    return await fn(s, { dir, db: fresh?.url });
  } finally {
    await s?.close();
    await fresh?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
