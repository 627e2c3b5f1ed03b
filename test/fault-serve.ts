/**
 * `evident serve` in its own process for the fault tests (test/service-faults.test.ts): captures the URL, the first
 * admin token, stderr, and whether (and how) the process died — a fault must never take it down.
 */
import path from 'node:path';
import http from 'node:http';
import { spawn, type ChildProcess } from 'node:child_process';
import { cleanEnv } from './serve-process.ts';

const BIN = path.resolve(import.meta.dirname, '../bin/evident.js');

export interface FaultServe {
  url: string;
  port: number;
  token: string;
  child: ChildProcess;
  /** stderr so far */
  readonly stderr: string;
  /** undefined while running; else `code=N` or `signal=S` */
  readonly died: string | undefined;
  stop(): Promise<void>;
}

export async function serveProcess(args: string[], env: Record<string, string> = {}): Promise<FaultServe> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], { env: cleanEnv(env), stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  let died: string | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      died = signal ? `signal=${signal}` : `code=${code}`;
      resolve();
    }),
  );
  child.stderr!.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${err}`)), 60_000);
    const check = () => {
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m && /admin token|verify an artifact/.test(err)) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stderr!.on('data', check);
    child.once('exit', () => {
      clearTimeout(timer);
      reject(new Error(`serve exited: ${err}`));
    });
  });
  const token = /admin token \(shown once, stored hashed\): (\S+)/.exec(err)?.[1] ?? '';
  return {
    url,
    port: Number(new URL(url).port),
    token,
    child,
    get stderr() {
      return err;
    },
    get died() {
      return died;
    },
    async stop() {
      if (died === undefined) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  ms: number;
}

/** One HTTP request on a fresh connection (no keep-alive pool); status 0 when the connection failed. */
export function request(url: string, o: { method?: string; headers?: Record<string, string>; body?: string | Buffer; timeoutMs?: number } = {}): Promise<Answer> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = http.request(url, { method: o.method ?? 'GET', headers: { connection: 'close', ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}), ...o.headers }, agent: false, timeout: o.timeoutMs ?? 30_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, ms: performance.now() - t0 }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, ms: performance.now() - t0 }));
    });
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', (e) => resolve({ status: 0, headers: {}, body: e.message, ms: performance.now() - t0 }));
    req.end(o.body);
  });
}

export const STATEMENT = (n: number) => ({
  _type: 'https://in-toto.io/Statement/v1',
  subject: [{ name: `artifact-${n}`, digest: { sha256: n.toString(16).padStart(64, '0') } }],
  predicateType: 'https://example.com/fault-test/v1',
});

/** POST /v1/receipts (in-toto) for statement n. */
export function issue(s: { url: string; token: string }, n: number, timeoutMs = 30_000): Promise<Answer> {
  return request(`${s.url}/v1/receipts`, { method: 'POST', headers: { authorization: `Bearer ${s.token}` }, body: JSON.stringify({ format: 'in-toto', statement: STATEMENT(n) }), timeoutMs });
}
