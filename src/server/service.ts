/**
 * Zero-configuration service start-up: data directory, service signing key (0600), database, first admin token.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { openDb, type DbHandle } from '../store/db.ts';
import { loadPrivateKey, writeKeyDir, KEY_DIR_FILES } from '../store/keyfiles.ts';
import { TokenStore } from './tokens.ts';
import { buildServer, serviceKey } from './app.ts';
import type { RateLimitOptions } from './ratelimit.ts';

export interface ServiceOptions {
  dataDir: string;
  /** Default: sqlite:<dataDir>/evident.db */
  db?: string;
  host: string;
  port: number;
  logger?: boolean;
  rateLimit?: RateLimitOptions;
}

export interface RunningService {
  app: FastifyInstance;
  db: DbHandle;
  url: string;
  /** Set only when this start created the first admin token (printed once). */
  adminToken?: string;
  close(): Promise<void>;
}

export async function startService(o: ServiceOptions): Promise<RunningService> {
  fs.mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
  const keyDir = path.join(o.dataDir, 'keys', 'service');
  const stat = fs.statSync(path.join(keyDir, KEY_DIR_FILES.private), { throwIfNoEntry: false });
  if (!stat) writeKeyDir(keyDir, 'ed25519');
  const priv = loadPrivateKey(path.join(keyDir, KEY_DIR_FILES.private));
  const created = fs.statSync(path.join(keyDir, KEY_DIR_FILES.private)).mtime.toISOString();

  const db = await openDb(o.db ?? `sqlite:${path.join(o.dataDir, 'evident.db')}`);
  const tokens = await TokenStore.open(db);
  let adminToken: string | undefined;
  if ((await tokens.count()) === 0) adminToken = (await tokens.create(['admin'], 'initial admin token')).token;

  const app = await buildServer({ db, tokens, keys: [serviceKey(priv, created)], logger: o.logger ?? false, rateLimit: o.rateLimit });
  const address = await app.listen({ host: o.host, port: o.port });
  return {
    app,
    db,
    url: address,
    adminToken,
    async close() {
      await app.close();
      await db.close();
    },
  };
}
