/** A service instance in its own process (`evident serve --port 0`), for multi-instance tests. */
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';

const BIN = path.resolve(import.meta.dirname, '../bin/evident.js');
const PIN_RE = /^(EVIDENT_ENGINE_|HARMONY4_ENGINE_|HARMONY4_CORE_)/;

/** process.env without engine pins (tests set their own), plus `extra`. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const k of Object.keys(env)) if (PIN_RE.test(k)) delete env[k];
  return { ...env, ...extra };
}

export interface Listening {
  url: string;
  child: ChildProcess;
  /** Everything the process wrote on stderr so far. */
  stderr(): string;
  stop(): Promise<void>;
}

/**
 * Start a long-running `evident …` command (serve, witness serve); resolves once its stderr names the URL it
 * listens on (and matches `ready`, when given: e.g. the last start-up line). Rejects if it exits first, with an
 * error carrying `code` (exit code) and `stderr`.
 */
export function spawnListening(args: string[], o: { cwd?: string; env?: Record<string, string | undefined>; ready?: RegExp; timeoutMs?: number } = {}): Promise<Listening> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: o.cwd, env: o.env ?? cleanEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${args[0]} did not start: ${err}`));
    }, o.timeoutMs ?? 60_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString('utf8');
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m && (!o.ready || o.ready.test(err))) {
        clearTimeout(timer);
        resolve({
          url: m[1]!,
          child,
          stderr: () => err,
          async stop() {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
            await exited;
          },
        });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`${args[0]} exited ${code}: ${err}`), { code, stderr: err }));
    });
  });
}

/** Start `evident serve` on the data directory (and database); resolves with its URL once it listens. */
export function spawnServe(dataDir: string, db: string | undefined): Promise<Listening> {
  return spawnListening(['serve', '--port', '0', '--data-dir', dataDir, ...(db ? ['--db', db] : [])]);
}
