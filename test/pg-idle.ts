/**
 * Wait until no session is connected to a throw-away database. pg's Pool.end() resolves as soon as it has asked its
 * idle clients to end, before their sockets are closed; a `DROP DATABASE … WITH (FORCE)` in that window terminates
 * them and the pool's idle-error event becomes an uncaught exception in the test process.
 */
import pg from 'pg';

export async function waitNoSessions(baseUrl: string, dbUrl: string, timeoutMs = 10_000): Promise<void> {
  const name = new URL(dbUrl).pathname.slice(1);
  const c = new pg.Client({ connectionString: baseUrl });
  await c.connect();
  try {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      const r = await c.query('SELECT COUNT(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [name]);
      if ((r.rows[0] as { n: number }).n === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await c.end();
  }
}
