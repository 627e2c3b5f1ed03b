/**
 * The service's single-use nonce table (`cphar_nonces` on the service database, src/profiles/cphar/nonces.ts):
 * CPHAR challenge nonces and (namespaced `h4-attest:`) engine-attestation nonces. Consumption is one atomic
 * statement in the database, so single use holds across every process sharing it (SQLite file or PostgreSQL).
 *
 * Rows are purged by the route that writes them, at most once a minute, once they have been expired for an hour:
 * a purged CPHAR nonce is NONCE_UNKNOWN (challenges are verified with requireIssued) and its challenge is long STALE;
 * a purged engine nonce belongs to an attestation that expired an hour ago.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { DbHandle } from '../../store/db.ts';
import { DbNonceStore } from '../../profiles/cphar/nonces.ts';

const PURGE_EVERY_MS = 60_000;
const RETAIN_EXPIRED_MS = 3_600_000;

export interface ServiceNonces {
  store: DbNonceStore;
  /** Purge long-expired rows if the last purge is more than a minute old (never throws; failures are logged). */
  maybePurge(now: number, log: FastifyBaseLogger): Promise<void>;
}

export async function openServiceNonces(db: DbHandle): Promise<ServiceNonces> {
  const store = await DbNonceStore.open(db);
  let last = 0;
  return {
    store,
    async maybePurge(now, log) {
      if (now - last < PURGE_EVERY_MS) return;
      last = now;
      try {
        await store.purge(now - RETAIN_EXPIRED_MS);
      } catch (e) {
        log.warn({ err: { message: (e as Error).message } }, 'nonce purge failed');
      }
    },
  };
}
