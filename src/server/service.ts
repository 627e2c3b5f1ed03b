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
import { openLog, openStorage, type TransparencyLog } from '../log/index.ts';
import { noteSigner, formatVkey } from '../kernel/note.ts';
import { toPublicKey } from '../kernel/keys.ts';

export const DEFAULT_ORIGIN = 'localhost/evident';

export interface ServiceOptions {
  dataDir: string;
  /** Transparency log origin (C2SP checkpoint first line); default "localhost/evident". Fixed at first start. */
  origin?: string;
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
  log: TransparencyLog;
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

  const logKeyDir = path.join(o.dataDir, 'keys', 'log');
  if (!fs.statSync(path.join(logKeyDir, KEY_DIR_FILES.private), { throwIfNoEntry: false })) writeKeyDir(logKeyDir, 'ed25519');
  const logPriv = loadPrivateKey(path.join(logKeyDir, KEY_DIR_FILES.private));

  const dbUrl = o.db ?? `sqlite:${path.join(o.dataDir, 'evident.db')}`;
  const db = await openDb(dbUrl);
  let log: TransparencyLog;
  try {
    const storage = await openStorage(dbUrl);
    const meta = await storage.getMeta().finally(() => storage.close());
    const origin = o.origin ?? meta?.origin ?? DEFAULT_ORIGIN;
    log = await openLog({ db: dbUrl, origin, signer: noteSigner(origin, logPriv), batchSize: 256, batchMs: 10 });
  } catch (e) {
    await db.close();
    throw e;
  }
  const tokens = await TokenStore.open(db);
  let adminToken: string | undefined;
  if ((await tokens.count()) === 0) adminToken = (await tokens.create(['admin'], 'initial admin token')).token;

  const app = await buildServer({ db, tokens, log, logVkey: formatVkey(log.origin, toPublicKey(logPriv)), keys: [serviceKey(priv, created)], logger: o.logger ?? false, rateLimit: o.rateLimit });
  const address = await app.listen({ host: o.host, port: o.port });
  return {
    app,
    db,
    url: address,
    adminToken,
    log,
    async close() {
      await app.close();
      await log.close();
      await db.close();
    },
  };
}
