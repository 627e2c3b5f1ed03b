/** A service instance in its own process (`evident serve --port 0`), for multi-instance tests. */
import path from 'node:path';
import { spawn } from 'node:child_process';

const BIN = path.resolve(import.meta.dirname, '../bin/evident.js');
const PIN_RE = /^(EVIDENT_ENGINE_|HARMONY4_ENGINE_|HARMONY4_CORE_)/;

/** process.env without engine pins (tests set their own), plus `extra`. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const k of Object.keys(env)) if (PIN_RE.test(k)) delete env[k];
  return { ...env, ...extra };
}

/** Start `evident serve` on the data directory (and database); resolves with its URL once it listens. */
export async function spawnServe(dataDir: string, db: string | undefined): Promise<{ url: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--data-dir', dataDir, ...(db ? ['--db', db] : [])], { env: cleanEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${err}`)), 60_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString('utf8');
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited ${code}: ${err}`));
    });
  });
  return {
    url,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
