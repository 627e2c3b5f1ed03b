/**
 * bench/service: drive POST /v1/receipts on the real service (its own process, embedded SQLite) with autocannon at
 * concurrency 64, and a bare Fastify hello-world (its own process) the same way in the same run.
 * Every 201 carries the receipt's tlog-proof, so request latency = time-to-proof.
 *
 *   node --import tsx bench/service.ts [--seconds 30] [--connections 64]
 * Targets (issue #9): >= 5,000 logged receipts/s, 0 errors, p99 time-to-proof <= 1 s.
 */
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const seconds = arg('--seconds', 30);
const connections = arg('--connections', 64);
const root = path.resolve(import.meta.dirname, '..');

/** Everything a child has printed so far (stdout and stderr), kept from its start. */
const output = new Map<ChildProcess, string>();
function capture(child: ChildProcess): ChildProcess {
  output.set(child, '');
  const on = (d: Buffer) => output.set(child, output.get(child)! + d.toString());
  child.stderr!.on('data', on);
  child.stdout!.on('data', on);
  return child;
}

/** Resolve once the child's whole output so far matches (lines printed in one chunk, or before the call, count). */
function waitFor(child: ChildProcess, re: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const m = re.exec(output.get(child)!);
      if (!m) return false;
      child.stderr!.off('data', check);
      child.stdout!.off('data', check);
      resolve(m);
      return true;
    };
    if (check()) return;
    child.stderr!.on('data', check);
    child.stdout!.on('data', check);
    child.once('exit', (c) => reject(new Error(`process exited (${c}) before ready:\n${output.get(child)}`)));
  });
}

async function run(opts: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(opts, (err: Error | null, res: autocannon.Result) => (err ? reject(err) : resolve(res)));
  });
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-bench-svc-'));
const svc = capture(spawn(process.execPath, [path.join(root, 'bin/evident.js'), 'serve', '--data-dir', dir, '--port', '0', '--rate-limit', '1000000'], { stdio: ['ignore', 'pipe', 'pipe'] }));
const hello = capture(spawn(process.execPath, ['--input-type=module', '-e', `
  import Fastify from 'fastify';
  const app = Fastify();
  app.get('/', async () => ({ hello: 'world' }));
  const a = await app.listen({ host: '127.0.0.1', port: 0 });
  console.log('listening on ' + a);
`], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] }));
try {
  const [, url] = await waitFor(svc, /listening on (http:\/\/\S+)/);
  const [, token] = await waitFor(svc, /admin token \(shown once, stored hashed\): (\S+)/);
  const [, helloUrl] = await waitFor(hello, /listening on (http:\/\/\S+)/);
  // one token drives all the load: the service runs with --rate-limit 1000000 (the default, 2,000/s per token,
  // would answer most requests 429)

  let n = 0;
  const body = () =>
    JSON.stringify({
      format: 'in-toto',
      statement: {
        _type: 'https://in-toto.io/Statement/v1',
        subject: [{ name: `artifact-${n}.tar`, digest: { sha256: (n++).toString(16).padStart(64, '0') } }],
        predicateType: 'https://evident.dev/bench/v1',
        predicate: { run: 'bench/service' },
      },
    });
  console.log(`service: ${url}  (SQLite, data ${dir}); ${connections} connections, ${seconds} s each`);
  const r = await run({
    url: url + '/v1/receipts',
    connections,
    duration: seconds,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    requests: [{ setupRequest: (req: any) => ({ ...req, body: body() }) }],
  });
  const h = await run({ url: helloUrl!, connections, duration: seconds });

  const logged = (await (await fetch(url + '/v1/log')).json()) as { size: number };
  const ok = r['2xx'];
  const rate = ok / (r.duration || seconds);
  console.log(`POST /v1/receipts: ${Math.round(rate)} receipts/s (${ok} acknowledged with proof; log size ${logged.size})`);
  console.log(`  time-to-proof p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, max ${r.latency.max} ms`);
  console.log(`  errors ${r.errors}, timeouts ${r.timeouts}, non-2xx ${r.non2xx}`);
  console.log(`bare Fastify hello-world: ${Math.round(h.requests.average)} req/s (p99 ${h.latency.p99} ms)`);
  console.log(`ratio receipts/s : hello-world req/s = ${(rate / h.requests.average).toFixed(3)}`);
  console.log(`targets: >= 5000 receipts/s ${rate >= 5000 ? 'PASS' : 'BELOW'}; 0 errors ${r.errors + r.non2xx === 0 ? 'PASS' : 'FAIL'}; p99 <= 1000 ms ${r.latency.p99 <= 1000 ? 'PASS' : 'FAIL'}`);
} finally {
  svc.kill('SIGTERM');
  hello.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 500));
  fs.rmSync(dir, { recursive: true, force: true });
}
