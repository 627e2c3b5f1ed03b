/**
 * Issue #20: the service survives its faults, with real processes (`evident serve`), a real PostgreSQL and real
 * file systems. Each test states why it skips when the machine cannot do it.
 *
 *  - PostgreSQL: ten rounds of `pg_terminate_backend` on every connection of the service under write load: the
 *    process stays up, failures are coded 503 DB_UNAVAILABLE with retry-after (never a bare 500), /readyz answers,
 *    and every acknowledged (201) receipt is still served afterwards (0 lost).
 *  - PostgreSQL behind a TCP proxy: dropped connections, then a hung database (the proxy stops forwarding): coded
 *    503s within the deadlines, /readyz answers 503 within 3 s, and the service recovers by itself.
 *  - SQLite on a small loop-mounted ext4 volume: full → 507 STORAGE_FULL (and /readyz 503), recovers when space
 *    returns; the data directory made read-only (immutable, chattr +i, with SQLite's files open) → 503
 *    STORAGE_UNAVAILABLE, recovers when writable again; turned read-only by the kernel (an ext4 error with
 *    errors=remount-ro) → 503 STORAGE_UNAVAILABLE, no crash, acknowledged receipts still readable.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { testPostgresUrl } from '../src/store/db.ts';
import { freshPgDatabase } from './pg-fresh.ts';
import { serveProcess, issue, request, type Answer, type FaultServe } from './fault-serve.ts';

const PG = testPostgresUrl() ?? (process.env.CI ? undefined : 'postgres://postgres@127.0.0.1:5432/test');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function pgReachable(url: string | undefined): Promise<boolean> {
  if (!url) return false;
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}
const havePg = await pgReachable(PG);
const pgSkip = havePg ? false : 'PostgreSQL is not reachable (set EVIDENT_TEST_PG)';

/** Writes with a tally of answers; a non-201 must be a coded 503 with retry-after. */
class Load {
  readonly acked: string[] = [];
  readonly statuses: Record<string, number> = {};
  readonly bad: Answer[] = [];
  private n = 0;
  private stopped = false;
  private running: Promise<void> | undefined;
  constructor(private readonly s: FaultServe, private readonly width = 8, private readonly ok = new Set(['DB_UNAVAILABLE'])) {}
  start(): this {
    this.running = (async () => {
      while (!this.stopped && this.s.died === undefined) {
        await Promise.all(Array.from({ length: this.width }, async () => this.one()));
      }
    })();
    return this;
  }
  async one(): Promise<Answer> {
    const r = await issue(this.s, this.n++);
    const code = r.status === 201 ? '201' : `${r.status} ${safeJson(r.body)?.error ?? r.body.slice(0, 40)}`;
    this.statuses[code] = (this.statuses[code] ?? 0) + 1;
    if (r.status === 201) this.acked.push(JSON.parse(r.body).id);
    else if (!(r.status >= 500 && this.ok.has(safeJson(r.body)?.error) && r.headers['retry-after'])) this.bad.push(r);
    return r;
  }
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }
}
function safeJson(s: string): any {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

/** Every acknowledged receipt is served by GET /v1/receipts/{id}. */
async function assertNoneLost(s: FaultServe, ids: string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 16) {
    const rs = await Promise.all(ids.slice(i, i + 16).map((id) => request(`${s.url}/v1/receipts/${id}`)));
    rs.forEach((r, k) => assert.equal(r.status, 200, `acknowledged receipt ${ids[i + k]} lost: ${r.status} ${r.body}`));
  }
}

async function eventually(what: string, ms: number, f: () => Promise<boolean>): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await f()) return;
    await sleep(100);
  }
  assert.fail(`${what}: not within ${ms} ms`);
}

test('PostgreSQL: 10 pg_terminate_backend rounds under load: alive throughout, coded 503s, 0 acknowledged receipts lost', { skip: pgSkip }, async () => {
  const fresh = await freshPgDatabase(PG!);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-pgkill-'));
  const admin = new pg.Client({ connectionString: PG });
  await admin.connect();
  let s: FaultServe | undefined;
  try {
    s = await serveProcess(['--data-dir', dir, '--db', fresh.url]);
    const dbname = new URL(fresh.url).pathname.slice(1);
    const load = new Load(s, 16).start();
    let killed = 0;
    for (let round = 0; round < 10; round++) {
      await sleep(250);
      // twice, a few ms apart: the second round hits the connections re-opened while requests are in flight
      for (let k = 0; k < 2; k++) {
        const r = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [dbname]);
        killed += r.rowCount ?? 0;
        await sleep(15);
      }
      assert.equal(s.died, undefined, `the service died in round ${round}: ${s.stderr.slice(-2000)}`);
      const ready = await request(`${s.url}/readyz`, { timeoutMs: 5000 });
      assert.ok(ready.status === 200 || ready.status === 503, `/readyz answers (${ready.status})`);
    }
    await sleep(1000); // the service recovers by itself: writes succeed again
    await load.stop();
    assert.equal(s.died, undefined, s.stderr.slice(-2000));
    assert.ok(killed >= 10, `terminated ${killed} backends`);
    assert.deepEqual(load.bad.map((b) => `${b.status} ${b.body}`), [], 'every failure is a coded 503 DB_UNAVAILABLE with retry-after');
    assert.ok(load.acked.length > 0, JSON.stringify(load.statuses));
    const after = await load.one();
    assert.equal(after.status, 201, after.body);
    assert.equal((await request(`${s.url}/readyz`)).status, 200);
    // the sequencer role (a session advisory lock on the control connection) was re-taken after the terminations
    const role = await admin.query(
      `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND a.datname = $1`,
      [dbname],
    );
    assert.ok((role.rows[0] as { n: number }).n >= 1, 'the sequencer role lock is held again');
    await assertNoneLost(s, [...load.acked, JSON.parse(after.body).id]);
    process.stdout.write(`# pg_terminate_backend x10 (${killed} backends): ${JSON.stringify(load.statuses)}, ${load.acked.length + 1} acknowledged, 0 lost\n`);
  } finally {
    await s?.stop();
    await admin.end();
    await fresh.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** A TCP proxy in front of PostgreSQL that can drop every connection or stop forwarding (a hung database). */
class PgProxy {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  hung = false;
  port = 0;
  constructor(private readonly target: { host: string; port: number }) {
    this.server = net.createServer((client) => {
      const up = net.connect(target.port, target.host);
      for (const [a, b] of [[client, up], [up, client]] as const) {
        this.sockets.add(a);
        a.on('data', (d) => {
          if (!this.hung) b.write(d); // hung: bytes vanish, nothing answers, connections stay open
        });
        a.on('close', () => {
          this.sockets.delete(a);
          b.destroy();
        });
        a.on('error', () => b.destroy());
      }
    });
  }
  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as net.AddressInfo).port;
  }
  dropAll(): void {
    for (const s of this.sockets) s.destroy();
  }
  async close(): Promise<void> {
    this.dropAll();
    await new Promise((r) => this.server.close(r));
  }
}

test('PostgreSQL behind a TCP proxy: dropped connections and a hung database give coded 503s in time; the service recovers', { skip: pgSkip }, async () => {
  const fresh = await freshPgDatabase(PG!);
  const u = new URL(fresh.url);
  const proxy = new PgProxy({ host: u.hostname, port: Number(u.port || 5432) });
  await proxy.listen();
  const via = new URL(fresh.url);
  via.port = String(proxy.port);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-pgproxy-'));
  let s: FaultServe | undefined;
  try {
    s = await serveProcess(['--data-dir', dir, '--db', via.toString()], { EVIDENT_PG_CONNECT_TIMEOUT_MS: '1500', EVIDENT_PG_QUERY_TIMEOUT_MS: '2500' });
    const load = new Load(s, 4).start();
    for (let i = 0; i < 5; i++) {
      await sleep(200);
      proxy.dropAll();
    }
    await sleep(500);
    await load.stop();
    assert.equal(s.died, undefined, s.stderr.slice(-2000));
    assert.deepEqual(load.bad.map((b) => `${b.status} ${b.body}`), []);

    // hung: nothing answers; every wait has a deadline
    proxy.hung = true;
    const ready = await request(`${s.url}/readyz`, { timeoutMs: 10_000 });
    assert.equal(ready.status, 503, ready.body);
    assert.ok(ready.ms < 3000, `/readyz answered in ${ready.ms.toFixed(0)} ms`);
    assert.equal(JSON.parse(ready.body).error, 'DB_UNAVAILABLE');
    const w = await issue(s, 1_000_000, 20_000);
    assert.equal(w.status, 503, w.body);
    assert.equal(JSON.parse(w.body).error, 'DB_UNAVAILABLE');
    assert.ok(w.headers['retry-after']);
    assert.ok(w.ms < 10_000, `a write answered in ${w.ms.toFixed(0)} ms`);
    assert.equal((await request(`${s.url}/healthz`, { timeoutMs: 2000 })).status, 200, 'liveness answers while the database hangs');
    proxy.hung = false;
    proxy.dropAll(); // the half-read connections of the hang are unusable

    await eventually('writes succeed again', 20_000, async () => (await load.one()).status === 201);
    assert.equal((await request(`${s.url}/readyz`)).status, 200);
    assert.equal(s.died, undefined);
    await assertNoneLost(s, load.acked);
    process.stdout.write(`# proxy drops + hang: ${JSON.stringify(load.statuses)}; hung /readyz ${ready.ms.toFixed(0)} ms, hung write ${w.ms.toFixed(0)} ms\n`);
  } finally {
    await s?.stop();
    await proxy.close();
    await fresh.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

function haveChattr(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v chattr'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function loopSkip(): string | false {
  if (process.platform !== 'linux') return 'loop-mounted file systems need Linux';
  if (process.getuid?.() !== 0) return 'mounting a loop device needs root';
  for (const t of ['mkfs.ext4', 'mount', 'umount', 'findmnt']) {
    try {
      execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' });
    } catch {
      return `${t} is not installed`;
    }
  }
  return false;
}

test('SQLite on a small ext4 volume: full → 507 and recovery; read-only → 503 STORAGE_UNAVAILABLE and recovery; kernel read-only → 503, no crash', { skip: loopSkip() }, async (t) => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-vol-'));
  const img = path.join(base, 'vol.img');
  const mnt = path.join(base, 'mnt');
  fs.mkdirSync(mnt);
  execFileSync('truncate', ['-s', '16M', img]);
  execFileSync('mkfs.ext4', ['-q', '-F', img]);
  try {
    execFileSync('mount', ['-o', 'loop,errors=remount-ro', img, mnt], { stdio: 'pipe' });
  } catch (e) {
    t.skip(`cannot mount a loop device here: ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}`);
    fs.rmSync(base, { recursive: true, force: true });
    return;
  }
  let s: FaultServe | undefined;
  try {
    const data = path.join(mnt, 'data');
    s = await serveProcess(['--data-dir', data]);
    const load = new Load(s, 1, new Set(['STORAGE_FULL', 'STORAGE_UNAVAILABLE']));
    for (let i = 0; i < 5; i++) assert.equal((await load.one()).status, 201);

    // full: a filler takes every free block
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${path.join(mnt, 'filler')}`, 'bs=64k'], { stdio: 'ignore' });
    } catch {
      // dd ends with ENOSPC: the volume is full
    }
    let full = 0;
    for (let i = 0; i < 30; i++) {
      const r = await load.one();
      if (r.status === 507) full++;
    }
    assert.ok(full > 0, `no 507 on a full volume: ${JSON.stringify(load.statuses)}`);
    assert.deepEqual(load.bad.map((b) => `${b.status} ${b.body}`), []);
    const rf = await request(`${s.url}/readyz`);
    assert.equal(rf.status, 503);
    assert.equal(JSON.parse(rf.body).error, 'STORAGE_FULL');
    assert.equal(s.died, undefined);
    // space returns: the service recovers by itself
    fs.rmSync(path.join(mnt, 'filler'));
    await eventually('writes succeed after space returned', 10_000, async () => (await load.one()).status === 201);
    assert.equal((await request(`${s.url}/readyz`)).status, 200);
    await assertNoneLost(s, load.acked);

    // read-only and back: the data directory and its files made immutable (chattr +i: every write, also through the
    // descriptors SQLite holds open, fails with EPERM), then writable again
    if (haveChattr()) {
      execFileSync('chattr', ['-R', '+i', data]);
      let locked = 0;
      try {
        for (let i = 0; i < 5; i++) if ((await load.one()).status === 503) locked++;
        const rl = await request(`${s.url}/readyz`);
        assert.equal(rl.status, 503, rl.body);
        assert.equal(JSON.parse(rl.body).error, 'STORAGE_UNAVAILABLE');
      } finally {
        execFileSync('chattr', ['-R', '-i', data]);
      }
      assert.ok(locked > 0, JSON.stringify(load.statuses));
      assert.deepEqual(load.bad.map((b) => `${b.status} ${b.body}`), []);
      assert.equal(s.died, undefined, s.stderr.slice(-2000));
      await eventually('writes succeed once the directory is writable again', 10_000, async () => (await load.one()).status === 201);
      assert.equal((await request(`${s.url}/readyz`)).status, 200);
      await assertNoneLost(s, load.acked);
    }

    // read-only for good: the kernel turns the volume read-only after an error (errors=remount-ro), files open
    const dev = execFileSync('findmnt', ['-n', '-o', 'SOURCE', mnt]).toString().trim().replace('/dev/', '');
    fs.writeFileSync(`/sys/fs/ext4/${dev}/trigger_fs_error`, 'evident fault test');
    let ro = 0;
    for (let i = 0; i < 10; i++) if ((await load.one()).status === 503) ro++;
    assert.ok(ro > 0, JSON.stringify(load.statuses));
    assert.deepEqual(load.bad.map((b) => `${b.status} ${b.body}`), []);
    const rr = await request(`${s.url}/readyz`);
    assert.equal(rr.status, 503, rr.body);
    assert.equal(JSON.parse(rr.body).error, 'STORAGE_UNAVAILABLE');
    assert.equal(s.died, undefined, s.stderr.slice(-2000));
    await assertNoneLost(s, load.acked); // reads still work on the read-only volume
    process.stdout.write(`# ext4 volume full then read-only: ${JSON.stringify(load.statuses)}, ${load.acked.length} acknowledged, 0 lost\n`);
  } finally {
    await s?.stop();
    try {
      execFileSync('umount', [mnt], { stdio: 'ignore' });
    } catch {
      execFileSync('umount', ['-l', mnt], { stdio: 'ignore' });
    }
    fs.rmSync(base, { recursive: true, force: true });
  }
});
