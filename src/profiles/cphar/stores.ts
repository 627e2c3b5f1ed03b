/** Open the CPHAR registry and nonce store on a database URL (CLI, detector, service). */
import { openDb, type DbHandle } from '../../store/db.ts';
import { Registry, type RegistryOptions } from './registry.ts';
import { DbNonceStore } from './nonces.ts';
import { verifyToReport, type VerifyContext } from './verify.ts';
import type { Mode, Report } from '../../verify/report.ts';
import { openInitialisedLog } from '../../log/signer.ts';
import type { TransparencyLog } from '../../log/index.ts';

export interface CpharStores {
  handle: DbHandle;
  registry: Registry;
  nonces: DbNonceStore;
  /** The database's transparency log, when `evident log init` set one up: every registry event is appended. */
  log?: TransparencyLog;
  close(): Promise<void>;
}

/**
 * Open registry + nonce store. Unless the caller wires `appendToLog` itself (or passes `log: false`), registry
 * events go to the database's initialised transparency log; the event is acknowledged only once it is logged.
 */
export async function openStores(url: string, opts: RegistryOptions & { log?: boolean } = {}): Promise<CpharStores> {
  const log = opts.appendToLog || opts.log === false ? undefined : await openInitialisedLog(url);
  const handle = await openDb(url);
  const registry = await Registry.open(handle, log ? { ...opts, appendToLog: (e) => log.append(e) } : opts);
  const nonces = await DbNonceStore.open(handle, { prefix: opts.prefix });
  return {
    handle,
    registry,
    nonces,
    log,
    async close() {
      try {
        await log?.close();
      } finally {
        await handle.close();
      }
    },
  };
}

/** Verify a challenge/attestation pair against a database registry + nonce store. */
export async function verifyWithDb(
  url: string,
  challenge: unknown,
  attestation: unknown,
  ctx: Omit<VerifyContext, 'seals' | 'nonces'> & { noNonce?: boolean },
  mode: Mode = 'strict',
): Promise<Report> {
  const s = await openStores(url, { log: false });
  try {
    const { report } = await verifyToReport(challenge, attestation, { ...ctx, seals: s.registry, nonces: ctx.noNonce ? undefined : s.nonces }, mode);
    return report;
  } finally {
    await s.close();
  }
}
