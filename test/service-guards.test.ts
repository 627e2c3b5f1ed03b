/**
 * Issue #20 items 3, 4, 7: floods and stalls against a real `evident serve` process (loopback only).
 *  - a request whose body never finishes is answered 408 and closed after the request timeout; silent and idle
 *    keep-alive connections are closed;
 *  - unauthenticated 1 MiB POSTs are refused before their body is read (401, connection closed), failed logins
 *    per address are limited (429 AUTH_RATE_LIMITED), and a legitimate request during the flood answers < 1 s;
 *  - 4,000 concurrent POST /v1/receipts: every one is answered (201 or 503 OVERLOADED with retry-after), and the
 *    service's peak resident memory stays under the documented bound (docs/service.md);
 *  - public POST /v1/verify is limited per address (429 RATE_LIMITED).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { serveProcess, request, issue, STATEMENT, type FaultServe } from './fault-serve.ts';

/** Peak resident set (VmHWM) and current RSS of a process, in MiB (Linux /proc). */
function memoryMiB(pid: number): { peak: number; rss: number } | undefined {
  try {
    const st = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(st)?.[1]) / 1024;
    return { peak: kb('VmHWM'), rss: kb('VmRSS') };
  } catch {
    return undefined;
  }
}

/** Documented bound (docs/service.md): peak RSS of the service under 4,000 concurrent receipt requests. */
const RSS_BOUND_MIB = 256;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-guards-'));
let s: FaultServe;
test.before(async () => {
  s = await serveProcess(['--data-dir', dir], { EVIDENT_REQUEST_TIMEOUT_MS: '2000', EVIDENT_MAX_IN_FLIGHT: '64', EVIDENT_VERIFY_RATE_LIMIT: '10', EVIDENT_AUTH_FAILURE_LIMIT: '30' });
});
test.after(async () => {
  await s?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a body that never finishes: 408 and the connection closed after the request timeout (2 s here)', async () => {
  const t0 = performance.now();
  const answer = await new Promise<string>((resolve) => {
    const sock = net.connect(s.port, '127.0.0.1', () => {
      sock.write(`POST /v1/receipts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${s.token}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"format":`);
    });
    let got = '';
    sock.on('data', (d) => (got += d.toString()));
    sock.on('close', () => resolve(got));
    sock.on('error', () => resolve(got));
    setTimeout(() => sock.destroy(), 15_000);
  });
  const ms = performance.now() - t0;
  assert.match(answer, /^HTTP\/1\.1 408/);
  assert.ok(ms >= 1900 && ms < 4500, `closed after ${ms.toFixed(0)} ms`);
  // headers that never finish: the same deadline
  const t1 = performance.now();
  const h = await new Promise<string>((resolve) => {
    const sock = net.connect(s.port, '127.0.0.1', () => sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n'));
    let got = '';
    sock.on('data', (d) => (got += d.toString()));
    sock.on('close', () => resolve(got));
    sock.on('error', () => resolve(got));
    setTimeout(() => sock.destroy(), 15_000);
  });
  assert.ok(performance.now() - t1 < 4500, 'stalled headers are cut off');
  assert.match(h, /^(HTTP\/1\.1 408|$)/);
});

test('idle connections are closed: silent after connecting (header timeout), idle after a response (keep-alive 5 s)', async () => {
  const closedAfter = (first?: string) =>
    new Promise<{ ms: number; got: string }>((resolve) => {
      const t0 = performance.now();
      let got = '';
      const sock = net.connect(s.port, '127.0.0.1', () => {
        if (first) sock.write(first);
      });
      sock.on('data', (d) => (got += d.toString()));
      sock.on('close', () => resolve({ ms: performance.now() - t0, got }));
      sock.on('error', () => {});
      setTimeout(() => sock.destroy(), 20_000);
    });
  const [silent, kept] = await Promise.all([closedAfter(), closedAfter('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')]);
  assert.ok(silent.ms < 4500, `a silent connection was closed after ${silent.ms.toFixed(0)} ms`);
  assert.match(kept.got, /^HTTP\/1\.1 200/);
  assert.ok(kept.ms >= 4500 && kept.ms < 9000, `an idle keep-alive connection was closed after ${kept.ms.toFixed(0)} ms`);
});

test('stalled unauthenticated requests hold no in-flight slot: a legitimate request is admitted (201, not 503)', async () => {
  // 100 unauthenticated POSTs that announce a small body and never send it (more than this server's 64 slots)
  const socks = await Promise.all(
    Array.from({ length: 100 }, () =>
      new Promise<net.Socket>((resolve) => {
        // from their own loopback address: their 401s spend that address's failed-login budget, not the tests'
        const sock = net.connect({ port: s.port, host: '127.0.0.1', localAddress: '127.0.0.4' }, () => {
          sock.write('POST /v1/receipts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n');
          resolve(sock);
        });
        sock.on('error', () => {});
      }),
    ),
  );
  try {
    await new Promise((r) => setTimeout(r, 200));
    const r = await issue(s, 777_000);
    assert.equal(r.status, 201, r.body);
  } finally {
    for (const x of socks) x.destroy();
  }
});

/** The flood runs in its own process, so the measured client below is not slowed by the flood's own writes. */
const FLOOD_SRC = `
const http = require('node:http');
const [url, n] = [process.argv[1], Number(process.argv[2])];
const body = Buffer.alloc(1024 * 1024, 0x20);
body.write('{"format":"in-toto","statement":{}}', 0);
const tally = {};
let left = n;
for (let i = 0; i < n; i++) {
  const req = http.request(url + '/v1/receipts', { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': String(body.length), ...(i % 2 ? { authorization: 'Bearer evt_0000000000000000_bad-token-bad-token-bad-token-bad-token-ab' } : {}) } }, (res) => {
    res.resume();
    res.on('end', () => done(res.statusCode));
  });
  let settled = false;
  const done = (k) => { if (settled) return; settled = true; tally[k] = (tally[k] || 0) + 1; if (--left === 0) { process.stdout.write(JSON.stringify(tally)); } };
  req.on('error', () => done(-1));
  req.end(body);
}
`;

test('1,000 unauthenticated 1 MiB POSTs are refused before their body is read; legitimate requests answer < 1 s', async () => {
  const child = spawn(process.execPath, ['-e', FLOOD_SRC, s.url, '1000'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  const flooded = new Promise<void>((r) => child.once('exit', () => r()));
  await new Promise((r) => setTimeout(r, 300)); // the flood is on
  // legitimate clients come from another loopback address (the failed-login budget is per address); three in a
  // row during the flood, judged by the median (this 2-core machine also runs the flood's sender)
  const one = () =>
    new Promise<{ status: number; ms: number; body?: string }>((resolve) => {
      const t0 = performance.now();
      const body = JSON.stringify({ format: 'in-toto', statement: STATEMENT(Math.floor(Math.random() * 1e9)) });
      const req = http.request(`${s.url}/v1/receipts`, { method: 'POST', agent: false, localAddress: '127.0.0.2', headers: { 'content-type': 'application/json', authorization: `Bearer ${s.token}` } }, (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0, body: text }));
      });
      req.on('error', () => resolve({ status: -1, ms: performance.now() - t0 }));
      req.end(body);
    });
  const runs = [await one(), await one(), await one()];
  const legit = { status: runs.every((r) => r.status === 201) ? 201 : runs.find((r) => r.status !== 201)!.status, ms: runs.map((r) => r.ms).sort((a, b) => a - b)[1]!, all: runs.map((r) => Math.round(r.ms)) };
  await flooded;
  const tally = JSON.parse(out || '{}') as Record<string, number>;
  assert.equal(legit.status, 201, JSON.stringify(runs));
  assert.ok(legit.ms < 1000, `legitimate requests took ${JSON.stringify(legit.all)} ms during the flood (${JSON.stringify(tally)})`);
  // refused with 401 (bad or no token) or 429 once the address spent its failed-login budget; 408: the request did
  // not arrive within the request timeout (2 s here) in the crush; -1: the server closed the connection while the
  // 1 MiB body was still being sent (it never read it)
  assert.ok(Object.keys(tally).every((k) => ['401', '429', '408', '-1'].includes(k)), JSON.stringify(tally));
  assert.equal(Object.values(tally).reduce((a, b) => a + b, 0), 1000);
  assert.ok((tally[429] ?? 0) > 0, `failed logins are limited per address: ${JSON.stringify(tally)}`);
  assert.equal(s.died, undefined);
  process.stdout.write(`# 1,000 unauthenticated 1 MiB POSTs: ${JSON.stringify(tally)}; legitimate requests ${JSON.stringify(legit.all)} ms (median ${legit.ms.toFixed(0)})\n`);
});

test('4,000 concurrent POST /v1/receipts: all answered (201 or 503 OVERLOADED + retry-after), peak RSS under the bound', async (t) => {
  // its own process with a 30 s request timeout: this measures pushback and memory, and the other tests' 2 s one
  // (even the default 10 s) can expire for a few connections of this crush on a busy 2-core machine
  const dir2 = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-guards-4k-'));
  const s = await serveProcess(['--data-dir', dir2], { EVIDENT_MAX_IN_FLIGHT: '64', EVIDENT_REQUEST_TIMEOUT_MS: '30000' });
  t.after(async () => {
    await s.stop();
    fs.rmSync(dir2, { recursive: true, force: true });
  });
  const before = memoryMiB(s.child.pid!);
  const tally: Record<string, number> = {};
  const N = 4000;
  const t0 = performance.now();
  const rs = await Promise.all(Array.from({ length: N }, (_, i) => issue(s, 10_000 + i, 60_000)));
  for (const r of rs) {
    const k = r.status === 201 ? '201' : `${r.status} ${(() => { try { return JSON.parse(r.body).error; } catch { return r.body.slice(0, 30); } })()}`;
    tally[k] = (tally[k] ?? 0) + 1;
    if (r.status === 503) assert.equal(r.headers['retry-after'], '1');
  }
  const after = memoryMiB(s.child.pid!);
  process.stdout.write(`# 4,000 concurrent receipts in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${JSON.stringify(tally)}; RSS before ${before?.rss.toFixed(0)} MiB, peak ${after?.peak.toFixed(0)} MiB\n`);
  // 408 (or, when Node's 408 meets request bytes still unread, a reset): a connection whose request the crush kept
  // from being read within the request timeout — seen only when other work loads this 2-core machine; bounded
  const timedOut = (tally['408 Request Timeout'] ?? 0) + (tally['0 read ECONNRESET'] ?? 0);
  assert.deepEqual(Object.keys(tally).filter((k) => !['201', '503 OVERLOADED', '408 Request Timeout', '0 read ECONNRESET'].includes(k)), [], JSON.stringify(tally));
  assert.ok(timedOut < N / 20, JSON.stringify(tally));
  assert.ok((tally['503 OVERLOADED'] ?? 0) > 0, `pushback: ${JSON.stringify(tally)}`);
  assert.ok((tally['201'] ?? 0) > 0);
  assert.equal(s.died, undefined);
  if (after) assert.ok(after.peak < RSS_BOUND_MIB, `peak RSS ${after.peak.toFixed(0)} MiB ≥ ${RSS_BOUND_MIB} MiB`);
});

test('public POST /v1/verify is limited per address (429 RATE_LIMITED with retry-after)', async () => {
  const body = JSON.stringify({ artifact: { payloadType: 'x', payload: '', signatures: [{ sig: 'AA==' }] } });
  const rs = await Promise.all(Array.from({ length: 60 }, () => request(`${s.url}/v1/verify`, { method: 'POST', body })));
  const limited = rs.filter((r) => r.status === 429);
  assert.ok(limited.length > 0, rs.map((r) => r.status).join(','));
  assert.equal(JSON.parse(limited[0]!.body).error, 'RATE_LIMITED');
  assert.ok(limited[0]!.headers['retry-after']);
  assert.ok(rs.some((r) => r.status === 200));
  // another address has its own budget
  const other = await new Promise<number>((resolve) => {
    const req = http.request(`${s.url}/v1/verify`, { method: 'POST', agent: false, localAddress: '127.0.0.3', headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(-1));
    req.end(body);
  });
  assert.equal(other, 200);
});

test('POST /v1/receipts never alters a number: exact ones are signed as sent, inexact ones refused (400 JSON_NUMBER_INEXACT)', async () => {
  const post = (predicate: string) =>
    request(`${s.url}/v1/receipts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.token}` },
      body: `{"format":"in-toto","statement":{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"${'a'.repeat(64)}"}}],"predicateType":"https://example.com/n/v1","predicate":${predicate}}}`,
    });
  for (const bad of ['{"n":9007199254740993}', '{"n":1e-400}', '{"n":1e400}', '{"deep":[{"x":0.1000000000000000000001}]}', '{"n":123456789012345678901234567890}']) {
    const r = await post(bad);
    assert.equal(r.status, 400, `${bad}: ${r.body}`);
    assert.equal(JSON.parse(r.body).error, 'JSON_NUMBER_INEXACT', bad);
  }
  for (const good of ['{"n":9007199254740992,"f":1.5,"g":1.0,"e":1E2,"z":-0,"t":0.1}']) {
    const r = await post(good);
    assert.equal(r.status, 201, r.body);
    const st = JSON.parse(Buffer.from(JSON.parse(r.body).envelope.payload, 'base64').toString('utf8'));
    assert.deepEqual(st.predicate, { n: 9007199254740992, f: 1.5, g: 1, e: 100, z: 0, t: 0.1 });
  }
});
