/**
 * Zero-configuration service start-up: data directory, service key ring (keys/service, private keys 0600), log key,
 * database, first admin token.
 *
 * Several instances may serve one PostgreSQL database: they must share the key ring and the log key (the same
 * --data-dir on a shared volume, or copies of its keys/ directory — copies do not see each other's rotations).
 * Exactly one instance sequences the log; the others forward their appends to it and take over when it dies.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { openDb, type DbHandle } from '../store/db.ts';
import { loadPrivateKey, writeKeyDir, KEY_DIR_FILES } from '../store/keyfiles.ts';
import { TokenStore } from './tokens.ts';
import { buildServer } from './app.ts';
import { KeyRing } from './keyring.ts';
import type { RateLimitOptions } from './ratelimit.ts';
import { openLog, openStorage, type TransparencyLog } from '../log/index.ts';
import { noteSigner, formatVkey } from '../kernel/note.ts';
import { toPublicKey } from '../kernel/keys.ts';
import { loadSealedEngine } from '../profiles/h4/sealing.ts';
import { secretFromEnv } from '../profiles/wcp/verify.ts';
import { WitnessCollector } from '../log/witness/collector.ts';
import { openTsaStore } from '../tsa/store.ts';
import { openCaStore } from '../ca/store.ts';
import type { IssuedReceiptFormat } from './sigstore-options.ts';
import type { WitnessEndpoint } from '../log/witness/client.ts';

export const DEFAULT_ORIGIN = 'localhost/evident';

export interface ServiceOptions {
  dataDir: string;
  /** Transparency log origin (C2SP checkpoint first line); default "localhost/evident". Fixed at first start. */
  origin?: string;
  /** Default: sqlite:<dataDir>/evident.db */
  db?: string;
  host: string;
  port: number;
  /** Request logs (pino JSON on stdout when true; a pino options object, e.g. {stream}, is passed to Fastify). */
  logger?: boolean | object;
  /** Receipt payload limit in bytes (ServerOptions.maxReceiptPayload; default 40 KiB). */
  maxReceiptPayload?: number;
  rateLimit?: RateLimitOptions;
  /** Environment holding the HarmonyØ4 engine pins (EVIDENT_ENGINE_* / HARMONY4_*); default process.env. */
  engineEnv?: Record<string, string | undefined>;
  /** WCP attestation HMAC secret (ServerOptions.wcpHmacSecret); default the WCP_ATTEST_HMAC_KEY environment variable. */
  wcpHmacSecret?: string;
  /** What POST /v1/receipts issues (default evident.receipt/v1; `evident serve` defaults to v2, docs/sigstore.md). */
  receiptFormat?: IssuedReceiptFormat;
  /** Witnesses asked to cosign every new checkpoint (serve --witness NAME=VKEY@URL); never in the append path. */
  witnesses?: WitnessEndpoint[];
  /** Cosignatures POST /v1/receipts?cosigned= (empty) waits for (serve --witness-quorum). */
  witnessQuorum?: number;
  /** How long ?cosigned=N waits (default 10 s). */
  witnessWaitMs?: number;
}

export interface RunningService {
  app: FastifyInstance;
  db: DbHandle;
  log: TransparencyLog;
  /** The service signing keys (rotate / revoke; the server sees changes immediately). */
  keyRing: KeyRing;
  url: string;
  /** Set only when this start created the first admin token (printed once). */
  adminToken?: string;
  close(): Promise<void>;
}

export async function startService(o: ServiceOptions): Promise<RunningService> {
  // Resolve the engine first: pins that do not match (or a missing/unloadable module) refuse the start with a coded
  // EvidentError before anything is created, opened or listened on. Never a fallback to the reference engine.
  const engine = await loadSealedEngine(o.engineEnv ?? process.env);
  fs.mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
  // the first start creates keys/service/private.pem and ring.json; a data dir from before rotation is adopted as is
  const keyRing = await KeyRing.open(path.join(o.dataDir, 'keys', 'service'));

  const logKeyDir = path.join(o.dataDir, 'keys', 'log');
  if (!fs.statSync(path.join(logKeyDir, KEY_DIR_FILES.private), { throwIfNoEntry: false })) {
    // instances sharing a data directory may start together: one creates the log key, the others load it
    try {
      writeKeyDir(logKeyDir, 'ed25519');
    } catch (e) {
      if ((e as { code?: string }).code !== 'OUTPUT_EXISTS') throw e;
    }
  }
  const logPriv = loadPrivateKey(path.join(logKeyDir, KEY_DIR_FILES.private));
  // the RFC 3161 TSA key and chain beside the other service keys (created on first start; private keys 0600)
  const tsa = await openTsaStore(path.join(o.dataDir, 'keys', 'tsa'));
  // the issuing CA and CT log key (signer certificates for v2 receipts; created on first start, private keys 0600)
  const ca = await openCaStore(path.join(o.dataDir, 'keys', 'ca'));
  const sigstore = { tsa, ca, logValidFrom: fs.statSync(path.join(logKeyDir, KEY_DIR_FILES.private)).mtime.toISOString(), receiptFormat: o.receiptFormat ?? ('evident.receipt/v1' as const) };

  const dbUrl = o.db ?? `sqlite:${path.join(o.dataDir, 'evident.db')}`;
  const db = await openDb(dbUrl);
  let log: TransparencyLog;
  try {
    const storage = await openStorage(dbUrl);
    const meta = await storage.getMeta().finally(() => storage.close());
    const origin = o.origin ?? meta?.origin ?? DEFAULT_ORIGIN;
    log = await openLog({ db: dbUrl, origin, signer: noteSigner(origin, logPriv), batchSize: 1024 });
  } catch (e) {
    await db.close();
    throw e;
  }
  const tokens = await TokenStore.open(db);
  // first start on an empty database only (one transaction, so instances starting together create one)
  const adminToken = (await tokens.createInitialAdmin())?.token;

  const witnesses = new WitnessCollector(log, o.witnesses ?? [], {
    onError: (w, e) => process.emitWarning(`witness ${w}: ${e.message}`, { code: 'EVIDENT_WITNESS' }),
  });
  let app: FastifyInstance | undefined;
  let address: string;
  try {
    app = await buildServer({ sigstore, witnesses, witnessQuorum: o.witnessQuorum, witnessWaitMs: o.witnessWaitMs, db, tokens, log, logVkey: formatVkey(log.origin, toPublicKey(logPriv)), keys: keyRing.keys, keyRing, logger: o.logger ?? false, rateLimit: o.rateLimit, maxReceiptPayload: o.maxReceiptPayload, engine, wcpHmacSecret: o.wcpHmacSecret ?? secretFromEnv() });
    address = await app.listen({ host: o.host, port: o.port });
    witnesses.start();
  } catch (e) {
    // a failed start (route set-up, port in use) must not leave the database or the log sequencer open
    await app?.close().catch(() => {});
    await log.close().catch(() => {});
    await db.close().catch(() => {});
    throw e;
  }
  const running = app;
  return {
    app: running,
    db,
    url: address,
    adminToken,
    log,
    keyRing,
    async close() {
      await running.close();
      await witnesses.close();
      await log.close();
      await db.close();
    },
  };
}
